"""``invrender masks``: automatic object masks for a dataset made by ``invrender cameras``."""

from __future__ import annotations

from pathlib import Path

import click

from invrender.cli.common import user_errors


@click.command()
@click.argument("dataset", type=click.Path(path_type=Path))
@click.option(
    "--replace", is_flag=True, help="Overwrite masks the dataset already has (yours win otherwise)."
)
@click.option("--resolution", default=96, show_default=True, help="Hull grid (longest side).")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@user_errors
def masks(dataset: Path, replace: bool, resolution: int, quiet: bool) -> None:
    """Object masks for DATASET (a folder with transforms.json), written as masks/ and
    masks.png, with mask_path per frame: the object is what every camera looks at."""
    from invrender.data.auto_masks import masks_for_dataset

    report = masks_for_dataset(dataset, replace, progress=not quiet, hull_resolution=resolution)
    click.echo(report.table())
    click.echo(report.summary())
    folder = dataset if dataset.is_dir() else dataset.parent
    click.echo(f"wrote {folder / 'masks'} and {folder / 'masks.png'} ({report.seconds:.1f} s)")
