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
@click.option(
    "--sky",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="A known sky of the capture (lat-long EXR in Mitsuba's layout, e.g. from a light "
    "probe): kept fixed instead of learned, so the albedo's scale and the sun are pinned.",
)
@click.option(
    "--sky-up",
    type=click.Choice(["y", "z"]),
    default="y",
    show_default=True,
    help="The world axis the sky's +Y turns onto (z for NeRF/Blender datasets).",
)
@user_errors
def init_command(dataset: Path, out: Path, pipeline: str, sky: Path | None, sky_up: str) -> None:
    """Write a commented starting config for DATASET (transforms.json, NeRF splits or COLMAP)."""
    from invrender.run.init_config import write_init_config

    click.echo(write_init_config(dataset, out, pipeline, sky, sky_up))
    click.echo(f"next: invrender check {out} && invrender optimize {out}")
