"""``invrender cameras``: structure from motion on a folder of photos."""

from __future__ import annotations

from pathlib import Path

import click

from invrender.cli.common import user_errors


@click.command()
@click.argument("photos", type=click.Path(file_okay=False, path_type=Path))
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--masks",
    help="A folder of your masks (they always win), or 'auto': object masks from the SfM "
    "points, GrabCut and a visual hull (masks/, masks.png).",
)
@click.option(
    "--camera-model",
    type=click.Choice(["pinhole", "radial", "opencv"]),
    default="radial",
    show_default=True,
    help="Lens model for SfM (all photos share one camera); images are undistorted to pinhole.",
)
@click.option(
    "--matcher",
    type=click.Choice(["auto", "exhaustive", "sequential"]),
    default="auto",
    show_default=True,
    help="exhaustive: every pair; sequential: neighbours by name (capture order); "
    "auto: exhaustive up to 60 photos, sequential above.",
)
@click.option(
    "--max-image-size",
    type=int,
    default=1600,
    show_default=True,
    help="Find features on a copy at most this large (long side, px; 0: full size); "
    "the cameras are scaled back to the photos' size.",
)
@click.option(
    "--distance",
    type=float,
    default=4.0,
    show_default=True,
    help="Mean camera distance to the object after normalization.",
)
@click.option("--quiet", is_flag=True, help="No progress bars.")
@click.option("--verbose", is_flag=True, help="Show COLMAP's log.")
@user_errors
def cameras(
    photos: Path,
    out: Path,
    masks: str | None,
    camera_model: str,
    matcher: str,
    distance: float,
    max_image_size: int,
    quiet: bool,
    verbose: bool,
) -> None:
    """Recover cameras from PHOTOS (structure from motion) and write a dataset folder."""
    from invrender.data.sfm import SfmOptions, run_sfm

    opts = SfmOptions(
        camera_model,
        matcher,
        distance,
        max_image_size=max_image_size,
        progress=not quiet,
        verbose=verbose,
    )
    report = run_sfm(photos, out, masks if masks == "auto" or not masks else Path(masks), opts)
    click.echo(report.table())
    click.echo(f"wrote {out / 'transforms.json'} (next: invrender init {out} --out my.yaml)")
