"""Command-line interface. Each command is a thin wrapper; heavy imports happen inside them so that
``invrender --help`` never loads Mitsuba."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from invrender import __version__
from invrender.errors import InvrenderError

VARIANT_CHOICE = click.Choice(["auto", "llvm_ad_rgb", "cuda_ad_rgb"])


def user_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn InvrenderError into its message on stderr and exit code 2, without a traceback."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except InvrenderError as exc:
            lines, code = str(exc).splitlines() or [type(exc).__name__], exc.exit_code
        # Exit outside the except block: the SystemExit then chains no traceback, whose frames
        # would keep the half-loaded scene (and its Dr.Jit graph) alive.
        for line in lines:
            click.echo(f"error: {line}", err=True)
        sys.exit(code)

    return wrapper


@click.group()
@click.version_option(__version__, prog_name="invrender")
def main() -> None:
    """invrender: inverse rendering and scene reconstruction with Mitsuba 3."""


@main.command()
@click.argument("config", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--set",
    "overrides",
    multiple=True,
    metavar="KEY.PATH=VALUE",
    help="Override a config value (YAML syntax), e.g. --set optimize.iterations=50.",
)
@click.option(
    "--output",
    type=click.Path(file_okay=False, path_type=Path),
    help="Run folder (default: output.dir, or runs/<name>-<time>).",
)
@click.option(
    "--resume",
    type=click.Path(file_okay=False, path_type=Path),
    help="Continue the run in this folder from its last checkpoint.",
)
@click.option(
    "--variant",
    type=VARIANT_CHOICE,
    default=None,
    help="Mitsuba variant (default: the config's, auto = CUDA if available).",
)
@click.option("--quiet", is_flag=True, help="No progress and no messages but the result.")
@click.option(
    "--progress",
    "progress_mode",
    type=click.Choice(["auto", "bar", "plain", "none"]),
    default="auto",
    show_default=True,
    help="auto: a bar on a terminal, plain lines (every 5 % or 2 min) in logs.",
)
@user_errors
def optimize(
    config: Path | None,
    overrides: tuple[str, ...],
    output: Path | None,
    resume: Path | None,
    variant: str | None,
    quiet: bool,
    progress_mode: str,
) -> None:
    """Optimize the scene of CONFIG to match its target photos; write a run folder."""
    from invrender.optimize import run_optimization

    summary, run_dir = run_optimization(
        config, overrides, output, resume, variant, progress=False if quiet else progress_mode
    )
    click.echo(f"run folder: {run_dir}")
    psnr, loss = summary.get("psnr"), summary.get("final_loss")
    psnr_text = f"{psnr:.2f} dB ({summary['psnr_views']})" if psnr is not None else "n/a"
    loss_text = f"{loss:.4g}" if loss is not None else "n/a (no iterations)"
    click.echo(
        f"status: {summary['status']}  iterations: {summary['iterations']}  "
        f"final loss: {loss_text}  PSNR: {psnr_text}  time: {summary['wall_time_s']:.1f} s"
    )
    if summary["status"] == "interrupted":
        click.echo(f"resume with: invrender optimize --resume {run_dir}")
        sys.exit(130)


@main.command()
@click.argument("configs", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--set", "overrides", multiple=True, metavar="KEY.PATH=VALUE")
@click.option("--variant", type=VARIANT_CHOICE, default=None)
@click.option("--list-params", is_flag=True, help="Also list the differentiable parameters.")
@user_errors
def check(
    configs: tuple[Path, ...], overrides: tuple[str, ...], variant: str | None, list_params: bool
) -> None:
    """Validate configs without rendering: schema, files, scene parameters, images vs cameras."""
    from invrender.check import check_config, describe_parameters
    from invrender.errors import ConfigError

    problems: list[str] = []
    for path in configs:
        if list_params:
            try:
                for line in describe_parameters(path, overrides, variant):
                    click.echo(f"  {line}")
            except InvrenderError as exc:
                problems += str(exc).splitlines()
                continue
        try:
            click.echo(f"{path}: ok ({check_config(path, overrides, variant)})")
        except InvrenderError as exc:
            problems += str(exc).splitlines()
    if problems:
        raise ConfigError(problems)


@main.command()
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
    from invrender.errors import ConfigError
    from invrender.synth import SynthOptions, synthesize
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


@main.command()
@click.argument("photos", type=click.Path(file_okay=False, path_type=Path))
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path))
@click.option("--masks", type=click.Path(file_okay=False, path_type=Path), help="Mask folder.")
@click.option(
    "--camera-model",
    type=click.Choice(["pinhole", "radial", "opencv"]),
    default="radial",
    show_default=True,
    help="Lens model for SfM (all photos share one camera); images are undistorted to pinhole.",
)
@click.option(
    "--matcher",
    type=click.Choice(["exhaustive", "sequential"]),
    default="exhaustive",
    show_default=True,
    help="exhaustive: every pair; sequential: neighbours (video-like order).",
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
    masks: Path | None,
    camera_model: str,
    matcher: str,
    distance: float,
    quiet: bool,
    verbose: bool,
) -> None:
    """Recover cameras from PHOTOS (structure from motion) and write a dataset folder."""
    from invrender.data.sfm import SfmOptions, run_sfm

    opts = SfmOptions(camera_model, matcher, distance, progress=not quiet, verbose=verbose)
    report = run_sfm(photos, out, masks, opts)
    click.echo(report.table())
    click.echo(f"wrote {out / 'transforms.json'} (next: invrender init {out} --out my.yaml)")


@main.command("init")
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
    from invrender.init_config import write_init_config

    click.echo(write_init_config(dataset, out, pipeline))
    click.echo(f"next: invrender check {out} && invrender optimize {out}")


@main.command()
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--format",
    "formats",
    multiple=True,
    default=("all",),
    show_default=True,
    type=click.Choice(["gltf", "obj", "ply", "mitsuba", "blender", "cameras", "all"]),
    help="Repeat for several formats.",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Output folder (default: RUN_DIR/export).",
)
@click.option("--variant", type=VARIANT_CHOICE, default=None)
@user_errors
def export(run_dir: Path, formats: tuple[str, ...], out: Path | None, variant: str | None) -> None:
    """Export a run's optimized scene (meshes, materials, lighting, cameras) for other tools."""
    from invrender.run_export import export_run

    written = export_run(run_dir, list(formats), out, variant)
    for fmt, paths in written.items():
        click.echo(f"{fmt}: {', '.join(paths)}")


@main.command()
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@user_errors
def report(run_dir: Path) -> None:
    """(Re)build RUN_DIR/report.html: the asset in 3D, held-out views, curves, maps, config."""
    from invrender.report import report_command

    click.echo(f"wrote {report_command(run_dir)}")


@main.command()
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
    from invrender.geometry.hull_command import make_hull

    report, nv, nf = make_hull(
        dataset, out, masks, resolution, triangles or None, threshold, variant
    )
    click.echo(
        f"wrote {out}: {nv} vertices, {nf} triangles, genus {report.genus} "
        f"(grid {'x'.join(map(str, report.resolution))}, {sum(report.seconds.values()):.1f} s)"
    )


from invrender.batch.commands import batch  # noqa: E402 - needs main and user_errors above

main.add_command(batch)

if __name__ == "__main__":  # pragma: no cover
    main()
