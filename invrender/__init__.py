"""invrender: inverse rendering and scene reconstruction on Mitsuba 3 / Dr.Jit.

Importing this package must stay cheap: it never imports Mitsuba, so that
``invrender --help`` is instant. Mitsuba is loaded by :mod:`invrender.variant`.
"""

__version__ = "0.1.0"
