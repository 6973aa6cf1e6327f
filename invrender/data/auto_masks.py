"""Automatic object masks for a capture: the object is what every camera looks at.

No model weights: structure from motion already says where things are. Its 3-D points near the
point all cameras look at, inside every camera's view and above the ground plane (when the
points show one) are the object; the others are background. Each photo is seeded with the
projections of the points it saw, refined with OpenCV's GrabCut (colour models from the seeds),
and then the masks are made to agree: a visual hull carved from all of them (each voxel ignoring
its few most disagreeing views, so one wrong mask cannot carve the object away) is projected
back, a view whose mask disagrees with that projection is re-seeded from it, and each view's
IoU with the hull's projection is its confidence.
"""

from __future__ import annotations

import math
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from invrender.data.support_plane import support_plane
from invrender.errors import DataError

# GrabCut runs on a copy at most this large (long side): its cost grows with the pixel count and
# the mask is upsampled back; 12 MP photos would take minutes per view.
WORK_SIZE = 640
# masks_for_dataset makes the masks (seeds, GrabCut, hull, contact sheet) on copies of the
# photos at most this large (long side) and upsamples each final mask once to its photo's size:
# at 12 MP the hull's distance transforms alone took 94 s of CPU for 24 photos, and nothing the
# 640 px GrabCut finds needs more pixels than this. Photos up to this size are used as they are.
MASK_SIZE = 1024
GRABCUT_ITERATIONS = 5
MIN_SEEDS = 8  # fewer object points seen in a view: seed it from the object's projected box
REDO_BELOW = 0.95  # a view whose IoU with the hull's projection is below this is re-seeded
LOW_CONFIDENCE = 0.8  # flagged in the table
# Holes in a GrabCut mask of at least this fraction of the object's area are kept (a handle's
# opening), smaller ones filled (specks GrabCut gave to the background); see fill_small_holes.
KEEP_HOLE = 0.01
# Gaps in a GrabCut mask narrower than twice this fraction of the image's long side are bridged
# (a morphological closing; 6 px at the 640 px GrabCut size): see fill_small_holes.
CLOSE_FRACTION = 0.01


@dataclass
class MaskView:
    """One photo: a camera (invrender.data.cameras.Camera, Mitsuba axes) of the image's size,
    the photo (or a reduced copy) as (H, W, 3) uint8 sRGB, and the indices of the 3-D points it
    observed (None: all)."""

    name: str
    camera: Any
    image: np.ndarray
    seen: np.ndarray | None = None


@dataclass
class MaskResult:
    name: str
    mask: np.ndarray  # (H, W) bool, the size of the view's image
    iou: float  # against the projection of the hull of all masks: the confidence
    note: str = ""  # "re-seeded from the hull", ...


@dataclass
class PointLabels:
    """What the 3-D points are: object (bool per point), the ground plane if one was found."""

    object: np.ndarray
    centre: np.ndarray
    plane: tuple[np.ndarray, float] | None = None  # (unit normal towards the cameras, offset)
    notes: list[str] = field(default_factory=list)


def look_at_centre(cameras: list[Any]) -> np.ndarray:
    """The point closest to every camera's optical axis."""
    from invrender.geometry.shapes import closest_point_to_rays

    mats = [np.asarray(c.to_world, dtype=np.float64) for c in cameras]
    return closest_point_to_rays(
        np.stack([m[:3, 3] for m in mats]), np.stack([m[:3, 2] for m in mats])
    )


