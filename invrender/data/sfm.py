"""Cameras from photos: structure from motion with pycolmap, then a dataset invrender reads.

SIFT features from a working copy of each photo (upright by its EXIF tag; large photos
downscaled to ``max_image_size`` on the long side: the optimization runs at
a few hundred pixels, and SIFT at 12 MP costs minutes per photo while adding nothing the
cameras need), exhaustive or sequential matching (sequential above ``AUTO_SEQUENTIAL_ABOVE``
photos: exhaustive is quadratic), incremental mapping with one shared camera, the model scaled
back to the photos' own size, undistortion to pinhole images (only where the lens terms
matter; else the photos are kept as they are), a world normalized for inverse rendering (see
:mod:`invrender.data.normalize`), and a report of how good the cameras are. Everything is built
in a temporary folder next to the output and renamed into place at the end, so a failure leaves
nothing half-written.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from invrender.data.cameras import mitsuba_to_opengl
from invrender.data.colmap import (
    OPENCV_TO_MITSUBA,
    cam_from_world_matrix,
    camera_from_colmap,
    intrinsics,
    opencv_c2w,
)
from invrender.data.normalize import apply_similarity, normalizing_similarity
from invrender.data.photo_inputs import PhotoSet, check_photos, open_upright, worker_count
from invrender.data.support_plane import KEY as SUPPORT_PLANE_KEY
from invrender.data.support_plane import plane_to_json, support_plane
from invrender.errors import DataError

CAMERA_MODELS = {"pinhole": "SIMPLE_PINHOLE", "radial": "SIMPLE_RADIAL", "opencv": "OPENCV"}
MATCHERS = ("auto", "exhaustive", "sequential")
# --matcher auto: exhaustive matching costs n^2 / 2 pairs (60 photos: 1770 pairs, minutes on two
# cores); above this many photos, sequential matching of each photo with its next neighbours.
# (COLMAP's vocabulary-tree matcher would suit unordered sets better, but it needs a vocabulary
# file that cannot be downloaded at run time here.)
AUTO_SEQUENTIAL_ABOVE = 60
SEQUENTIAL_OVERLAP = 10
# Photos smaller than this (long side, px) get too few SIFT features on a textured object to
# register; see SfmOptions.min_image_size.
SMALL_PHOTO = 800
# SIFT in COLMAP starts from the image upsampled 2x (first octave -1): a 1600 px copy becomes
# 3200 px, four times the pixels, for features finer than any the cameras need. Feature images
# at least this large (long side) start at their own size (octave 0). Measured on 24 photos of
# 12 MP (scripts/bench_capture.py --resize 4000x3000 --count 24, CPU time): features 33 -> 13 s,
# matching 20 -> 10 s, mapping 9 -> 5.5 s; rotation error 0.018 / 0.032 -> 0.021 / 0.036 deg
# (median / worst), centre 0.04 / 0.08 % either way. Smaller images keep the upsampled octave:
# they need its features.
FULL_SIZE_OCTAVE_FROM = 1600


@dataclass
class SfmOptions:
    camera_model: str = "radial"
    matcher: str = "auto"  # auto: exhaustive up to AUTO_SEQUENTIAL_ABOVE photos, else sequential
    distance: float = 4.0  # mean camera distance to the look-at point after normalization
    # Features come from a copy whose long side is at most this (px; 0: the photos' own size).
    # The cameras are scaled back to the photos' size; SfM's accuracy in the photos' pixels is
    # then a fraction of a pixel of the copy, far below what a few-hundred-pixel optimization sees.
    max_image_size: int = 1600
    # Photos whose long side is below SMALL_PHOTO get features from a copy upsampled to this
    # long side (0: never upsample, the default: measured with scripts/bench_sfm.py --small, a
    # textured object on black at 256 px registers 2 of 40 views either way; small photos that
    # fail to register get a one-line error saying how large photos must be instead).
    min_image_size: int = 0
    threads: int = -1
    seed: int = 0  # RANSAC and mapper seeds: the same photos give the same cameras
    progress: bool = True
    verbose: bool = False  # COLMAP's own log on stderr
    # Photos are undistorted (resampled, so slightly blurred) only when the estimated lens
    # distortion moves some border pixel by more than this; below it they are used as they are.
    max_lens_shift: float = 0.1
    # ... or when refitting without them raises the rms reprojection error by less than this
    # fraction: the lens terms then fit noise, not the lens.
    min_lens_gain: float = 0.02


@dataclass
class SfmReport:
    given: int
    registered: int
    reprojection_error: float  # px of the photos, mean over all observations
    points: int
    failed: dict[str, str] = field(default_factory=dict)  # photo -> reason
    camera: str = ""  # the recovered camera, in words
    features: str = ""  # the size features were found at, in words
    matcher: str = ""  # the matcher used, in words
    feature_scale: float = 1.0  # feature-image pixels per photo pixel
    seconds: dict[str, float] = field(default_factory=dict)  # stage -> wall time
    extra_rows: list[tuple[str, str]] = field(default_factory=list)  # e.g. the masks' stage
    masks: Any = None  # auto_masks.MasksReport with --masks auto
    lens_shift_px: float = 0.0  # the most the estimated distortion moves a border pixel
    resampled: bool = False  # photos undistorted (True) or used as they are (False)
    support_plane: bool = False  # a table under the object was found (transforms.json keeps it)
    out_dir: Path | None = None

    def table(self) -> str:
        rows = [
            ("views registered", f"{self.registered} / {self.given}"),
            ("mean reprojection error", f"{self.reprojection_error:.3f} px"),
            ("3-D points", str(self.points)),
            ("camera", self.camera),
        ]
        if self.features:
            rows.append(("features", self.features))
        if self.matcher:
            rows.append(("matching", self.matcher))
        rows.append(
            (
                "support plane",
                "found (a table under the object: the visual hull stops at it)"
                if self.support_plane
                else "none found (the visual hull may keep a cone under the object)",
            )
        )
        rows += self.extra_rows
        width = max(len(k) for k, _ in rows)
        lines = [f"{k:<{width}}  {v}" for k, v in rows]
        if self.failed:
            lines.append(f"{'failed photos':<{width}}  {len(self.failed)}")
            lines += [f"  {name}: {why}" for name, why in self.failed.items()]
        if self.masks is not None:
            lines += ["", self.masks.table()]
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        return {
            "views_given": self.given,
            "views_registered": self.registered,
            "mean_reprojection_error_px": self.reprojection_error,
            "points3D": self.points,
            "failed": self.failed,
            "camera": self.camera,
            "lens_shift_px": self.lens_shift_px,
            "resampled": self.resampled,
            "support_plane": self.support_plane,
            "features": self.features,
            "feature_scale": self.feature_scale,
            "matcher": self.matcher,
            "seconds": self.seconds,
        }


@contextlib.contextmanager
def staging_folder(out_dir: Path) -> Iterator[Path]:
    """A fresh temporary folder next to ``out_dir``, renamed to it on success, removed on error."""
    out_dir = Path(out_dir)
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise DataError(f"{out_dir}: already exists and is not empty (choose another --out)")
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_dir.parent / f".{out_dir.name}.partial-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        yield tmp
        if out_dir.exists():
            out_dir.rmdir()  # empty, checked above
        os.replace(tmp, out_dir)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def run_sfm(
    photos_dir: Path,
    out_dir: Path,
    masks_dir: Path | str | None = None,
    opts: SfmOptions | None = None,
) -> SfmReport:
    """Recover the cameras of ``photos_dir`` and write a dataset to ``out_dir``; ``masks_dir``
    is a folder of the user's masks, or "auto" for automatic ones (invrender.data.auto_masks)."""
    opts = opts or SfmOptions()
    if opts.camera_model not in CAMERA_MODELS:
        raise DataError(
            f"--camera-model {opts.camera_model}: use one of {', '.join(CAMERA_MODELS)}"
        )
    if opts.matcher not in MATCHERS:
        raise DataError(f"--matcher {opts.matcher}: use one of {', '.join(MATCHERS)}")
    if not opts.distance > 0:
        raise DataError(f"--distance {opts.distance}: must be positive")
    if opts.max_image_size < 0 or 0 < opts.max_image_size < 256:
        raise DataError(
            f"--max-image-size {opts.max_image_size}: use 0 (the photos' own size) or at least "
            "256 px (SIFT finds too little below)"
        )
    auto = str(masks_dir) == "auto"
    photos = check_photos(Path(photos_dir), Path(masks_dir) if masks_dir and not auto else None)
    with staging_folder(Path(out_dir)) as tmp:
        report = _reconstruct(photos, tmp, opts)
        if auto:
            from invrender.data.auto_masks import masks_for_dataset

            report.masks = masks_for_dataset(tmp, progress=opts.progress)
            report.extra_rows.append(("masks", report.masks.summary()))
    report.out_dir = Path(out_dir)
    return report


