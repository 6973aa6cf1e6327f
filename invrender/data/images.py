"""Read and write images as linear float32 RGB (+ optional alpha).

PNG/JPEG are sRGB-encoded and converted to linear; EXR is linear already and read exactly.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from invrender.files import linear_to_srgb, read_exr, srgb_to_linear, write_bytes

LDR_SUFFIXES = {".png", ".jpg", ".jpeg"}
HDR_SUFFIXES = {".exr"}


def read_image(path: str | Path) -> tuple[np.ndarray, np.ndarray | None]:
    """(linear RGB HxWx3 float32, alpha HxW float32 or None). Raises OSError/ValueError."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in HDR_SUFFIXES:
        arr = read_exr(path)
    elif suffix in LDR_SUFFIXES:
        import imageio.v3 as iio

        raw = iio.imread(path)
        scale = 65535.0 if raw.dtype == np.uint16 else 255.0
        arr = raw.astype(np.float32) / scale
        if arr.ndim == 3 and arr.shape[2] >= 3:
            arr[..., :3] = srgb_to_linear(arr[..., :3])
        elif arr.ndim == 2:
            arr = srgb_to_linear(arr)
    else:
        raise ValueError(f"unsupported image type {suffix!r} (use PNG, JPEG or EXR)")
    if arr.ndim == 2:
        arr = np.repeat(arr[..., None], 3, axis=2)
    if arr.shape[2] == 1:
        arr = np.repeat(arr, 3, axis=2)
    alpha = arr[..., 3].copy() if arr.shape[2] >= 4 else None
    return np.ascontiguousarray(arr[..., :3]), alpha


def read_mask(path: str | Path) -> np.ndarray:
    """A mask image as HxW float32 in [0, 1] (alpha if present, else the mean of the channels)."""
    path = Path(path)
    if path.suffix.lower() in HDR_SUFFIXES:
        rgb, alpha = read_image(path)
        return alpha if alpha is not None else rgb.mean(axis=2)
    import imageio.v3 as iio

    raw = iio.imread(path)
    arr = raw.astype(np.float32) / (65535.0 if raw.dtype == np.uint16 else 255.0)
    if arr.ndim == 3:
        arr = arr[..., 3] if arr.shape[2] == 4 else arr[..., :3].mean(axis=2)
    return arr


def to_srgb8(image: np.ndarray) -> np.ndarray:
    """Linear RGB -> 8-bit sRGB for previews."""
    return (linear_to_srgb(image) * 255.0 + 0.5).astype(np.uint8)


def write_png(path: str | Path, image: np.ndarray, linear: bool = True) -> None:
    """Write an 8-bit PNG atomically; ``linear`` float images are sRGB-encoded first."""
    import imageio.v3 as iio

    data = to_srgb8(image) if linear else np.asarray(image)
    write_bytes(Path(path), iio.imwrite("<bytes>", data, extension=".png"))


def downscale(image: np.ndarray, factor: int) -> np.ndarray:
    """Box-downscale by an integer factor (crops to a multiple of it)."""
    if factor == 1:
        return image
    h, w = image.shape[0] // factor * factor, image.shape[1] // factor * factor
    img = image[:h, :w]
    shape = (h // factor, factor, w // factor, factor) + img.shape[2:]
    return img.reshape(shape).mean(axis=(1, 3)).astype(np.float32)
