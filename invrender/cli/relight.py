"""``invrender relight``: a finished run's asset under another sky, optionally scored."""

from __future__ import annotations

from pathlib import Path

import click

from invrender.cli.common import VARIANT_CHOICE, user_errors


@click.command()
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--envmap",
    required=True,
    type=click.Path(path_type=Path),
    help="The new sky: a lat-long EXR in Mitsuba's layout (+Y up, +Z at the centre).",
)
@click.option(
    "--views",
    type=click.Choice(["test", "all"]),
    default="test",
    show_default=True,
    help="The run's held-out cameras, or all of its cameras.",
)
@click.option(
    "--rotate",
    type=float,
    default=0.0,
    show_default=True,
    help="Turn the sky about the up axis, degrees (counter-clockwise seen from above).",
)
@click.option(
    "--exposure", type=float, default=0.0, show_default=True, help="Scale the sky by 2^EV."
)
@click.option(
    "--up",
    type=click.Choice(["y", "z"]),
    default="y",
    show_default=True,
    help="The run's world up axis (z: NeRF/Blender datasets): where the sky's +Y goes.",
)
@click.option(
    "--targets",
    type=click.Path(path_type=Path),
    default=None,
    help="Photos of the same views under this sky (a transforms.json folder): score them.",
)
@click.option("--spp", type=int, default=256, show_default=True)
@click.option(
    "--max-depth", type=int, default=None, help="Path depth (default: the run's integrator's)."
)
@click.option(
    "--keep-lights",
    is_flag=True,
    help="Keep the run's point/spot/directional/area lights (default: the new sky alone).",
)
@click.option(
    "--renderer",
    type=click.Choice(["mitsuba", "cycles"]),
    default="mitsuba",
    show_default=True,
    help="cycles: Blender Cycles on the run's exported .blend (export --format blender).",
)
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path))
@click.option("--variant", type=VARIANT_CHOICE, default=None)
@user_errors
def relight(
    run_dir: Path,
    envmap: Path,
    views: str,
    rotate: float,
    exposure: float,
    up: str,
    targets: Path | None,
    spp: int,
    max_depth: int | None,
    keep_lights: bool,
    renderer: str,
    out: Path,
    variant: str | None,
) -> None:
    """Render a finished run's asset under another environment map (and score it)."""
    from invrender.run.relight import RelightOptions, relight_run

    options = RelightOptions(
        envmap=envmap,
        views=views,
        rotate=rotate,
        exposure=exposure,
        up=up,
        spp=spp,
        max_depth=max_depth,
        keep_lights=keep_lights,
        targets=targets,
        renderer=renderer,
    )
    result = relight_run(run_dir, options, out, variant)
    click.echo(f"wrote {len(result['per_view'])} views to {out} ({result['seconds']:.1f} s)")
    metrics = result.get("metrics")
    if metrics:
        click.echo(
            f"relit PSNR {metrics['psnr_mask']:.2f} dB over the mask "
            f"({metrics['psnr_full']:.2f} dB full image), SSIM {metrics['ssim_mask']:.4f} / "
            f"{metrics['ssim_full']:.4f}; details in {out / 'relight.json'}"
        )