def _quiet_colmap(verbose: bool) -> None:
    import pycolmap

    pycolmap.logging.minloglevel = 0 if verbose else 2
    pycolmap.logging.stderrthreshold = 0 if verbose else 2


def feature_scale(width: int, height: int, opts: SfmOptions) -> float:
    """Feature-image pixels per photo pixel: < 1 for photos larger than ``max_image_size``,
    > 1 for photos smaller than SMALL_PHOTO (upsampled to ``min_image_size``), else 1."""
    long_side = max(width, height)
    if opts.max_image_size and long_side > opts.max_image_size:
        return opts.max_image_size / long_side
    if opts.min_image_size and long_side < SMALL_PHOTO:
        return max(opts.min_image_size, long_side) / long_side
    return 1.0


def choose_matcher(n: int, matcher: str) -> tuple[str, str]:
    """(matcher, in words) for ``n`` photos: ``auto`` is exhaustive up to AUTO_SEQUENTIAL_ABOVE
    photos, sequential above (photos then must be named in the order they were taken)."""
    if matcher == "exhaustive":
        return matcher, f"exhaustive ({n * (n - 1) // 2} pairs)"
    if matcher == "sequential":
        return matcher, f"sequential (each photo with its next {SEQUENTIAL_OVERLAP}, by name)"
    if n <= AUTO_SEQUENTIAL_ABOVE:
        return "exhaustive", f"exhaustive ({n * (n - 1) // 2} pairs)"
    return "sequential", (
        f"sequential (each photo with its next {SEQUENTIAL_OVERLAP}, by name: more than "
        f"{AUTO_SEQUENTIAL_ABOVE} photos, so they must be named in capture order; "
        "--matcher exhaustive matches every pair)"
    )


