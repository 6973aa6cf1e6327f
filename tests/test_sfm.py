"""`invrender cameras`: structure from motion on rendered photos whose true cameras are known,
and every bad input as one line, exit code 2 and no output folder."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image  # at the top: PIL saving PNGs after a first import of pycolmap can crash

from invrender.cli.main import main
from invrender.data.support_plane import plane_from_json
from invrender.data.transforms import read_transforms
from invrender.geometry.planes import height_above
from tests.photo_helpers import camera_errors, photo_cameras, render_photos


def run(*args) -> object:
    return CliRunner().invoke(main, [str(a) for a in args])


def assert_cameras_match(dataset: Path, truth, n: int) -> dict[str, float]:
    frames = read_transforms(dataset / "transforms.json")
    assert len(frames) == n
    assert [f.image.name for f in frames] == [f"photo_{i:03d}.png" for i in range(n)]
    errs = camera_errors([f.camera for f in frames], truth)
    assert errs["rotation_deg"] <= 0.5, errs
    assert errs["centre_frac"] <= 0.01, errs
    assert errs["focal_rel"] <= 0.01, errs
    return errs


@pytest.fixture(scope="module")
def small_set(tmp_path_factory, variant) -> tuple[Path, Path, list]:
    """20 photos at 256x192 (+ masks of the central sphere): the fast suite's SfM input
    (12 leave too little overlap for the mapper, 16 pass with a small margin)."""
    root = tmp_path_factory.mktemp("photos")
    cams = photo_cameras(20, 256, 192)
    render_photos(root / "photos", cams, spp=16, mask_folder=root / "masks")
    return root / "photos", root / "masks", cams


def test_cameras_recovers_the_true_cameras_fast(small_set, tmp_path):
    """The default lens model (radial) on photos from a pinhole camera: the estimated
    distortion is far below a pixel, so the photos are kept bit for bit (no resampling, no crop)
    and the camera is written as a pinhole."""
    photos, masks, truth = small_set
    out = tmp_path / "dataset"
    res = run("cameras", photos, "--out", out, "--masks", masks)
    assert res.exit_code == 0, res.output
    assert "views registered         20 / 20" in res.output
    assert "photos used as they are (not resampled)" in res.output
    for src in sorted(photos.iterdir()):
        assert (out / "images" / src.name).read_bytes() == src.read_bytes(), src.name
    meta = json.loads((out / "transforms.json").read_text())
    assert {(f["w"], f["h"]) for f in meta["frames"]} == {(256, 192)}
    assert "mean reprojection error" in res.output
    assert_cameras_match(out, truth, 20)
    norm = meta["invrender_normalization"]
    centres = np.array([np.array(f["transform_matrix"])[:3, 3] for f in meta["frames"]])
    assert abs(np.linalg.norm(centres, axis=1).mean() - 4.0) < 0.2  # look-at point at the origin
    assert centres[:, 1].min() > 0  # +Y up: every camera is above the floor
    assert np.allclose(np.array(norm["colmap_to_dataset"]) @ norm["dataset_to_colmap"], np.eye(4))
    assert sorted(p.name for p in (out / "masks").iterdir()) == sorted(
        p.name for p in masks.iterdir()
    )
    assert (out / "colmap" / "cameras.bin").is_file()
    assert not list(tmp_path.glob(".dataset.partial*"))
    # The floor under the object is kept as the support plane: each camera's height above it is
    # its true height above the floor (y = -0.45) times the normalization's one scale.
    assert "support plane            found" in res.output
    plane = plane_from_json(meta, "transforms.json")
    assert plane is not None
    ratio = height_above(centres, plane) / np.array([c.to_world[1, 3] + 0.45 for c in truth])
    assert ratio.std() / ratio.mean() < 0.01, ratio


@pytest.mark.slow
def test_cameras_acceptance_24_views(tmp_path, variant):
    """The issue's acceptance: 24 views at 320x240, default lens model (radial)."""
    truth = photo_cameras(24, 320, 240)
    render_photos(tmp_path / "photos", truth, spp=32)
    res = run("cameras", tmp_path / "photos", "--out", tmp_path / "ds")
    assert res.exit_code == 0, res.output
    assert "views registered         24 / 24" in res.output
    errs = assert_cameras_match(tmp_path / "ds", truth, 24)
    print(errs)


