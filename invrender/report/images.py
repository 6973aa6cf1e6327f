"""Pixels for report.html: error heat maps with a colour scale, tone-mapped maps, the recovered
sky re-laid out for the web viewer, PSNR read back from preview strips.

Nothing here imports Mitsuba except :func:`read_exr_file` (only when a run exported EXR maps),
so ``invrender report`` on a run without them starts in a blink.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from invrender.files import linear_to_srgb, read_exr, srgb_to_linear

# Matplotlib's "inferno" at 9 stops: perceptually ordered, readable in grey, black = no error.
INFERNO = (
    (0, 0, 4),
    (31, 12, 72),
    (85, 15, 109),
    (136, 34, 106),
    (186, 54, 85),
    (227, 89, 51),
    (249, 140, 10),
    (249, 201, 50),
    (252, 255, 164),
)
# The preview strips' own error ramp (invrender.run.previews.error_heatmap): black-red-yellow, x4.
PREVIEW_RAMP = ((0, 0, 0), (255, 0, 0), (255, 255, 0))
PREVIEW_ERROR_SCALE = 4.0
PREVIEW_GAP = 2  # white pixels between the strip's tiles


def apply_ramp(values: np.ndarray, ramp: tuple[tuple[int, int, int], ...] = INFERNO) -> np.ndarray:
    """Values in [0, 1] (clipped) as 8-bit RGB through a piecewise-linear colour ramp."""
    stops = np.asarray(ramp, dtype=np.float64)
    t = np.clip(np.nan_to_num(np.asarray(values, dtype=np.float64)), 0.0, 1.0)
    pos = np.linspace(0.0, 1.0, len(stops))
    rgb = np.stack([np.interp(t, pos, stops[:, c]) for c in range(3)], axis=-1)
    return (rgb + 0.5).astype(np.uint8)


def ramp_css(ramp: tuple[tuple[int, int, int], ...] = INFERNO) -> str:
    """A CSS gradient of the ramp, left (0) to right (1), for the colour bar under a heat map."""
    stops = ", ".join(f"rgb({r},{g},{b})" for r, g, b in ramp)
    return f"linear-gradient(to right, {stops})"


def nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 5 times a power of ten that is >= value (colour-bar maxima)."""
    if not math.isfinite(value) or value <= 0:
        return 0.01
    mag = 10 ** math.floor(math.log10(value))
    return next(m * mag for m in (1, 2, 5, 10) if m * mag >= value * (1 - 1e-9))


def error_map(render: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, float]:
    """(8-bit heat map of the mean absolute linear error, the error at the top of the scale).

    The scale ends at a round number just above the 99.5th percentile, so a few hot pixels do
    not wash out the rest; the colour bar prints it."""
    err = np.abs(np.asarray(render, np.float64) - np.asarray(target, np.float64)).mean(axis=2)
    vmax = nice_ceiling(float(np.percentile(err, 99.5)))
    return apply_ramp(err / vmax), vmax


def psnr_srgb8(current: np.ndarray, target: np.ndarray) -> float:
    """PSNR (dB, peak 1) of two 8-bit sRGB images compared in linear light, as the runs do."""
    a = srgb_to_linear(np.asarray(current, np.float64) / 255.0)
    b = srgb_to_linear(np.asarray(target, np.float64) / 255.0)
    mse = float(np.mean((a - b) ** 2))
    return float("inf") if mse == 0 else -10.0 * math.log10(mse)


