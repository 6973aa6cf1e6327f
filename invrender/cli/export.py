"""``invrender export``: export a finished run's scene for other tools."""

from __future__ import annotations

from pathlib import Path

import click

from invrender.cli.common import VARIANT_CHOICE, user_errors


@click.command()
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
    from invrender.run.export import export_run

    written = export_run(run_dir, list(formats), out, variant)
    for fmt, paths in written.items():
        click.echo(f"{fmt}: {', '.join(paths)}")
