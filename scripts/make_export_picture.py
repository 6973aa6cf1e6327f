"""Make docs/img/blender_export.png: Mitsuba's render next to Cycles rendering the exported .blend.

Usage: python scripts/make_export_picture.py [--width 320] [--samples 128]
Needs .bpy-venv (scripts/setup_blender_env.sh). Prints the difference between the two renders.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

import invrender  # noqa: F401  (first: points Dr.Jit at a working LLVM before Mitsuba loads it)

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--width", type=int, default=320)
    parser.add_argument("--samples", type=int, default=128)
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "img" / "blender_export.png")
    parser.add_argument("--run", type=Path, help="a finished run folder: picture its result")
    args = parser.parse_args()
    if args.run is not None:
        picture_of_run(args)
        return

    from invrender.variant import select_variant

    select_variant("llvm_ad_rgb")
    import mitsuba as mi
    from export_helpers import make_scene
    from PIL import Image, ImageDraw

    from invrender.export import export_scene
    from invrender.export.blender import render_blend
    from invrender.files import linear_to_srgb, read_exr

    height = round(args.width * 2 / 3)
    scene = make_scene(mi, width=args.width, height=height, spp=args.samples)
    with tempfile.TemporaryDirectory() as folder:
        written = export_scene(scene, Path(folder), ["blender"])
        blend = next(p for p in written["blender"] if p.suffix == ".blend")
        cycles = read_exr(
            render_blend(blend, Path(folder) / "cycles.exr", "camera_front", args.samples)
        )[..., :3]
    mitsuba = np.array(mi.render(scene, spp=args.samples * 2), dtype=np.float64)[..., :3]
    mae = float(np.mean(np.abs(cycles - mitsuba)))
    print(f"{args.width}x{height}: MAE {mae:.4f} (mean {mitsuba.mean():.3f})")
    gap = np.ones((height, 4, 3))
    both = np.concatenate([mitsuba, gap, cycles], axis=1)
    image = Image.fromarray(np.round(linear_to_srgb(both) * 255).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    draw.text((6, 4), "Mitsuba 3", fill=(255, 255, 255))
    draw.text((args.width + 10, 4), "Blender Cycles (exported .blend)", fill=(255, 255, 255))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    image.save(args.out, optimize=True)
    print(f"wrote {args.out} ({args.out.stat().st_size // 1024} KB)")


def picture_of_run(args: argparse.Namespace) -> None:
    """The run's first evaluation view, re-rendered larger: Mitsuba next to Cycles (.blend)."""
    import mitsuba as mi

    from invrender.export import export_scene
    from invrender.export.blender import render_blend
    from invrender.files import read_exr
    from invrender.run.export import load_run

    session = load_run(args.run)
    view = session.dataset.views[session.dataset.eval_views[0]]
    camera = view.camera.with_resolution(
        args.width, args.width * view.camera.height // view.camera.width
    )
    sensor = mi.load_dict(camera.sensor_dict(spp=args.samples))
    with tempfile.TemporaryDirectory() as folder:
        written = export_scene(
            session.scene,
            Path(folder),
            ["blender"],
            sensors=[sensor],
            integrator=dict(session.config.integrator),
        )
        blend = next(p for p in written["blender"] if p.suffix == ".blend")
        cycles = read_exr(render_blend(blend, Path(folder) / "cycles.exr", None, args.samples))
    mitsuba = np.array(
        mi.render(
            session.scene, sensor=sensor, integrator=session.integrator, spp=args.samples * 2
        ),
        dtype=np.float64,
    )[..., :3]
    save_pair(args, mitsuba, cycles[..., :3], "invrender result (Mitsuba 3)")


def save_pair(args: argparse.Namespace, left: np.ndarray, right: np.ndarray, label: str) -> None:
    from PIL import Image, ImageDraw

    from invrender.files import linear_to_srgb

    mae = float(np.mean(np.abs(right - left)))
    print(f"{left.shape[1]}x{left.shape[0]}: MAE {mae:.4f} (mean {left.mean():.3f})")
    gap = np.ones((left.shape[0], 4, 3))
    image = Image.fromarray(
        np.round(linear_to_srgb(np.concatenate([left, gap, right], axis=1)) * 255).astype(np.uint8)
    )
    draw = ImageDraw.Draw(image)
    draw.text((6, 4), label, fill=(255, 255, 255))
    draw.text((left.shape[1] + 10, 4), "Blender Cycles (exported .blend)", fill=(255, 255, 255))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    image.save(args.out, optimize=True)
    print(f"wrote {args.out} ({args.out.stat().st_size // 1024} KB)")


if __name__ == "__main__":
    main()
