"""The README's capture walkthrough pictures, from a finished ``bench_capture.py --optimize`` work
folder (``--work W``):

- ``docs/img/capture_<name>_masks_sheet.jpg``: the contact sheet ``invrender cameras --masks
  auto`` wrote (``W/<name>/masks.png``: photo | mask with its confidence), scaled to fit;
- ``docs/img/capture_<name>_blender.jpg``: held-out photos (never trained on) next to Blender
  Cycles rendering the ``auto`` run's exported ``scene.blend`` from the same cameras (denoising
  off; the .blend as the export wrote it: the run's sky, camera rays see black);
- ``docs/img/capture_<name>_sections.png`` (``--sections``): the true mesh and the exported
  meshes of the ``auto`` and ``true`` runs (moved into the true world as the benchmark scores
  them), cut by the vertical planes through the true mesh's bounding-box centre.

    python scripts/make_capture_pictures.py W --capture vase [--views 2] [--samples 64]
    python scripts/make_capture_pictures.py W --capture mug --sections CAPTURE_DIR

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


def sections(work: Path, name: str, capture: Path, out: Path) -> Path:
    """Cuts of the true mesh and of both runs' exported meshes through the truth's bbox centre,
    along x (left) and y (right), in the true world (Z up)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import trimesh

    from invrender.geometry.shapes import load_mesh
    from scripts.bench_default_path import exported_mesh
    from scripts.capture_e2e import mesh_in_true_world, to_true_world

    vertices, faces = load_mesh(capture / "truth" / "mesh.ply")
    centre = (vertices.min(axis=0) + vertices.max(axis=0)) / 2
    meshes = [("truth", "k", 1.6, trimesh.Trimesh(vertices, faces, process=False))]
    e2e = work / name / "e2e"
    for kind, label, colour in (
        ("auto", "photos alone (automatic cameras and masks)", "tab:red"),
        ("true", "true cameras and masks", "tab:blue"),
    ):
        row = json.loads((e2e / kind / "row.json").read_text())
        mesh = exported_mesh(Path(row["run"]))
        if mesh is None:
            continue
        moved, f = mesh_in_true_world(mesh, to_true_world(Path(row["dataset"]), capture))
        meshes.append((label, colour, 0.9, trimesh.Trimesh(moved, f, process=False)))
    fig, axes = plt.subplots(1, 2, figsize=(13, 6.2))
    planes = (("y", [0.0, 1.0, 0.0], 0), ("x", [1.0, 0.0, 0.0], 1))
    for ax, (axis, normal, across) in zip(axes, planes, strict=True):
        for label, colour, width, mesh in meshes:
            cut = mesh.section(plane_origin=centre, plane_normal=normal)
            for line in cut.discrete if cut is not None else []:
                ax.plot(line[:, across], line[:, 2], color=colour, lw=width)
            ax.plot([], [], color=colour, lw=width, label=label)
        ax.set_title(f"cut at {axis} = {centre[1 - across]:.2f} (the true world, Z up)")
        ax.set_aspect("equal")
        ax.grid(alpha=0.3)
    axes[0].legend(loc="lower center", fontsize=9)
    fig.tight_layout()
    fig.savefig(out, dpi=80)
    plt.close(fig)
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
    parser.add_argument(
        "--sections",
        type=Path,
        metavar="CAPTURE_DIR",
        help="only the sections picture, against CAPTURE_DIR/truth (make_capture_benchmark's)",
    )
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    if args.sections is not None:
        path = sections(
            args.work,
            args.capture,
            args.sections,
            args.out / f"capture_{args.capture}_sections.png",
        )
        print(f"wrote {path} ({path.stat().st_size // 1024} KB)")
        return
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
