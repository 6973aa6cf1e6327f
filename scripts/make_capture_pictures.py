"""The README's capture walkthrough pictures, from a finished ``bench_capture.py --optimize`` work
folder (``--work W``):

- ``docs/img/capture_<name>_masks_sheet.jpg``: the contact sheet ``invrender cameras --masks
  auto`` wrote (``W/<name>/masks.png``: photo | mask with its confidence), scaled to fit;
- ``docs/img/capture_<name>_blender.jpg``: held-out photos (never trained on) next to Blender
  Cycles rendering the ``auto`` run's exported ``scene.blend`` from the same cameras (denoising
  off; the .blend as the export wrote it: the run's sky, camera rays see black).

    python scripts/make_capture_pictures.py W --capture vase [--views 2] [--samples 64]

Needs .bpy-venv (scripts/setup_blender_env.sh).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def masks_sheet(work: Path, name: str, out: Path, width: int = 960) -> Path:
    """``masks.png`` of the capture, ``width`` px wide, as a JPEG (a few hundred KB at most)."""
    from PIL import Image

    with Image.open(work / name / "masks.png") as sheet:
        rgb = sheet.convert("RGB")
        height = round(rgb.height * width / rgb.width)
        rgb.resize((width, height), Image.Resampling.LANCZOS).save(out, quality=82, optimize=True)
    return out


def object_box(mask: np.ndarray, margin: float = 0.25) -> tuple[int, int, int, int]:
    """A square around the mask's object, ``margin`` of its size added on each side, inside the
    image where it can be."""
    rows, cols = np.nonzero(mask)
    h, w = mask.shape
    side = (1 + 2 * margin) * max(rows.max() - rows.min(), cols.max() - cols.min())
    side = int(min(side, h, w))
    cy, cx = (rows.min() + rows.max()) // 2, (cols.min() + cols.max()) // 2
    top = int(np.clip(cy - side // 2, 0, h - side))
    left = int(np.clip(cx - side // 2, 0, w - side))
    return left, top, left + side, top + side


def blender_pairs(work: Path, name: str, out: Path, views: int, samples: int, size: int) -> Path:
    """Held-out photos (left) and Cycles on the auto run's exported .blend (right), a row each."""
    from PIL import Image, ImageDraw

    from invrender.export.blender import render_blend
    from invrender.files import linear_to_srgb, read_exr

    run = work / name / "e2e" / "auto" / "run"
    blend = run / "export" / "blender" / "scene.blend"
    record = json.loads((run / "eval" / "views.json").read_text())
    held = [v for v in record["views"] if v.get("heldout")][:views]
    dataset = Path(json.loads((work / name / "e2e" / "auto" / "row.json").read_text())["dataset"])
    rows = []
    crop = 360  # each half of a row, px
    with tempfile.TemporaryDirectory() as tmp:
        for view in held:
            stem = Path(view["name"]).name
            camera = view["name"].replace("/", "_")  # the export's camera name
            exr = render_blend(blend, Path(tmp) / f"{stem}.exr", camera, samples, size)
            full = np.round(255 * linear_to_srgb(read_exr(exr)[..., :3])).astype(np.uint8)
            with Image.open(dataset / "images" / f"{stem}.jpg") as photo:
                left = photo.convert("RGB").resize(
                    (full.shape[1], full.shape[0]), Image.Resampling.LANCZOS
                )
            with Image.open(dataset / "masks" / f"{stem}.png") as mask:
                box = object_box(np.asarray(mask.convert("L").resize(left.size)) > 127)
            render = Image.fromarray(full).crop(box)
            row = Image.new("RGB", (2 * render.width + 4, render.height), (255, 255, 255))
            row.paste(left.crop(box), (0, 0))
            row.paste(render, (render.width + 4, 0))
            row = row.resize((2 * crop + 4, crop), Image.Resampling.LANCZOS)
            draw = ImageDraw.Draw(row)
            draw.text((6, 4), f"{stem}.jpg (held out)", fill=(255, 255, 0))
            draw.text((crop + 10, 4), "Blender Cycles, exported scene.blend", fill=(255, 255, 0))
            rows.append(row)
    sheet = Image.new("RGB", (rows[0].width, sum(r.height + 4 for r in rows) - 4), (255, 255, 255))
    y = 0
    for row in rows:
        sheet.paste(row, (0, y))
        y += row.height + 4
    sheet.save(out, quality=85, optimize=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("work", type=Path, help="the --work folder of bench_capture.py --optimize")
    parser.add_argument("--capture", default="vase")
    parser.add_argument(
        "--views", type=int, default=2, help="held-out views in the Blender picture"
    )
    parser.add_argument("--samples", type=int, default=128, help="Cycles samples per pixel")
    parser.add_argument("--size", type=int, default=1024, help="render width (px)")
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "img")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for path in (
        masks_sheet(args.work, args.capture, args.out / f"capture_{args.capture}_masks_sheet.jpg"),
        blender_pairs(
            args.work,
            args.capture,
            args.out / f"capture_{args.capture}_blender.jpg",
            args.views,
            args.samples,
            args.size,
        ),
    ):
        print(f"wrote {path} ({path.stat().st_size // 1024} KB)")


if __name__ == "__main__":
    main()
