"""Automatic object masks (issue 26): GrabCut seeded by 3-D points, made consistent by a hull;
`invrender masks` on a dataset; user masks win; EXIF-rotated photos; SfM on a downscaled copy
keeps the photos' intrinsics."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image  # at the top: PIL saving PNGs after a first import of pycolmap can crash

from invrender.cli.main import main
from invrender.data.transforms import read_transforms, write_transforms
from tests.mask_helpers import read_masks, render_capture, seed_points
from tests.photo_helpers import camera_errors, photo_cameras, render_photos


def run(*args) -> object:
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture(scope="module")
def capture(tmp_path_factory, variant):
    """16 views at 256x192 of a textured sphere on a textured floor, true masks, seed points."""
    root = tmp_path_factory.mktemp("capture")
    photos, true_masks, cams, scene = render_capture(root)
    points, seen = seed_points(scene, cams)
    return photos, true_masks, cams, points, seen


def test_masks_from_true_cameras_and_points_match_the_true_masks(capture):
    """The mask stage alone (no SfM): true cameras and points that SfM would give."""
    from invrender.data.auto_masks import MaskView, auto_masks, iou

    photos, true_masks, cams, points, seen = capture
    images = [np.asarray(Image.open(p).convert("RGB")) for p in sorted(photos.iterdir())]
    views = [
        MaskView(f"v{i}", c, im, s)
        for i, (c, im, s) in enumerate(zip(cams, images, seen, strict=True))
    ]
    results, labels = auto_masks(views, points)
    assert labels.plane is not None  # the floor
    assert labels.object[:400].mean() > 0.8 and not labels.object[400:].any()
    ious = [iou(r.mask, t) for r, t in zip(results, read_masks(true_masks), strict=True)]
    print("IoU vs true masks", np.round(ious, 3), "median", np.median(ious))
    assert np.median(ious) >= 0.9, ious
    assert min(ious) >= 0.8, ious
    assert all(r.iou > 0.8 for r in results)  # confidence agrees


def dataset_from_truth(folder: Path, photos: Path, cams: list) -> Path:
    """A transforms.json dataset with the true cameras and no COLMAP model."""
    (folder / "images").mkdir(parents=True)
    names = []
    for p in sorted(photos.iterdir()):
        (folder / "images" / p.name).write_bytes(p.read_bytes())
        names.append(f"images/{p.name}")
    write_transforms(folder / "transforms.json", cams, names)
    return folder


def test_masks_command_writes_masks_sheet_and_mask_paths(capture, tmp_path):
    """Without SfM points (no colmap/), seeds come from the look-at centre alone."""
    from invrender.data.auto_masks import iou

    photos, true_masks, cams, _, _ = capture
    ds = dataset_from_truth(tmp_path / "ds", photos, cams)
    res = run("masks", ds, "--quiet")
    assert res.exit_code == 0, res.output
    assert "IoU vs hull" in res.output and "median IoU vs hull" in res.output
    assert sorted(p.name for p in (ds / "masks").iterdir()) == sorted(
        p.name for p in photos.iterdir()
    )
    with Image.open(ds / "masks.png") as sheet:
        assert sheet.size[0] > 400
    meta = json.loads((ds / "transforms.json").read_text())
    assert all(f["mask_path"].startswith("masks/") for f in meta["frames"])
    assert meta["invrender_masks"]["source"] == "auto"
    ious = [
        iou(a, t) for a, t in zip(read_masks(ds / "masks"), read_masks(true_masks), strict=True)
    ]
    print("IoU vs true masks, no points", np.round(ious, 3), "median", np.median(ious))
    assert np.median(ious) >= 0.9, ious
    # Running again replaces its own masks; init then picks masks: files.
    assert run("masks", ds, "--quiet").exit_code == 0
    res = run("init", ds, "--out", tmp_path / "my.yaml")
    assert res.exit_code == 0, res.output
    assert "masks: files" in (tmp_path / "my.yaml").read_text()


def test_user_masks_win(capture, tmp_path):
    photos, true_masks, cams, _, _ = capture
    ds = dataset_from_truth(tmp_path / "ds", photos, cams)
    meta = json.loads((ds / "transforms.json").read_text())
    (ds / "mine").mkdir()
    for fr, m in zip(meta["frames"], sorted(true_masks.iterdir()), strict=True):
        (ds / "mine" / m.name).write_bytes(m.read_bytes())
        fr["mask_path"] = f"mine/{m.name}"
    (ds / "transforms.json").write_text(json.dumps(meta))
    before = (ds / "transforms.json").read_text()
    res = run("masks", ds, "--quiet")
    assert res.exit_code == 2 and "those win" in res.output
    assert (ds / "transforms.json").read_text() == before
    assert not (ds / "masks").exists()


def test_exif_rotated_photo_is_used_upright(capture, tmp_path):
    """A photo stored turned by 90 degrees with an EXIF orientation tag (as phones do) is
    checked, sized and copied for SfM as it is shown, and so is its mask."""
    from invrender.data.photo_inputs import check_photos
    from invrender.data.sfm import prepare_photos

    photos, true_masks, _, _, _ = capture
    folder = tmp_path / "photos"
    masks = tmp_path / "masks"
    folder.mkdir()
    masks.mkdir()
    files = sorted(photos.iterdir())[:4]
    for p in files:
        (folder / p.name).write_bytes(p.read_bytes())
        (masks / p.name).write_bytes((true_masks / p.name).read_bytes())
    upright = Image.open(files[1]).convert("RGB")
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to view": the pixels are stored turned 90 degrees CCW
    upright.transpose(Image.Transpose.ROTATE_90).save(folder / files[1].name, exif=exif)
    mask_up = Image.open(true_masks / files[1].name)
    mask_up.transpose(Image.Transpose.ROTATE_90).save(masks / files[1].name, exif=exif)
    ps = check_photos(folder, masks)
    assert (ps.width, ps.height) == (256, 192) and ps.rotated == [files[1].name]
    work = tmp_path / "work"
    work.mkdir()
    feats, full = prepare_photos(ps, work, 1.0)
    assert feats == full == work / "upright"
    got = np.asarray(Image.open(full / files[1].name).convert("RGB"))
    assert np.array_equal(got, np.asarray(upright))
    from invrender.data.sfm import _copy_mask

    _copy_mask(masks / files[1].name, tmp_path / "m.png")
    assert np.array_equal(
        np.asarray(Image.open(tmp_path / "m.png")), np.asarray(mask_up.convert("L"))
    )


@pytest.mark.slow
def test_max_image_size_scales_the_intrinsics_back(tmp_path, variant):
    """Features on a 2/3-size copy (--max-image-size 256 on 384x288 photos): focal length
    within 1 % of a run on the full photos, and both within the SfM test's accuracy."""
    truth = photo_cameras(20, 384, 288)
    render_photos(tmp_path / "photos", truth, spp=16)
    focal = {}
    for size in (0, 256):
        out = tmp_path / f"ds{size}"
        res = run("cameras", tmp_path / "photos", "--out", out, "--max-image-size", size, "--quiet")
        assert res.exit_code == 0, res.output
        frames = read_transforms(out / "transforms.json")
        assert len(frames) == 20
        assert {(f.camera.width, f.camera.height) for f in frames} == {(384, 288)}
        meta = json.loads((out / "transforms.json").read_text())
        focal[size] = meta["frames"][0]["fl_x"]
        errs = camera_errors([f.camera for f in frames], truth)
        print(size, focal[size], errs)
        assert errs["rotation_deg"] <= 0.5 and errs["centre_frac"] <= 0.01, errs
    assert abs(focal[256] / focal[0] - 1) <= 0.01, focal


