"""``invrender synth``: render a target dataset from a ground-truth scene."""

from __future__ import annotations

from pathlib import Path

import click

from invrender.cli.common import VARIANT_CHOICE, user_errors


@click.command()
@click.argument("scene", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--views", default=12, show_default=True, help="Number of cameras on a ring.")
@click.option("--resolution", default="64", show_default=True, help="W or WxH in pixels.")
@click.option("--spp", default=256, show_default=True, help="Samples per pixel.")
@click.option("--fov", default=40.0, show_default=True, help="Horizontal field of view (deg).")
@click.option("--radius", type=float, default=None, help="Camera distance (default: framed).")
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path))
@click.option("--variant", type=VARIANT_CHOICE, default="auto", show_default=True)
@user_errors
def synth(
    scene: Path,
    views: int,
    resolution: str,
    spp: int,
    fov: float,
    radius: float | None,
    out: Path,
    variant: str,
) -> None:
    """Render a target dataset (RGBA EXR images, alpha = mask, + transforms.json) from SCENE."""
    from invrender.data.synth import SynthOptions, synthesize
    from invrender.errors import ConfigError
    from invrender.variant import select_variant

    try:
        w, _, h = resolution.lower().partition("x")
        width, height = int(w), int(h or w)
    except ValueError:
        msg = f"--resolution {resolution}: expected W or WxH, e.g. 64 or 96x64"
        raise ConfigError([msg]) from None
    select_variant(variant)
    opts = SynthOptions(views=views, width=width, height=height, spp=spp, fov=fov, radius=radius)
    path = synthesize(scene, out, opts)
    click.echo(f"wrote {views} views and {path}")
