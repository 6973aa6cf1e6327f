"""``invrender report``: (re)build a run folder's report.html."""

from __future__ import annotations

from pathlib import Path

import click

from invrender.cli.common import user_errors


@click.command()
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@user_errors
def report(run_dir: Path) -> None:
    """(Re)build RUN_DIR/report.html: the asset in 3D, held-out views, curves, maps, config."""
    from invrender.report import report_command

    click.echo(f"wrote {report_command(run_dir)}")