def prepare_photos(photos: PhotoSet, work: Path, scale: float) -> tuple[Path, Path]:
    """(folder SfM reads features from, folder of the upright full-size photos).

    Both are ``photos.folder`` when no photo carries an EXIF rotation and ``scale`` is 1; else
    working copies under ``work`` with the photos' names (JPEGs re-encoded at quality 95)."""
    from PIL import Image

    full = photos.folder
    if photos.rotated:
        full = work / "upright"
        full.mkdir()
        for name in photos.names:
            if name in photos.rotated:
                _save_like(open_upright(photos.folder / name), full / name)
            else:
                shutil.copy2(photos.folder / name, full / name)
    if scale == 1.0:
        return full, full
    feats = work / "feature_images"
    feats.mkdir()
    size = (round(photos.width * scale), round(photos.height * scale))

    def copy(name: str) -> None:
        with Image.open(photos.folder / name) as raw:
            if scale < 1 and not photos.rotated:
                # JPEG: decode at 1/2, 1/4 or 1/8 size straight from the DCT (much faster).
                raw.draft("RGB", size)
            im = open_upright(photos.folder / name) if name in photos.rotated else raw.copy()
        im = im.convert("RGB")
        resample = Image.Resampling.LANCZOS if scale < 1 else Image.Resampling.BICUBIC
        _save_like(im.resize(size, resample, reducing_gap=3.0 if scale < 1 else None), feats / name)

    # Pillow decodes, resizes and encodes without the GIL: one photo per core.
    with ThreadPoolExecutor(worker_count()) as pool:
        list(pool.map(copy, photos.names))
    return feats, full


