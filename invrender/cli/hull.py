"""``invrender hull``: the visual hull of a dataset's masks as a mesh."""

from __future__ import annotations

from pathlib import Path

import click

from invrender.cli.common import VARIANT_CHOICE, user_errors


@click.command()
@click.argument("dataset", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--masks",
    default=None,
    help="alpha | files | a folder of mask images (default: transforms.json alpha, config's own).",
)
@click.option("--resolution", default=128, show_default=True, help="Voxels on the longest side.")
@click.option("--triangles", default=5000, show_default=True, help="Remesh to this; 0 = raw.")
@click.option("--threshold", default=0.5, show_default=True, help="Mask value that is object.")
@click.option("--variant", type=VARIANT_CHOICE, default="auto", show_default=True)
@user_errors
def hull(
    dataset: Path,
    out: Path,
    masks: str | None,
    resolution: int,
    triangles: int,
    threshold: float,
    variant: str,
) -> None:
    """Visual hull of DATASET's masks (a transforms.json or a run config) as a mesh file."""
    from invrender.run.hull import make_hull

    report, nv, nf = make_hull(
        dataset, out, masks, resolution, triangles or None, threshold, variant
    )
    click.echo(
        f"wrote {out}: {nv} vertices, {nf} triangles, genus {report.genus} "
        f"(grid {'x'.join(map(str, report.resolution))}, {sum(report.seconds.values()):.1f} s)"
    )
