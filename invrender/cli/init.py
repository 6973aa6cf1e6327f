"""``invrender init``: a commented starting config for a dataset."""

from __future__ import annotations

from pathlib import Path

import click

from invrender.cli.common import user_errors


@click.command("init")
@click.argument("dataset", type=click.Path(exists=True, path_type=Path))
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--pipeline",
    type=click.Choice(["material", "lighting", "geometry", "joint"]),
    default="joint",
    show_default=True,
    help="What to recover: joint = shape, albedo and lighting together.",
)
@user_errors
def init_command(dataset: Path, out: Path, pipeline: str) -> None:
    """Write a commented starting config for DATASET (transforms.json, NeRF splits or COLMAP)."""
    from invrender.run.init_config import write_init_config

    click.echo(write_init_config(dataset, out, pipeline))
    click.echo(f"next: invrender check {out} && invrender optimize {out}")
