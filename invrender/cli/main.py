"""The ``invrender`` command group. Each command lives in a module of its own beside this one
and loads its work lazily, so that ``invrender --help`` never imports Mitsuba."""

from __future__ import annotations

import click

from invrender import __version__
from invrender.cli.batch import batch
from invrender.cli.cameras import cameras
from invrender.cli.check import check
from invrender.cli.export import export
from invrender.cli.hull import hull
from invrender.cli.init import init_command
from invrender.cli.masks import masks
from invrender.cli.optimize import optimize
from invrender.cli.relight import relight
from invrender.cli.report import report
from invrender.cli.synth import synth


@click.group()
@click.version_option(__version__, prog_name="invrender")
def main() -> None:
    """invrender: inverse rendering and scene reconstruction with Mitsuba 3."""


for command in (
    optimize,
    check,
    synth,
    cameras,
    masks,
    init_command,
    export,
    relight,
    report,
    hull,
    batch,
):
    main.add_command(command)

if __name__ == "__main__":  # pragma: no cover
    main()