def bad_inputs(small_set, tmp: Path) -> dict[str, tuple[list, str]]:
    """Each case: (extra CLI args, expected message fragment); the photo folder is built here."""
    photos, masks, _ = small_set
    cases = {}

    def folder(name: str, files: list[Path] = ()) -> Path:
        d = tmp / name
        d.mkdir()
        for f in files:
            shutil.copy(f, d / f.name)
        return d

    all_photos = sorted(photos.iterdir())
    cases["empty"] = ([folder("empty")], "no photos found")
    cases["two"] = ([folder("two", all_photos[:2])], "needs at least 3")
    mixed = folder("mixed", all_photos[:4])

    Image.open(all_photos[4]).resize((128, 96)).save(mixed / "small.png")
    cases["mixed"] = ([mixed], "photos differ in size")
    broken = folder("broken", all_photos[:4])
    (broken / "bad.png").write_bytes(all_photos[5].read_bytes()[:300])
    cases["unreadable"] = ([broken], "cannot read 1 photo(s): bad.png")
    few_masks = folder("few_masks", sorted(masks.iterdir())[:-1])
    cases["mask_names"] = ([photos, "--masks", few_masks], "no mask for photo_019.png")
    sized = folder("sized_masks", sorted(masks.iterdir()))
    Image.open(sized / "photo_003.png").resize((64, 48)).save(sized / "photo_003.png")
    cases["mask_size"] = ([photos, "--masks", sized], "mask is 64x48 but photo")
    rng = np.random.default_rng(1)
    noise = folder("noise")
    for i in range(6):  # unrelated random images: nothing to match
        Image.fromarray((rng.random((120, 160, 3)) * 255).astype(np.uint8)).save(
            noise / f"n{i}.png"
        )
    cases["unregistered"] = ([noise, "--matcher", "sequential"], "try --matcher exhaustive")
    return cases


def test_bad_inputs_are_one_line_exit_2_and_write_nothing(small_set, tmp_path):
    for name, (args, expected) in bad_inputs(small_set, tmp_path).items():
        out = tmp_path / f"out_{name}"
        res = run("cameras", *args, "--out", out, "--quiet")
        assert res.exit_code == 2, (name, res.output)
        lines = [ln for ln in res.output.splitlines() if ln.strip()]
        assert len(lines) == 1 and lines[0].startswith("error: "), (name, res.output)
        assert expected in lines[0], (name, lines[0])
        assert "Traceback" not in res.output
        assert not out.exists(), name
        assert not list(tmp_path.glob(f".out_{name}.partial*")), name


def test_existing_output_folder_is_not_overwritten(small_set, tmp_path):
    photos, _, _ = small_set
    (tmp_path / "ds").mkdir()
    (tmp_path / "ds" / "keep.txt").write_text("mine")
    res = run("cameras", photos, "--out", tmp_path / "ds", "--quiet")
    assert res.exit_code == 2 and "already exists" in res.output
    assert (tmp_path / "ds" / "keep.txt").read_text() == "mine"


def test_lens_shift_is_measured_on_the_image_border():
    import pycolmap

    from invrender.data.sfm import lens_shift_px

    def cam(k: float):
        return pycolmap.Camera(
            model="SIMPLE_RADIAL", width=320, height=240, params=[300.0, 160.0, 120.0, k]
        )

    assert lens_shift_px(cam(0.0)) < 1e-9
    # Radial shift at the corner (r = 200 px): k (r / f)^2 r to first order.
    for k in (1e-3, -1e-3, 2e-2):
        assert lens_shift_px(cam(k)) == pytest.approx(abs(k) * (200 / 300) ** 2 * 200, rel=0.1)


