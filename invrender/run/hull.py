"""`invrender hull DATASET --out hull.ply`: the visual hull of a dataset's masks, as a mesh file.

DATASET is a NeRF-style transforms.json (masks from the images' alpha, from each frame's
``mask_path``, or from a folder of mask images matched to the frames in name order) or a run
config (its targets and ``targets.masks``; synthesized first if they are missing, and only the
training views are carved, as ``geometry.init: {type: visual_hull}`` does).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from invrender.errors import DataError
from invrender.geometry.planes import Plane
from invrender.geometry.visual_hull import HullReport, HullView, views_from_dataset, visual_hull

CONFIG_SUFFIXES = (".yaml", ".yml")
MASK_SUFFIXES = (".png", ".exr", ".jpg", ".jpeg")


def hull_views(
    dataset: Path, masks: str | None, variant: str = "auto"
) -> tuple[list[HullView], Plane | None]:
    """The cameras and masks of DATASET (see the module docstring) and the table under the
    object when its transforms.json names one; DataError on bad input."""
    from invrender.variant import select_variant

    if not dataset.is_file():
        raise DataError(f"{dataset}: not found; give a transforms.json or a run config")
    if dataset.suffix.lower() in CONFIG_SUFFIXES:
        return _config_views(dataset, masks, variant)
    select_variant(variant)  # EXR images are read through Mitsuba
    return _transforms_views(dataset, masks or "alpha")


def _config_views(
    path: Path, masks: str | None, variant: str
) -> tuple[list[HullView], Plane | None]:
    from invrender.config.loader import load_config
    from invrender.data.dataset import load_dataset
    from invrender.run.session import ensure_targets
    from invrender.variant import select_variant

    loaded = load_config(path, [f"targets.masks={masks}"] if masks else [])
    targets = loaded.config.targets
    if targets.masks == "none":
        raise DataError(
            f"{path}: targets.masks is 'none'; set it to 'alpha' or 'files' (or pass --masks)"
        )
    select_variant(variant if variant != "auto" else loaded.config.variant or "auto")
    ensure_targets(loaded)
    data = load_dataset(targets, targets.transforms or str(path))
    return views_from_dataset(data), data.support_plane


def _transforms_views(path: Path, masks: str) -> tuple[list[HullView], Plane | None]:
    from invrender.config.schema import Targets
    from invrender.data.dataset import load_dataset
    from invrender.data.images import read_mask
    from invrender.data.transforms import read_transforms

    if masks == "files":
        missing = [i for i, fr in enumerate(read_transforms(path)) if fr.mask is None]
        if missing:
            raise DataError(
                f"{path}: --masks files but {len(missing)} frame(s) (first: frames[{missing[0]}]) "
                "have no mask_path; add mask_path to every frame or use --masks alpha"
            )
    if masks in ("alpha", "files"):
        mode: Literal["alpha", "files"] = "alpha" if masks == "alpha" else "files"
        dataset = load_dataset(Targets(transforms=str(path), masks=mode), str(path))
        return views_from_dataset(dataset, range(len(dataset.views))), dataset.support_plane
    folder = Path(masks)
    if not folder.is_dir():
        raise DataError(f"--masks {masks}: expected 'alpha', 'files' or a folder of mask images")
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in MASK_SUFFIXES)
    frames = read_transforms(path)
    if len(files) != len(frames):
        raise DataError(
            f"{folder}: {len(files)} mask image(s) for {len(frames)} camera(s) in {path}; give "
            "one mask per frame (matched in name order)"
        )
    dataset = load_dataset(Targets(transforms=str(path)), str(path))
    views = []
    for i, (view, file) in enumerate(zip(dataset.views, files, strict=True)):
        try:
            mask = read_mask(file)
        except (OSError, ValueError, RuntimeError) as exc:
            raise DataError(f"{file}: cannot read mask ({exc})") from None
        if mask.shape != view.image.shape[:2]:
            raise DataError(
                f"{file}: mask is {mask.shape[::-1]} but frame {i}'s image is "
                f"{view.image.shape[1::-1]}; masks must match their images"
            )
        views.append(HullView(view.camera, mask))
    return views, dataset.support_plane


def make_hull(
    dataset: Path,
    out: Path,
    masks: str | None = None,
    resolution: int = 128,
    triangles: int | None = 5000,
    threshold: float = 0.5,
    variant: str = "auto",
) -> tuple[HullReport, int, int]:
    """Carve, mesh and write ``out`` atomically; (report, vertex count, face count)."""
    import trimesh

    from invrender.files import write_bytes

    if out.suffix.lower() not in (".ply", ".obj", ".stl", ".glb"):
        raise DataError(f"--out {out}: give a .ply, .obj, .stl or .glb file name")
    views, plane = hull_views(dataset, masks, variant)
    (vertices, faces), report = visual_hull(views, resolution, triangles, threshold, support=plane)
    data: Any = trimesh.Trimesh(vertices, faces, process=False).export(
        file_type=out.suffix.lower()[1:]
    )
    write_bytes(out, data if isinstance(data, bytes) else data.encode())
    return report, len(vertices), len(faces)