def split_preview(strip: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """(target, current, error) tiles of a preview strip (tiles side by side, 2 px gaps)."""
    height, width = strip.shape[:2]
    tile = (width - 2 * PREVIEW_GAP) // 3
    if tile <= 0 or 3 * tile + 2 * PREVIEW_GAP != width or strip.ndim != 3:
        return None
    step = tile + PREVIEW_GAP
    t, c, e = (strip[:, i * step : i * step + tile, :3] for i in range(3))
    return t, c, e


def read_png(path: Path) -> np.ndarray:
    import imageio.v3 as iio

    return np.asarray(iio.imread(path))


def encode_png8(rgb8: np.ndarray) -> bytes:
    import imageio.v3 as iio

    return bytes(iio.imwrite("<bytes>", np.asarray(rgb8, np.uint8), extension=".png"))


def read_exr_file(path: Path) -> np.ndarray:
    """An EXR as float32 (H, W, C) through Mitsuba's reader (no variant needed; importing
    invrender, this package's parent, has already picked Dr.Jit's LLVM)."""
    image = read_exr(path)
    return image if image.ndim == 3 else image[..., None]


def tonemap(linear: np.ndarray) -> tuple[np.ndarray, float]:
    """(8-bit sRGB of an HDR image scaled so its 99th percentile is white, that scale)."""
    rgb = np.asarray(linear, np.float64)
    if rgb.shape[-1] == 1:
        rgb = np.repeat(rgb, 3, axis=-1)
    rgb = rgb[..., :3]
    white = float(np.percentile(rgb.max(axis=-1), 99)) if rgb.size else 1.0
    white = white if math.isfinite(white) and white > 0 else 1.0
    return (linear_to_srgb(rgb / white) * 255 + 0.5).astype(np.uint8), white


def map_to_rgb8(texture: np.ndarray, colour: bool) -> np.ndarray:
    """A material map for display: colour maps sRGB-encoded, scalar maps (roughness, metallic)
    as grey levels of their raw [0, 1] values."""
    tex = np.asarray(texture, np.float64)
    if tex.ndim == 2:
        tex = tex[..., None]
    if not colour or tex.shape[-1] == 1:
        grey = np.clip(tex[..., :1], 0, 1)
        return (np.repeat(grey, 3, axis=-1) * 255 + 0.5).astype(np.uint8)
    return (linear_to_srgb(tex[..., :3]) * 255 + 0.5).astype(np.uint8)


# -- the sky for the web viewer -------------------------------------------------------------
def web_equirect_directions(width: int, height: int) -> np.ndarray:
    """World directions (Y up) at the texel centres of a three.js equirect image, top row first.

    three.js (and so model-viewer) looks a direction d up at u = atan2(d.z, d.x) / 2pi + 1/2,
    v = asin(d.y) / pi + 1/2, with the first image row at v = 1 (the zenith)."""
    u = (np.arange(width) + 0.5) / width
    v = 1.0 - (np.arange(height) + 0.5) / height
    phi = 2.0 * np.pi * (u - 0.5)
    elevation = np.pi * (v - 0.5)
    e, p = np.meshgrid(elevation, phi, indexing="ij")
    return np.stack([np.cos(e) * np.cos(p), np.sin(e), np.cos(e) * np.sin(p)], axis=-1)


def sample_mitsuba_envmap(
    image: np.ndarray, directions: np.ndarray, to_world: np.ndarray | None = None
) -> np.ndarray:
    """Radiance of a Mitsuba ``envmap`` image toward world ``directions``, bilinear, in numpy.

    Mitsuba's lookup (see invrender.export.lighting): local = to_world^-1 d,
    u = atan2(x, -z) / 2pi, v = acos(y) / pi; row j of H sits at v = j / (H - 1), column i at
    u = (i + 1/2) / W (wrapping). tests/test_report.py checks this against Mitsuba's emitter."""
    img = np.asarray(image, np.float64)
    height, width = img.shape[:2]
    d = np.asarray(directions, np.float64).reshape(-1, 3)
    if to_world is not None:
        rot = np.asarray(to_world, np.float64)[:3, :3]
        d = d @ np.linalg.inv(rot).T
    d = d / np.linalg.norm(d, axis=-1, keepdims=True)
    u = (np.arctan2(d[:, 0], -d[:, 2]) / (2 * np.pi)) % 1.0
    v = np.arccos(np.clip(d[:, 1], -1.0, 1.0)) / np.pi
    col = u * width - 0.5
    row = np.clip(v * (height - 1), 0.0, height - 1.0)
    c0 = np.floor(col).astype(np.int64)
    r0 = np.minimum(np.floor(row).astype(np.int64), height - 2) if height > 1 else 0 * c0
    fc, fr = (col - c0)[:, None], (row - r0)[:, None]
    c0w, c1w = c0 % width, (c0 + 1) % width
    r1 = np.minimum(r0 + 1, height - 1)
    top = img[r0, c0w] * (1 - fc) + img[r0, c1w] * fc
    bottom = img[r1, c0w] * (1 - fc) + img[r1, c1w] * fc
    out = top * (1 - fr) + bottom * fr
    return out.reshape(*np.shape(directions)[:-1], img.shape[2])


def envmap_for_web(
    image: np.ndarray, to_world: np.ndarray | None = None, scale: float = 1.0
) -> np.ndarray:
    """A Mitsuba envmap resampled to three.js's equirect layout (at least 256 x 128 texels)."""
    height, width = np.asarray(image).shape[:2]
    out_w = max(256, width)
    out_h = out_w // 2
    dirs = web_equirect_directions(out_w, out_h)
    rgb = sample_mitsuba_envmap(image, dirs, to_world)[..., :3]
    return np.clip(rgb * scale, 0.0, None).astype(np.float32)


def rgbe_bytes(rgb: np.ndarray) -> bytes:
    """Radiance .hdr (RGBE) bytes of a linear float image, top row first.

    model-viewer lights a model with an equirect .hdr. Scanlines use the run-length format with
    literal chunks only: a flat file whose first pixel happens to read 2, 2 would be taken for
    run-length encoded by three.js's reader."""
    img = np.clip(np.nan_to_num(np.asarray(rgb, np.float64)[..., :3]), 0.0, None)
    height, width = img.shape[:2]
    if not 8 <= width <= 0x7FFF:
        raise ValueError(f"RGBE scanlines must be 8 to 32767 pixels wide, not {width}")
    peak = img.max(axis=-1)
    mantissa, exponent = np.frexp(peak)
    lit = peak > 1e-32
    scale = np.where(lit, mantissa * 256.0 / np.where(lit, peak, 1.0), 0.0)
    rgbe = np.zeros((height, width, 4), np.uint8)
    rgbe[..., :3] = np.clip(img * scale[..., None] + 0.5, 0, 255).astype(np.uint8)
    rgbe[..., 3] = np.where(lit, exponent + 128, 0).astype(np.uint8)
    out = bytearray(f"#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\n-Y {height} +X {width}\n".encode())
    for row in rgbe:
        out += bytes((2, 2, width >> 8, width & 0xFF))
        for channel in range(4):
            data = row[:, channel].tobytes()
            for start in range(0, width, 128):
                chunk = data[start : start + 128]
                out.append(len(chunk))
                out += chunk
    return bytes(out)