@pytest.mark.slow
def test_cameras_masks_auto_through_sfm(tmp_path, variant):
    """`invrender cameras --masks auto` on 24 photos at 320x240: masks against the truth."""
    from invrender.data.auto_masks import iou

    photos, true_masks, _, _ = render_capture(tmp_path, 24, 320, 240)
    res = run("cameras", photos, "--out", tmp_path / "ds", "--masks", "auto", "--quiet")
    assert res.exit_code == 0, res.output
    assert "views registered         24 / 24" in res.output
    assert "IoU vs hull" in res.output
    ds = tmp_path / "ds"
    ious = [
        iou(a, t) for a, t in zip(read_masks(ds / "masks"), read_masks(true_masks), strict=True)
    ]
    print("IoU vs true masks through SfM", np.round(ious, 3), "median", np.median(ious))
    assert np.median(ious) >= 0.9, ious
    assert (ds / "masks.png").is_file()


def test_masks_made_at_a_working_size_are_written_at_the_photos_size(
    capture, tmp_path, monkeypatch
):
    """Photos larger than MASK_SIZE (12 MP ones) are masked on reduced copies, with cameras of
    that size, and each mask is upsampled once to its photo's size: here 256x192 photos masked
    at 128x96."""
    import invrender.data.auto_masks as am

    photos, true_masks, cams, _, _ = capture
    ds = dataset_from_truth(tmp_path / "ds", photos, cams)
    sizes: set = set()
    real = am.auto_masks

    def spy(views, *args, **kwargs):
        sizes.update((v.image.shape[:2], (v.camera.height, v.camera.width)) for v in views)
        return real(views, *args, **kwargs)

    monkeypatch.setattr(am, "MASK_SIZE", 128)
    monkeypatch.setattr(am, "auto_masks", spy)
    am.masks_for_dataset(ds)
    assert sizes == {((96, 128), (96, 128))}
    ours = read_masks(ds / "masks")
    assert {m.shape for m in ours} == {(192, 256)}
    ious = [am.iou(a, t) for a, t in zip(ours, read_masks(true_masks), strict=True)]
    print("IoU vs true masks, made at 128x96", np.round(ious, 3), "median", np.median(ious))
    assert np.median(ious) >= 0.85, ious