def test_a_real_lens_is_undistorted_at_full_size(tmp_path):
    """Distortion the data support is undistorted, keeping the photo's size and intrinsics
    (no crop to the valid region)."""
    import pycolmap

    from invrender.data.sfm import undistort_full_size

    (tmp_path / "img").mkdir()
    (tmp_path / "model").mkdir()
    pixels = (np.random.default_rng(0).random((48, 64, 3)) * 255).astype(np.uint8)
    Image.fromarray(pixels).save(tmp_path / "img" / "a.png")
    rec = pycolmap.Reconstruction()
    cam = pycolmap.Camera(model="SIMPLE_RADIAL", width=64, height=48, params=[60, 32, 24, 0.1])
    cam.camera_id = 1
    rec.add_camera_with_trivial_rig(cam)
    rec.add_image_with_trivial_frame(
        pycolmap.Image(name="a.png", camera_id=1, image_id=1), pycolmap.Rigid3d()
    )
    rec.write(str(tmp_path / "model"))
    out = undistort_full_size(tmp_path / "model", tmp_path / "img", tmp_path / "out")
    pinhole = out.cameras[1]
    assert (pinhole.width, pinhole.height) == (64, 48)
    assert list(pinhole.params) == pytest.approx([60, 60, 32, 24])
    with Image.open(tmp_path / "out" / "images" / "a.png") as im:
        assert im.size == (64, 48)
        assert not np.array_equal(np.asarray(im.convert("RGB")), pixels)  # resampled


def synthetic_model(folder: Path, k: float, seed: int = 0) -> None:
    """A COLMAP model of 6 views of 400 points seen through a SIMPLE_RADIAL lens with
    coefficient ``k``, observations with 0.3 px noise."""
    import pycolmap

    rng = np.random.default_rng(seed)
    cam = pycolmap.Camera(model="SIMPLE_RADIAL", width=320, height=240, params=[300, 160, 120, k])
    cam.camera_id = 1
    rec = pycolmap.Reconstruction()
    rec.add_camera_with_trivial_rig(cam)
    pts = rng.uniform(-1.8, 1.8, (400, 3))
    for i in range(6):
        a = 2 * np.pi * i / 12
        centre = np.array([4 * np.sin(a), 0.3 * i - 0.8, -4 * np.cos(a)])
        z = -centre / np.linalg.norm(centre)
        x = np.cross([0.0, 1.0, 0.0], z)
        x /= np.linalg.norm(x)
        r = np.stack([x, np.cross(z, x), z])
        xy = cam.img_from_cam((pts - centre) @ r.T) + rng.normal(0, 0.3, (len(pts), 2))
        im = pycolmap.Image(name=f"{i}.png", camera_id=1, image_id=i + 1)
        im.points2D = pycolmap.Point2DList([pycolmap.Point2D(p) for p in xy])
        rec.add_image_with_trivial_frame(im, pycolmap.Rigid3d(pycolmap.Rotation3d(r), -r @ centre))
    for j, p in enumerate(pts):
        track = pycolmap.Track()
        for i in range(6):
            track.add_element(i + 1, j)
        rec.add_point3D(p, track)
    folder.mkdir(parents=True)
    rec.write(str(folder))


def test_lens_terms_are_kept_only_where_the_observations_need_them(tmp_path):
    """A pinhole refit that fits as well drops the lens (k = 0: its estimate fits noise);
    a real lens (k = 0.02, about 1.8 px at the corners) raises the pinhole's error well above
    2 % and is kept."""
    from invrender.data.sfm import _pinhole_if_it_fits

    synthetic_model(tmp_path / "k0", 0.0)
    pinhole, why = _pinhole_if_it_fits(tmp_path / "k0", 1.0, 0.02)
    assert pinhole is not None and "lens terms dropped" in why
    assert next(iter(pinhole.cameras.values())).model_name == "SIMPLE_PINHOLE"
    synthetic_model(tmp_path / "k2", 0.02)
    pinhole, why = _pinhole_if_it_fits(tmp_path / "k2", 1.8, 0.02)
    assert pinhole is None and "dropped" not in why, why
