"""Command-line interface (placeholder until the spine lands)."""

import click

from invrender import __version__


@click.group()
@click.version_option(__version__, prog_name="invrender")
def main() -> None:
    """invrender: inverse rendering and scene reconstruction."""
