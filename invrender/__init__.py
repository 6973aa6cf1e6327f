"""invrender: inverse rendering and scene reconstruction on Mitsuba 3 / Dr.Jit.

Importing this package must stay cheap: it never imports Mitsuba, so that
``invrender --help`` is instant. It does point ``DRJIT_LIBLLVM_PATH`` at a working libLLVM
(a few file globs) so that whichever module imports Dr.Jit first gets a good one.
"""

__version__ = "0.1.0"


def _steer_llvm() -> None:
    from invrender.llvm import preselect_llvm

    preselect_llvm()


_steer_llvm()