def project(camera: Any, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """((N, 2) pixel coordinates (x right, y down, pixel centres at +0.5), (N,) in front)."""
    from invrender.geometry.visual_hull import _projection

    w2c, focal, cx, cy = _projection(camera, int(camera.height), int(camera.width))
    cam = np.asarray(points, dtype=np.float64) @ w2c[:3, :3].T + w2c[:3, 3]
    front = cam[:, 2] > 1e-9
    z = np.where(front, cam[:, 2], 1e-9)
    return np.stack([cx - focal * cam[:, 0] / z, cy - focal * cam[:, 1] / z], axis=1), front


def label_points(cameras: list[Any], points: np.ndarray) -> PointLabels:
    """Which SfM points are the object: inside (nearly) every camera's view, above the ground
    plane when the points have one, and not far from the look-at centre."""
    points = np.asarray(points, dtype=np.float64).reshape(-1, 3)
    centre = look_at_centre(cameras)
    origins = np.stack([np.asarray(c.to_world)[:3, 3] for c in cameras])
    distance = float(np.linalg.norm(origins - centre, axis=1).mean())
    labels = PointLabels(np.zeros(len(points), bool), centre)
    if len(points) == 0:
        return labels
    inside = np.zeros(len(points))
    for cam in cameras:
        xy, front = project(cam, points)
        mx, my = 0.02 * cam.width, 0.02 * cam.height
        ok = front & (xy[:, 0] > mx) & (xy[:, 0] < cam.width - mx)
        ok &= (xy[:, 1] > my) & (xy[:, 1] < cam.height - my)
        inside += ok
    common = inside >= math.ceil(0.9 * len(cameras))
    candidate = common & (np.linalg.norm(points - centre, axis=1) < 0.6 * distance)
    plane = support_plane(points, [c.to_world for c in cameras])
    if plane is not None:
        normal, offset = plane
        height = points @ normal - offset
        candidate &= height > 0.02 * distance
        labels.plane = plane
        labels.notes.append("ground plane found")
    if candidate.sum() >= MIN_SEEDS:
        # The object is one compact thing: drop stray points far from the candidates' median.
        core = np.median(points[candidate], axis=0)
        d = np.linalg.norm(points - core, axis=1)
        limit = 2.5 * float(np.percentile(d[candidate], 75))
        candidate &= d < limit
    labels.object = candidate
    return labels


def grabcut(
    image: np.ndarray, seeds: np.ndarray, iterations: int = GRABCUT_ITERATIONS
) -> np.ndarray:
    """GrabCut from a seed image of OpenCV labels (GC_BGD, GC_FGD, GC_PR_BGD, GC_PR_FGD); the
    object as a bool image, small holes filled, only the parts that hold a sure-object seed."""
    import cv2
    from scipy.ndimage import label

    seeds = seeds.copy()
    if not ((seeds == cv2.GC_FGD) | (seeds == cv2.GC_PR_FGD)).any():
        return np.zeros(seeds.shape, bool)
    if not ((seeds == cv2.GC_BGD) | (seeds == cv2.GC_PR_BGD)).any():
        return np.ones(seeds.shape, bool)
    bgd, fgd = np.zeros((1, 65)), np.zeros((1, 65))
    bgr = np.ascontiguousarray(image[..., ::-1])
    # GrabCut's k-means draws from OpenCV's per-thread generator: seeding it here gives every
    # view the same mask whatever ran before it on this thread (views run in a thread pool).
    cv2.setRNGSeed(0)
    try:
        cv2.grabCut(bgr, seeds, (0, 0, 0, 0), bgd, fgd, iterations, cv2.GC_INIT_WITH_MASK)
    except cv2.error:  # a degenerate colour model (too few pixels of a class): keep the seeds
        pass
    obj = (seeds == cv2.GC_FGD) | (seeds == cv2.GC_PR_FGD)
    parts, count = label(obj)
    if count > 1:
        sure = np.unique(parts[(seeds == cv2.GC_FGD) & obj])
        sure = sure[sure > 0]
        if len(sure) == 0:
            sizes = np.bincount(parts.ravel())[1:]
            sure = np.array([int(np.argmax(sizes)) + 1])
        obj = np.isin(parts, sure)
    return fill_small_holes(obj)


def fill_small_holes(obj: np.ndarray, keep: float = KEEP_HOLE) -> np.ndarray:
    """``obj`` with gaps narrower than CLOSE_FRACTION of the image bridged, then its holes
    filled except those of at least ``keep`` of its area.

    GrabCut leaves specks of background inside an object (a dark fleck like the table), and
    breaks a thin bright rim against a bright background: the inside of an open mug seen from
    above then joined the background through the break, a notch no hole filling closes, and
    the notches of a few views perforated the visual hull (the capture mug's hull had genus
    10-19 at 128 voxels against the truth's 1; 1 with the gaps bridged). A mug's handle seen
    from the side encloses the background behind it: that hole is kept."""
    from scipy.ndimage import binary_closing, binary_fill_holes, label

    r = max(1, round(CLOSE_FRACTION * max(obj.shape)))
    yy, xx = np.mgrid[-r : r + 1, -r : r + 1]
    obj = obj | binary_closing(obj, structure=(xx * xx + yy * yy) <= r * r)
    filled = binary_fill_holes(obj)
    holes, count = label(filled & ~obj)
    if count == 0:
        return filled
    sizes = np.bincount(holes.ravel())[1:]
    large = np.flatnonzero(sizes >= keep * max(int(obj.sum()), 1)) + 1
    return filled & ~np.isin(holes, large)


def _pool() -> ThreadPoolExecutor:
    """Threads for per-view work: OpenCV releases the GIL, so GrabCut runs on every core."""
    from invrender.data.photo_inputs import worker_count

    return ThreadPoolExecutor(worker_count())


def _scaled(image: np.ndarray, size: int) -> tuple[np.ndarray, float]:
    """The image with its long side at most ``size`` (area averaging) and the scale used."""
    import cv2

    h, w = image.shape[:2]
    s = min(1.0, size / max(h, w))
    if s == 1.0:
        return image, 1.0
    return cv2.resize(image, (round(w * s), round(h * s)), interpolation=cv2.INTER_AREA), s


def _upsampled_mask(mask: np.ndarray, height: int, width: int) -> np.ndarray:
    import cv2

    if mask.shape == (height, width):
        return mask
    soft = cv2.resize(mask.astype(np.float32), (width, height), interpolation=cv2.INTER_LINEAR)
    return soft > 0.5


def column_outline(
    camera: Any, centre: np.ndarray, extent: float, plane: tuple[np.ndarray, float]
) -> np.ndarray:
    """The convex outline (pixels) of the upright cylinder of radius ``extent`` around
    ``centre`` that reaches down to the support plane: an object standing on a table goes down
    to the table, and a sphere around the look-at centre would cut off its lower part. Empty
    when that sphere already reaches the plane (the column would only add table)."""
    import cv2

    normal, offset = plane
    height = float(centre @ normal - offset)
    if height <= extent:
        return np.zeros((0, 2))
    helper = np.eye(3)[int(np.argmin(np.abs(normal)))]
    u = np.cross(normal, helper)
    u /= np.linalg.norm(u)
    v = np.cross(normal, u)
    angles = np.linspace(0.0, 2 * math.pi, 48, endpoint=False)
    ring = extent * (np.outer(np.cos(angles), u) + np.outer(np.sin(angles), v))
    axis = centre - height * normal  # the centre's foot on the plane
    top = height + extent
    xy, front = project(camera, np.concatenate([axis + ring, axis + top * normal + ring]))
    if not front.all():  # a camera inside the column: no outline to fill
        return np.zeros((0, 2))
    return cv2.convexHull(xy.astype(np.float32)).reshape(-1, 2).astype(np.float64)


def point_seeds(
    view: MaskView, points: np.ndarray, labels: PointLabels, extent: float, scale: float
) -> np.ndarray:
    """OpenCV GrabCut labels for ``view`` (at ``scale`` of the photo): sure object and sure
    background discs at the projections of the points it saw, probable object inside the
    convex hull of its object points (grown a little), probable background elsewhere. With too
    few object points (a smooth object on a textured table) the probable object is the region
    around the look-at centre, down to the support plane when the points show one."""
    import cv2

    h, w = view.image.shape[:2]
    hs, ws = round(h * scale), round(w * scale)
    seen = np.arange(len(points)) if view.seen is None else np.asarray(view.seen, dtype=int)
    obj = seen[labels.object[seen]]
    bg = seen[~labels.object[seen]]
    seeds = np.full((hs, ws), cv2.GC_PR_BGD, np.uint8)
    radius = max(1, round(0.004 * max(hs, ws)))
    xy_obj, front = project(view.camera, points[obj])
    xy_obj = xy_obj[front] * scale
    if len(xy_obj) >= MIN_SEEDS:
        hull = cv2.convexHull(np.round(xy_obj - 0.5).astype(np.int32))
        region = np.zeros((hs, ws), np.uint8)
        cv2.fillConvexPoly(region, hull, 1)
        grow = max(3, round(0.04 * max(hs, ws)))
        region = cv2.dilate(region, np.ones((2 * grow + 1, 2 * grow + 1), np.uint8))
        seeds[region > 0] = cv2.GC_PR_FGD
    else:
        # Too few points: the object's bounding sphere around the look-at centre.
        centre_xy, _ = project(view.camera, labels.centre[None])
        focal = view.camera.width / (2 * math.tan(view.camera.camera_angle_x / 2))
        depth = float(np.linalg.norm(np.asarray(view.camera.to_world)[:3, 3] - labels.centre))
        r = max(4, round(scale * focal * extent / max(depth, 1e-9)))
        c = np.round(centre_xy[0] * scale - 0.5).astype(int)
        cv2.circle(seeds, (int(c[0]), int(c[1])), r, int(cv2.GC_PR_FGD), -1)
        if labels.plane is not None:
            column = column_outline(view.camera, labels.centre, extent, labels.plane) * scale
            if len(column) >= 3:
                outline = np.round(column - 0.5).astype(np.int32)
                cv2.fillConvexPoly(seeds, outline, int(cv2.GC_PR_FGD))
        cv2.circle(seeds, (int(c[0]), int(c[1])), max(2, r // 4), int(cv2.GC_FGD), -1)
    xy_bg, front_bg = project(view.camera, points[bg])
    for x, y in np.round(xy_bg[front_bg] * scale - 0.5).astype(int):
        cv2.circle(seeds, (int(x), int(y)), radius, int(cv2.GC_BGD), -1)
    for x, y in np.round(xy_obj - 0.5).astype(int):
        cv2.circle(seeds, (int(x), int(y)), radius, int(cv2.GC_FGD), -1)
    return seeds


def hull_seeds(hull: np.ndarray) -> np.ndarray:
    """GrabCut labels from a hull projection: its eroded core sure object, the rest of it and a
    thin ring around it probable, beyond that sure background."""
    import cv2

    size = max(hull.shape)
    inner = max(1, round(0.015 * size))
    outer = max(2, round(0.03 * size))
    h8 = hull.astype(np.uint8)
    core = cv2.erode(h8, np.ones((2 * inner + 1, 2 * inner + 1), np.uint8)) > 0
    ring = cv2.dilate(h8, np.ones((2 * outer + 1, 2 * outer + 1), np.uint8)) > 0
    seeds = np.full(hull.shape, cv2.GC_BGD, np.uint8)
    seeds[ring] = cv2.GC_PR_BGD
    seeds[hull] = cv2.GC_PR_FGD
    seeds[core] = cv2.GC_FGD
    return seeds


def iou(a: np.ndarray, b: np.ndarray) -> float:
    union = int((a | b).sum())
    return float((a & b).sum() / union) if union else 1.0


def object_extent(cameras: list[Any], points: np.ndarray, labels: PointLabels) -> float:
    """The object's radius around the look-at centre: the farthest object point's distance
    when there are at least MIN_SEEDS of them, else a quarter of the camera distance (or the
    few points' reach, if farther). A few points on a smooth object only bound it from below:
    one point on a mug's side gave 0.7 of the 1.1 it measures and cut its rim out of the
    masks."""
    obj = points[labels.object]
    reach = float(np.linalg.norm(obj - labels.centre, axis=1).max()) if len(obj) else 0.0
    if len(obj) >= MIN_SEEDS:
        return reach
    origins = np.stack([np.asarray(c.to_world)[:3, 3] for c in cameras])
    labels.notes.append(f"{len(obj) or 'no'} object point(s): seeded from the look-at centre")
    return max(reach, 0.25 * float(np.linalg.norm(origins - labels.centre, axis=1).mean()))


def auto_masks(
    views: list[MaskView],
    points: np.ndarray,
    hull_resolution: int = 96,
    progress: bool = False,
) -> tuple[list[MaskResult], PointLabels]:
    """Object masks for ``views`` from SfM ``points`` (world coordinates of the cameras) and
    which points each view saw; see the module docstring. Returns the masks and the labels."""
    from tqdm import tqdm

    from invrender.geometry.visual_hull import HullView, project_silhouette, robust_hull_surface

    if len(views) < 3:
        raise DataError(f"automatic masks need at least 3 views, got {len(views)}")
    points = np.asarray(points, dtype=np.float64).reshape(-1, 3)
    cameras = [v.camera for v in views]
    labels = label_points(cameras, points)
    extent = object_extent(cameras, points, labels)

    def first_cut(v: MaskView) -> np.ndarray:
        small, s = _scaled(v.image, WORK_SIZE)
        cut = grabcut(small, point_seeds(v, points, labels, extent, s))
        return _upsampled_mask(cut, *v.image.shape[:2])

    with _pool() as pool:
        masks = list(
            tqdm(
                pool.map(first_cut, views),
                total=len(views),
                desc="masks (GrabCut)",
                disable=not progress,
            )
        )

    def hull_projections(current: list[np.ndarray]) -> list[np.ndarray]:
        usable = [i for i, m in enumerate(current) if m.any() and not m.all()]
        if len(usable) < 3:
            raise DataError(
                "automatic masks: GrabCut found the object in fewer than 3 views; give masks "
                "with --masks DIR, or photos where the object stands out from its surroundings"
            )
        ignore = max(1, len(usable) // 10)
        mesh = robust_hull_surface(
            [HullView(cameras[i], current[i].astype(np.float32)) for i in usable],
            hull_resolution,
            ignore,
        )
        return [
            project_silhouette(mesh, c, *m.shape) for c, m in zip(cameras, current, strict=True)
        ]

    hulls = hull_projections(masks)
    notes = [""] * len(views)
    scores = [iou(m, h) for m, h in zip(masks, hulls, strict=True)]
    redo = [i for i, sc in enumerate(scores) if sc < REDO_BELOW]

    def second_cut(i: int) -> np.ndarray:
        small, _ = _scaled(views[i].image, WORK_SIZE)
        seeds = hull_seeds(_upsampled_mask(hulls[i], *small.shape[:2]))
        return _upsampled_mask(grabcut(small, seeds), *views[i].image.shape[:2])

    with _pool() as pool:
        for i, mask in zip(redo, pool.map(second_cut, redo), strict=True):
            masks[i] = mask
            notes[i] = "re-seeded from the hull"
    if redo:
        hulls = hull_projections(masks)
    results = []
    for i, v in enumerate(views):
        score = iou(masks[i], hulls[i])
        if score < LOW_CONFIDENCE:
            masks[i] = hulls[i]
            notes[i] = (notes[i] + "; " if notes[i] else "") + "replaced by the hull's projection"
        results.append(MaskResult(v.name, masks[i], score, notes[i]))
    return results, labels


# -- a dataset folder (transforms.json + images/, colmap/ from `invrender cameras`) ---------------


@dataclass
class MasksReport:
    results: list[MaskResult]
    notes: list[str]
    seconds: float

    def summary(self) -> str:
        scores = [r.iou for r in self.results]
        worst = min(self.results, key=lambda r: r.iou)
        low = sum(s < LOW_CONFIDENCE for s in scores)
        return (
            f"automatic: median IoU vs hull {float(np.median(scores)):.3f}, worst "
            f"{worst.iou:.3f} ({worst.name}){f', {low} low' if low else ''}; see masks.png"
        )

    def table(self) -> str:
        """One line per view: its mask's confidence (IoU with the hull's projection)."""
        width = max(len(r.name) for r in self.results)
        lines = [f"{'photo':<{width}}  IoU vs hull  note"]
        for r in self.results:
            flag = " (low)" if r.iou < LOW_CONFIDENCE else ""
            lines.append(f"{r.name:<{width}}  {r.iou:11.3f}  {r.note}{flag}".rstrip())
        return "\n".join(lines)


def colmap_points(dataset: Path, names: list[str], meta: dict) -> tuple[np.ndarray, list]:
    """SfM points of ``dataset/colmap`` in the dataset's world, and per photo name the indices
    of the points it observed; (empty, [None, ...]) without a COLMAP model."""
    model = dataset / "colmap"
    if not (model / "points3D.bin").is_file() and not (model / "points3D.txt").is_file():
        return np.zeros((0, 3)), [None] * len(names)
    import pycolmap

    rec = pycolmap.Reconstruction(str(model))
    sim = np.asarray(
        meta.get("invrender_normalization", {}).get("colmap_to_dataset", np.eye(4)), np.float64
    )
    image_names = {iid: im.name for iid, im in rec.images.items()}
    xyz, seen_by = [], []
    for pid, p in rec.points3D.items():
        xyz.append(p.xyz)
        seen_by.append({image_names[e.image_id] for e in p.track.elements})
        del pid
    pts = np.asarray(xyz, dtype=np.float64).reshape(-1, 3)
    pts = pts @ sim[:3, :3].T + sim[:3, 3]
    seen = [np.array([j for j, s in enumerate(seen_by) if n in s], dtype=int) for n in names]
    return pts, seen


def masks_for_dataset(
    dataset: Path, replace: bool = False, progress: bool = False, hull_resolution: int = 96
) -> MasksReport:
    """Automatic masks for a dataset folder: masks/<photo>.png, the contact sheet masks.png and
    mask_path per frame in transforms.json (so ``invrender init`` picks ``masks: files``).

    Masks the user gave win: a dataset whose frames already have masks not made here is left
    alone (DataError) unless ``replace``."""
    import json
    import shutil
    import time

    from PIL import Image

    from invrender.data.photo_inputs import open_reduced
    from invrender.data.transforms import read_transforms
    from invrender.files import write_text

    t0 = time.perf_counter()
    dataset = Path(dataset)
    path = dataset / "transforms.json" if dataset.is_dir() else dataset
    if not path.is_file():
        raise DataError(f"{dataset}: no transforms.json (give a folder made by invrender cameras)")
    dataset = path.parent
    meta = json.loads(path.read_text())
    frames = read_transforms(path)
    own = meta.get("invrender_masks", {}).get("source") == "auto"
    if any(f.mask is not None for f in frames) and not own and not replace:
        raise DataError(
            f"{path}: the frames already have masks (given with --masks); those win over "
            "automatic ones (pass --replace to overwrite them)"
        )
    names = [f.image.name for f in frames]
    points, seen = colmap_points(dataset, names, meta)
    missing = [f.image for f in frames if not f.image.is_file()]
    if missing:
        raise DataError(f"{missing[0]}: photo not found (listed in {path})")

    def read(f: Any) -> tuple[np.ndarray, tuple[int, int]]:
        image, full = open_reduced(f.image, MASK_SIZE)
        return np.asarray(image), full

    with _pool() as pool:
        read_views = list(pool.map(read, frames))
    views, sizes = [], []
    for f, s, (rgb, full) in zip(frames, seen, read_views, strict=True):
        cam = f.camera  # its angles and principal point are fractions of the image: any size
        if (cam.width, cam.height) != (rgb.shape[1], rgb.shape[0]):
            cam = cam.with_resolution(rgb.shape[1], rgb.shape[0])
        views.append(MaskView(f.image.name, cam, rgb, s))
        sizes.append(full)
    results, labels = auto_masks(views, points, hull_resolution, progress)

    staging = dataset / f".masks.partial-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    rel = [f"masks/{Path(r.name).stem}.png" for r in results]

    def write(k: int) -> None:
        """The mask at its photo's size (upsampled once from the working size)."""
        width, height = sizes[k]
        mask = _upsampled_mask(results[k].mask, height, width)
        Image.fromarray(mask.astype(np.uint8) * 255, mode="L").save(staging / Path(rel[k]).name)

    with _pool() as pool:
        list(pool.map(write, range(len(results))))
    contact_sheet([v.image for v in views], results, staging / "masks.png.tmp")
    if (dataset / "masks").exists():
        shutil.rmtree(dataset / "masks")
    os.replace(staging / "masks.png.tmp", dataset / "masks.png")
    os.replace(staging, dataset / "masks")
    for fr, m in zip(meta["frames"], rel, strict=True):
        fr["mask_path"] = m
    meta["invrender_masks"] = {
        "source": "auto",
        "note": "object masks made by invrender (SfM points + GrabCut + hull); iou_vs_hull is "
        "each mask's agreement with the hull of all masks (its confidence)",
        "iou_vs_hull": {r.name: round(r.iou, 4) for r in results},
    }
    write_text(path, json.dumps(meta, indent=2))
    return MasksReport(results, labels.notes, time.perf_counter() - t0)


def contact_sheet(
    images: list[np.ndarray], results: list[MaskResult], out: Path, tile: int = 200, pairs: int = 3
) -> None:
    """photo | mask overlay (background dimmed, outline red, name and IoU), ``pairs`` per row."""
    import cv2
    from PIL import Image, ImageDraw

    h0, w0 = images[0].shape[:2]
    s = tile / max(h0, w0)
    tw, th = max(1, round(w0 * s)), max(1, round(h0 * s))
    rows = math.ceil(len(images) / pairs)
    sheet = Image.new("RGB", (pairs * 2 * tw + (pairs - 1) * 6, rows * th), (30, 30, 30))
    draw = ImageDraw.Draw(sheet)
    for k, (img, r) in enumerate(zip(images, results, strict=True)):
        photo = cv2.resize(img, (tw, th), interpolation=cv2.INTER_AREA)
        mask = _upsampled_mask(r.mask, th, tw)
        over = (photo * np.where(mask[..., None], 1.0, 0.3)).astype(np.uint8)
        edge = mask ^ cv2.erode(mask.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
        over[edge] = (255, 40, 40)
        x, y = (k % pairs) * (2 * tw + 6), (k // pairs) * th
        sheet.paste(Image.fromarray(photo), (x, y))
        sheet.paste(Image.fromarray(over), (x + tw, y))
        draw.text((x + tw + 3, y + 2), f"{r.name} {r.iou:.2f}", fill=(255, 255, 0))
    sheet.save(out, format="PNG")