def _save_like(im: Any, path: Path) -> None:
    """Save in the format the file name says (JPEG at quality 95, no chroma subsampling)."""
    if path.suffix.lower() in (".jpg", ".jpeg"):
        im.convert("RGB").save(path, quality=95, subsampling=0)
    else:
        im.save(path)


def rescale_model(rec: Any, width: int, height: int) -> tuple[float, float]:
    """Scale a reconstruction found on feature images to photos of ``width`` x ``height`` (in
    place): cameras (focal length, principal point, size) and 2-D observations; lens terms are
    in normalized coordinates and stay. Returns the (x, y) factors applied."""
    sx = sy = 1.0
    for cam in rec.cameras.values():
        sx, sy = width / cam.width, height / cam.height
        cam.rescale(width, height)
    factor = np.array([sx, sy])
    for im in rec.images.values():
        for p in im.points2D:
            p.xy = np.asarray(p.xy) * factor
    return sx, sy


def _reconstruct(photos: PhotoSet, tmp: Path, opts: SfmOptions) -> SfmReport:
    import time

    import pycolmap
    from tqdm import tqdm

    _quiet_colmap(opts.verbose)
    work = tmp / "work"
    work.mkdir()
    db = work / "database.db"
    n = len(photos.names)
    seconds: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(stage: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        seconds[stage] = seconds.get(stage, 0.0) + now - clock
        clock = now

    def bar(desc: str, total: int) -> tqdm:
        return tqdm(total=total, desc=desc, unit="step", disable=not opts.progress, leave=True)

    scale = feature_scale(photos.width, photos.height, opts)
    feature_dir, full_dir = prepare_photos(photos, work, scale)
    fw, fh = round(photos.width * scale), round(photos.height * scale)
    features = (
        f"{fw}x{fh} (photos {photos.width}x{photos.height} "
        + ("downscaled" if scale < 1 else "upsampled" if scale > 1 else "as they are")
        + ")"
        + (f"; {len(photos.rotated)} photo(s) turned upright by EXIF" if photos.rotated else "")
    )
    lap("prepare")
    reader = pycolmap.ImageReaderOptions()
    reader.camera_model = CAMERA_MODELS[opts.camera_model]
    extraction = pycolmap.FeatureExtractionOptions()
    extraction.num_threads = opts.threads
    if scale != 1.0:  # our copy is already the size we want: COLMAP must not resize it again
        extraction.max_image_size = max(fw, fh)
    if max(fw, fh) >= FULL_SIZE_OCTAVE_FROM:
        extraction.sift.first_octave = 0
        features += f"; SIFT from octave 0 (not upsampled: {FULL_SIZE_OCTAVE_FROM} px or more)"
    device = pycolmap.Device.cpu
    with bar("features", n) as b:
        # COLMAP extracts the photos of one call in parallel, one photo per thread: calls of a
        # few photos each use every core and still keep a live bar. The single camera is
        # created by the first call and reused through existing_camera_id.
        chunk = 2 * worker_count(opts.threads)
        for start in range(0, n, chunk):
            names = photos.names[start : start + chunk]
            pycolmap.extract_features(
                db,
                feature_dir,
                image_names=names,
                camera_mode=pycolmap.CameraMode.SINGLE,
                reader_options=reader,
                extraction_options=extraction,
                device=device,
            )
            reader.existing_camera_id = 1
            b.update(len(names))
    lap("features")
    pycolmap.set_random_seed(opts.seed)
    verification = pycolmap.TwoViewGeometryOptions()
    verification.ransac.random_seed = opts.seed
    matcher, matcher_words = choose_matcher(n, opts.matcher)
    with bar(f"matching ({matcher})", 1) as b:
        if matcher == "exhaustive":
            pycolmap.match_exhaustive(db, verification_options=verification, device=device)
        else:
            pairing = pycolmap.SequentialPairingOptions()
            pairing.overlap = SEQUENTIAL_OVERLAP
            pairing.loop_detection = False  # needs a vocabulary tree file
            pycolmap.match_sequential(
                db, pairing_options=pairing, verification_options=verification, device=device
            )
        b.update()
    lap("matching")
    mapping = pycolmap.IncrementalPipelineOptions()
    mapping.num_threads = opts.threads
    mapping.random_seed = opts.seed
    mapping.mapper.random_seed = opts.seed
    mapping.triangulation.random_seed = opts.seed
    mapping.multiple_models = False
    with bar("mapping", n) as b:

        def step() -> None:
            b.update()

        models = pycolmap.incremental_mapping(
            db,
            feature_dir,
            work / "sparse",
            options=mapping,
            next_image_callback=step,
        )
    lap("mapping")
    rec = max(models.values(), key=lambda r: r.num_reg_images()) if models else None
    registered = {im.name for im in rec.images.values() if im.has_pose} if rec else set()
    failed = _failure_reasons(db, photos.names, registered)
    if len(registered) * 2 < n or len(registered) < 3:
        shown = ", ".join(list(failed)[:6]) + (" ..." if len(failed) > 6 else "")
        hint = (
            "try --matcher exhaustive"
            if matcher == "sequential"
            else "try --matcher sequential for a video-like sequence"
        )
        if opts.camera_model == "opencv":  # 8 lens parameters: the hardest model to start
            hint = "try --camera-model radial (fewer lens parameters), or " + hint.removeprefix(
                "try "
            )
        raise DataError(
            f"{photos.folder}: only {len(registered)} of {n} photos registered (not: {shown}); "
            f"{hint}, or take photos with more overlap and texture"
            + (
                f" (photos of {max(photos.width, photos.height)} px are small: take them at "
                f"{SMALL_PHOTO} px or more on the long side)"
                if max(photos.width, photos.height) < SMALL_PHOTO
                else ""
            )
        )
    assert rec is not None  # fewer than 3 registered photos stopped above
    # Everything from here on works in the photos' own pixels.
    rescale_model(rec, photos.width, photos.height)
    model_dir = work / "model"
    model_dir.mkdir()
    rec.write(str(model_dir))
    dist_cam = next(iter(rec.cameras.values()))
    shift = lens_shift_px(dist_cam)
    with bar("undistort", 1) as b:
        undist = None
        if shift <= opts.max_lens_shift:
            # The lens moves no pixel by a visible amount: resampling would only blur the
            # photos. Keep them bit for bit, with the camera as the pinhole of the same focal
            # length and principal point.
            undist = pycolmap.Reconstruction(str(model_dir))
            for cam in undist.cameras.values():
                _as_pinhole(cam)
            lens = f"lens shift {shift:.3f} px at most"
        else:
            undist, lens = _pinhole_if_it_fits(model_dir, shift, opts.min_lens_gain, opts.verbose)
        if undist is not None:
            undist_images, resampled = full_dir, False
        else:
            undist = undistort_full_size(model_dir, full_dir, work / "undistorted")
            undist_images, resampled = work / "undistorted" / "images", True
        b.update()
    lap("undistort")
    with bar("write", 1) as b:
        plane = _write_dataset(tmp, photos, rec, undist, undist_images, opts, resampled)
        b.update()
    shutil.rmtree(work)
    lap("write")
    cam = next(iter(undist.cameras.values()))
    fx = float(cam.params[0])
    fov = math.degrees(2 * math.atan(cam.width / (2 * fx)))
    return SfmReport(
        given=n,
        registered=len(registered),
        reprojection_error=float(rec.compute_mean_reprojection_error()),
        points=int(rec.num_points3D()),
        failed=failed,
        camera=f"{CAMERA_MODELS[opts.camera_model]} -> pinhole {cam.width}x{cam.height}, "
        f"f = {fx:.1f} px (fov x {fov:.2f} deg); {lens}: "
        + ("photos undistorted" if resampled else "photos used as they are (not resampled)"),
        lens_shift_px=shift,
        resampled=resampled,
        support_plane=plane,
        features=features,
        matcher=matcher_words,
        feature_scale=scale,
        seconds=seconds,
    )


def undistort_full_size(model_dir: Path, images: Path, out: Path) -> Any:
    """Undistort the photos of ``model_dir`` into ``out/images`` at their own size (no crop to
    the valid region, no rescale: focal length and principal point stay); the pinhole model."""
    import pycolmap

    undistort = pycolmap.UndistortCameraOptions()
    undistort.min_scale = undistort.max_scale = 1.0
    pycolmap.undistort_images(
        out,
        model_dir,
        images,
        copy_policy=pycolmap.FileCopyType.copy,
        undistort_options=undistort,
    )
    return pycolmap.Reconstruction(str(out / "sparse"))


def lens_shift_px(cam: Any, samples: int = 64) -> float:
    """The largest distance (px) by which ``cam``'s lens distortion moves a pixel of the image
    border, against the pinhole camera of the same focal length and principal point (radial
    distortion grows outwards, so the border bounds the whole image)."""
    w, h = float(cam.width), float(cam.height)
    t = np.linspace(0.0, 1.0, samples)
    border = np.concatenate(
        [
            np.stack([t * w, np.zeros_like(t)], 1),
            np.stack([t * w, np.full_like(t, h)], 1),
            np.stack([np.zeros_like(t), t * h], 1),
            np.stack([np.full_like(t, w), t * h], 1),
        ]
    )
    rays = np.asarray(cam.cam_from_img(border), dtype=np.float64)
    fx, fy = float(cam.focal_length_x), float(cam.focal_length_y)
    cx, cy = float(cam.principal_point_x), float(cam.principal_point_y)
    pinhole = np.stack([fx * rays[:, 0] + cx, fy * rays[:, 1] + cy], 1)
    if not np.isfinite(pinhole).all():  # the lens model does not invert there: far from pinhole
        return math.inf
    return float(np.linalg.norm(pinhole - border, axis=1).max())


def _pinhole_if_it_fits(
    model_dir: Path, shift: float, min_gain: float, verbose: bool = False
) -> tuple[Any | None, str]:
    """Refit the model with a distortion-free camera; the pinhole reconstruction when the lens
    terms explain the observations by less than ``min_gain`` (relative rms reprojection error),
    else None.

    An effect size, not a likelihood test: with thousands of SIFT observations whose errors are
    correlated, a spurious lens term is always "significant" (BIC keeps a k that lowers the rms
    by 0.1 %), while a real lens that moves border pixels by a pixel raises the pinhole's error
    by far more than a few per cent."""
    import pycolmap

    ba = pycolmap.BundleAdjustmentOptions()
    ba.print_summary = verbose
    rms = {}
    pinhole = None
    for name in ("lens", "pinhole"):
        rec = pycolmap.Reconstruction(str(model_dir))
        if name == "pinhole":
            for cam in rec.cameras.values():
                _as_pinhole(cam)
            pinhole = rec
        config = pycolmap.BundleAdjustmentConfig()
        for image_id, image in rec.images.items():
            if image.has_pose:
                config.add_image(image_id)
        config.fix_gauge(pycolmap.BundleAdjustmentGauge.THREE_POINTS)
        # The adjuster itself, not pycolmap.bundle_adjustment: that one logs whatever the level.
        pycolmap.create_default_bundle_adjuster(ba, config, rec).solve()
        rss, n = _reprojection_rss(rec)
        rms[name] = math.sqrt(rss / n)
    why = (
        f"lens shift {shift:.3f} px at most, rms reprojection {rms['lens']:.4f} px "
        f"vs {rms['pinhole']:.4f} px without it"
    )
    if rms["pinhole"] > (1.0 + min_gain) * rms["lens"]:
        return None, why
    return pinhole, why + " (lens terms dropped)"


def _reprojection_rss(rec: Any) -> tuple[float, int]:
    """Sum of squared reprojection residuals (px^2) and the number of residuals (2 per
    observation)."""
    rss, n = 0.0, 0
    for im in rec.images.values():
        if not im.has_pose:
            continue
        for p in im.points2D:
            if not p.has_point3D():
                continue
            proj = im.project_point(rec.points3D[p.point3D_id].xyz)
            if proj is None:
                continue
            rss += float(np.sum((np.asarray(proj) - np.asarray(p.xy)) ** 2))
            n += 2
    return rss, max(n, 1)


def _as_pinhole(cam: Any) -> None:
    """Turn ``cam`` (in place) into the pinhole camera of its focal length and principal point."""
    import pycolmap

    fx, fy = float(cam.focal_length_x), float(cam.focal_length_y)
    cx, cy = float(cam.principal_point_x), float(cam.principal_point_y)
    if fx == fy:
        cam.model, cam.params = pycolmap.CameraModelId.SIMPLE_PINHOLE, [fx, cx, cy]
    else:
        cam.model, cam.params = pycolmap.CameraModelId.PINHOLE, [fx, fy, cx, cy]


def _failure_reasons(db_path: Path, names: list[str], registered: set[str]) -> dict[str, str]:
    """Why each photo was left out: its SIFT features and verified matches, from the database."""
    import pycolmap

    db = pycolmap.Database.open(str(db_path))
    try:
        ids = {im.name: im.image_id for im in db.read_all_images()}
        inliers: dict[int, int] = {}
        pair_ids, geometries = db.read_two_view_geometries()
        for pid, g in zip(pair_ids, geometries, strict=True):
            a, b = pycolmap.pair_id_to_image_pair(pid)
            k = len(g.inlier_matches)
            for i in (a, b):
                inliers[i] = inliers.get(i, 0) + (k > 0)
        out = {}
        for name in names:
            if name in registered:
                continue
            iid = ids.get(name)
            feats = db.num_keypoints_for_image(iid) if iid is not None else 0
            pairs = inliers.get(iid, 0) if iid is not None else 0
            if feats < 100:
                why = f"{feats} features (too little texture, blur or exposure?)"
            elif pairs == 0:
                why = f"{feats} features, no verified match with another photo"
            else:
                why = f"{feats} features, matched {pairs} photo(s), pose not found by the mapper"
            out[name] = why
        return out
    finally:
        db.close()


def _write_dataset(
    tmp: Path,
    photos: PhotoSet,
    rec: Any,
    undist: Any,
    undist_images: Path,
    opts: SfmOptions,
    resampled: bool = True,
) -> bool:
    """images/, masks/, colmap/ (undistorted model, COLMAP's world) and transforms.json; True
    when a support plane (the table) was found and written."""
    images = sorted((im for im in undist.images.values() if im.has_pose), key=lambda im: im.name)
    w2c = [cam_from_world_matrix(im) for im in images]
    sim = normalizing_similarity([opencv_c2w(m) for m in w2c], opts.distance)
    (tmp / "images").mkdir()
    for im in images:
        shutil.copy2(undist_images / im.name, tmp / "images" / im.name)
    (tmp / "colmap").mkdir()
    undist.write(str(tmp / "colmap"))
    if photos.masks:
        (tmp / "masks").mkdir()
    frames, to_worlds = [], []
    for im, m in zip(images, w2c, strict=True):
        cam = undist.cameras[im.camera_id]
        camera = camera_from_colmap(cam, m, f"{tmp}: image {im.name}")
        to_world = apply_similarity(sim, opencv_c2w(m)) @ OPENCV_TO_MITSUBA
        to_worlds.append(to_world)
        fx, fy, cx, cy = intrinsics(cam, str(im.name))
        frame = {
            "file_path": f"images/{im.name}",
            "camera_angle_x": camera.camera_angle_x,
            "fl_x": fx,
            "fl_y": fy,
            "cx": cx,
            "cy": cy,
            "w": int(cam.width),
            "h": int(cam.height),
            "transform_matrix": mitsuba_to_opengl(to_world).tolist(),
        }
        if photos.masks:
            mask_name = f"masks/{Path(im.name).stem}.png"
            if resampled:
                dist_cam = rec.cameras[rec.find_image_with_name(im.name).camera_id]
                _undistort_mask(photos.masks[im.name], dist_cam, cam, tmp / mask_name)
            else:
                _copy_mask(photos.masks[im.name], tmp / mask_name)
            frame["mask_path"] = mask_name
        frames.append(frame)
    meta = {
        "camera_angle_x": frames[0]["camera_angle_x"],
        "w": frames[0]["w"],
        "h": frames[0]["h"],
        "frames": frames,
        "invrender_normalization": {
            "note": "x_dataset = colmap_to_dataset @ x_colmap, a similarity (colmap/ keeps "
            "COLMAP's world); cameras at mean distance 'distance' from the origin, +Y up",
            "distance": opts.distance,
            "scale": float(np.cbrt(np.linalg.det(sim[:3, :3]))),
            "colmap_to_dataset": sim.tolist(),
            "dataset_to_colmap": np.linalg.inv(sim).tolist(),
        },
    }
    points = np.asarray([p.xyz for p in rec.points3D.values()], dtype=np.float64).reshape(-1, 3)
    plane = support_plane(
        points @ sim[:3, :3].T + sim[:3, 3],
        to_worlds,
    )
    if plane is not None:
        meta[SUPPORT_PLANE_KEY] = plane_to_json(plane)
    (tmp / "transforms.json").write_text(json.dumps(meta, indent=2))
    return plane is not None


def _copy_mask(src: Path, dst: Path) -> None:
    """The mask as it is (one grey channel, PNG): its photo is not resampled either."""
    open_upright(src, "L").save(dst)


def _undistort_mask(src: Path, dist_cam: Any, pinhole_cam: Any, dst: Path) -> None:
    """Resample a mask from the distorted photo into the undistorted pinhole image (bilinear)."""
    from PIL import Image

    mask = np.asarray(open_upright(src, "L"), dtype=np.float64) / 255.0
    w, h = int(pinhole_cam.width), int(pinhole_cam.height)
    xs, ys = np.meshgrid(np.arange(w) + 0.5, np.arange(h) + 0.5)
    pix = np.stack([xs.ravel(), ys.ravel()], axis=1)
    rays = pinhole_cam.cam_from_img(pix)
    pts = np.concatenate([rays, np.ones((len(rays), 1))], axis=1)
    src_pix = dist_cam.img_from_cam(pts, check_cheirality=False) - 0.5
    out = _bilinear(mask, src_pix[:, 0], src_pix[:, 1]).reshape(h, w)
    Image.fromarray(np.round(out * 255).astype(np.uint8), mode="L").save(dst)


def _bilinear(img: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    h, w = img.shape
    x, y = np.clip(x, 0, w - 1), np.clip(y, 0, h - 1)
    x0, y0 = np.floor(x).astype(int), np.floor(y).astype(int)
    x1, y1 = np.minimum(x0 + 1, w - 1), np.minimum(y0 + 1, h - 1)
    fx, fy = x - x0, y - y0
    top = img[y0, x0] * (1 - fx) + img[y0, x1] * fx
    bottom = img[y1, x0] * (1 - fx) + img[y1, x1] * fx
    return top * (1 - fy) + bottom * fy
