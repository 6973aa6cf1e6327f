"""Large photos in `invrender cameras` (issue 26, 24 photos of 12 MP in under 2 minutes): photos
read at a reduced size straight from the JPEG, the photo check that still decodes every byte, a
few points on a smooth object that must not shrink its seeded region, and GrabCut results that
do not depend on which thread ran what before."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from invrender.errors import DataError


def smooth_image(width: int, height: int, seed: int = 0) -> np.ndarray:
    """Low-frequency colour blobs (so a downscale is well defined and JPEG keeps them)."""
    rng = np.random.default_rng(seed)
    small = (rng.random((6, 8, 3)) * 255).astype(np.uint8)
    return np.asarray(Image.fromarray(small).resize((width, height), Image.Resampling.BICUBIC))


@pytest.mark.parametrize("size", [(400, 300), (1600, 1200)])
def test_open_reduced_is_the_upright_photo_area_averaged(tmp_path, size):
    """A phone-style JPEG (pixels stored turned, EXIF orientation 6) read at long side 100: the
    upright photo's size is reported, the copy is upright and matches a full decode resized
    (1600x1200 goes through the 1/8 DCT draft, 400x300 through a 1/2 draft)."""
    from invrender.data.photo_inputs import open_reduced

    upright = smooth_image(*size)
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to view"
    path = tmp_path / "photo.jpg"
    Image.fromarray(upright).transpose(Image.Transpose.ROTATE_90).save(path, quality=95, exif=exif)
    got, full = open_reduced(path, 100)
    assert full == size
    want_size = (100, round(100 * size[1] / size[0]))
    assert got.size == want_size and got.mode == "RGB"
    want = np.asarray(Image.fromarray(upright).resize(want_size, Image.Resampling.BOX), float)
    assert np.abs(np.asarray(got, float) - want).mean() < 3.0


def test_open_reduced_keeps_small_photos_bit_for_bit(tmp_path):
    from invrender.data.photo_inputs import open_reduced

    image = smooth_image(64, 48)
    Image.fromarray(image).save(tmp_path / "p.png")
    got, full = open_reduced(tmp_path / "p.png", 64)
    assert full == (64, 48)
    assert np.array_equal(np.asarray(got), image)


def test_photo_check_still_finds_a_truncated_jpeg(tmp_path):
    """check_photos decodes JPEGs at 1/8 size; a file cut short must still be caught there."""
    from invrender.data.photo_inputs import check_photos

    for i in range(4):
        Image.fromarray(smooth_image(320, 240, i)).save(tmp_path / f"p{i}.jpg", quality=90)
    data = (tmp_path / "p3.jpg").read_bytes()
    (tmp_path / "p3.jpg").write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match=r"cannot read 1 photo\(s\): p3.jpg"):
        check_photos(tmp_path)


def test_few_object_points_do_not_shrink_the_object():
    """One point on a smooth object says only that the object reaches at least that far: the
    seeded radius stays the look-at fallback (a quarter of the camera distance, 0.75 here);
    with MIN_SEEDS points or more it is the points' reach."""
    from invrender.data.auto_masks import MIN_SEEDS, PointLabels, object_extent
    from tests.test_auto_mask_seeds import CENTRE, cameras

    cams = cameras()
    one = CENTRE + np.array([[0.3, 0.0, 0.0]])
    labels = PointLabels(np.ones(1, bool), CENTRE)
    assert object_extent(cams, one, labels) == pytest.approx(0.75)
    assert "1 object point(s)" in labels.notes[0]
    far = CENTRE + np.array([[1.0, 0.0, 0.0]])  # a few points beyond the fallback still count
    assert object_extent(cams, far, PointLabels(np.ones(1, bool), CENTRE)) == pytest.approx(1.0)
    angles = np.linspace(0, 2 * np.pi, MIN_SEEDS, endpoint=False)
    ring = CENTRE + 0.3 * np.stack([np.cos(angles), np.zeros_like(angles), np.sin(angles)], 1)
    labels = PointLabels(np.ones(MIN_SEEDS, bool), CENTRE)
    assert object_extent(cams, ring, labels) == pytest.approx(0.3)
    assert labels.notes == []


def test_grabcut_does_not_depend_on_what_ran_before():
    """GrabCut's k-means draws from OpenCV's per-thread generator; views run in a thread pool,
    so each call must start it from the same state however much earlier calls used: the draws
    after a call are then the same too (its colour models, not always its mask, depend on it)."""
    import cv2

    from invrender.data.auto_masks import grabcut

    rng = np.random.default_rng(0)
    image = (rng.random((48, 64, 3)) * 255).astype(np.uint8)
    seeds = np.full((48, 64), cv2.GC_PR_BGD, np.uint8)
    seeds[8:40, 16:48] = cv2.GC_PR_FGD
    seeds[22:26, 30:34] = cv2.GC_FGD
    seeds[:3] = cv2.GC_BGD

    def cut_then_draw(used: int) -> tuple[np.ndarray, np.ndarray]:
        cv2.randu(np.zeros((used, 1), np.float32), 0, 1)  # earlier work on this thread
        mask = grabcut(image, seeds)
        draws = np.zeros((4, 1), np.float32)
        cv2.randu(draws, 0, 1)
        return mask, draws

    mask_a, after_a = cut_then_draw(10)
    mask_b, after_b = cut_then_draw(1000)
    assert np.array_equal(after_a, after_b)
    assert np.array_equal(mask_a, mask_b)
