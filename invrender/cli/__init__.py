"""The command line: ``invrender.cli.main`` is the group, one module per command."""
