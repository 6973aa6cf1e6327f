"""Atomic file writing and image encoding shared by the run folder, datasets and exporters.

Every file is written to a temporary name in the same folder and then moved into place with
``os.replace``, so a crash never leaves a half-written mesh or texture that a later tool would
read as valid.
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from invrender.faults import fault_point


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path next to ``path`` (same suffix); move it into place on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        prefix=f".{path.stem}.", suffix=f".partial{path.suffix}", dir=path.parent
    )
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the final file the usual mode
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        fault_point("write", str(path))  # tests: die or fail with the data written, not in place
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def write_bytes(path: Path, data: bytes) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def write_text(path: Path, text: str) -> Path:
    return write_bytes(path, text.encode("utf-8"))


def linear_to_srgb(linear: np.ndarray) -> np.ndarray:
    """The sRGB transfer function (IEC 61966-2-1), applied per channel after clipping to [0, 1]."""
    x = np.clip(np.asarray(linear, dtype=np.float64), 0.0, 1.0)
    return np.where(x <= 0.0031308, 12.92 * x, 1.055 * np.power(x, 1.0 / 2.4) - 0.055)


def srgb_to_linear(encoded: np.ndarray) -> np.ndarray:
    x = np.asarray(encoded, dtype=np.float64)
    return np.where(x <= 0.04045, x / 12.92, np.power((x + 0.055) / 1.055, 2.4))


def encode_png(image: np.ndarray, srgb: bool, bit_depth: int = 8) -> bytes:
    """PNG bytes of a linear float image (H, W, C in 1..4); sRGB-encoded when it is a colour."""
    image = np.asarray(image, dtype=np.float64)
    if image.ndim == 2:
        image = image[..., None]
    values = linear_to_srgb(image) if srgb else np.clip(image, 0.0, 1.0)
    if bit_depth == 8:
        from PIL import Image

        quantized = np.round(values * 255.0).astype(np.uint8)
        mode = {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}[quantized.shape[2]]
        array = quantized[..., 0] if quantized.shape[2] == 1 else quantized
        buffer = io.BytesIO()
        Image.fromarray(array, mode=mode).save(buffer, format="PNG")
        return buffer.getvalue()
    if bit_depth == 16:
        import mitsuba as mi

        quantized = np.round(values * 65535.0).astype(np.uint16)
        with tempfile.TemporaryDirectory() as folder:
            tmp = Path(folder) / "image.png"
            mi.Bitmap(quantized).write(str(tmp))
            return tmp.read_bytes()
    raise ValueError(f"PNG bit depth must be 8 or 16, not {bit_depth}")


def write_png(path: Path, image: np.ndarray, srgb: bool, bit_depth: int = 8) -> Path:
    return write_bytes(path, encode_png(image, srgb, bit_depth))


def write_exr(path: Path, image: np.ndarray) -> Path:
    """A linear float32 OpenEXR file (Mitsuba's writer: exact float32 round trip)."""
    import mitsuba as mi

    image = np.ascontiguousarray(np.asarray(image, dtype=np.float32))
    if image.ndim == 2:
        image = image[..., None]
    with atomic_path(path) as tmp, _exr_worker_pool():
        mi.Bitmap(image).write(str(tmp))
    return Path(path)


@contextlib.contextmanager
def _exr_worker_pool() -> Iterator[None]:
    """At least two Dr.Jit workers while Mitsuba reads or writes an EXR: with fewer (a run pinned
    to one thread, ``INVRENDER_THREADS=1``) OpenEXR waits forever. The count is put back after."""
    import drjit as dr

    before = dr.thread_count()
    if before >= 2:
        yield
        return
    dr.set_thread_count(2)
    try:
        yield
    finally:
        dr.set_thread_count(before)


def read_exr(path: Path) -> np.ndarray:
    import mitsuba as mi

    with _exr_worker_pool():
        return np.array(mi.Bitmap(str(path)), dtype=np.float32)
