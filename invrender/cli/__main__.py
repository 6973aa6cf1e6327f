"""``python -m invrender.cli``: the same as the ``invrender`` command."""

from invrender.cli.main import main

main()
