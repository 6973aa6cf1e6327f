"""Checks of report pages in a real headless Chromium (scripts.fixtures.chromium)."""

from __future__ import annotations

import io
from pathlib import Path
from urllib.parse import unquote, urlparse

import numpy as np
from export_helpers import require_or_skip

VIEWER_DONE = ("loaded", "error", "none")
FLAG = "document.body.dataset.viewer"
# The viewer's background colour (page.py: model-viewer { background: #3a3d42 }).
BACKGROUND = np.array([0x3A, 0x3D, 0x42])


def require_chromium() -> None:
    """Skip without Chromium, fail when the setup promised it (INVRENDER_REQUIRE_EXPORT_TOOLS)."""
    from scripts.fixtures.chromium import find_chromium

    require_or_skip(find_chromium() is not None, "chromium", "bash scripts/setup_chromium.sh")


def outside(requests: list[str], *allowed_dirs: Path) -> list[str]:
    """The requests that left the allowed folders: any scheme but file:, blob: (the page's own
    in-memory copies) and data:, or a file: URL outside every allowed folder."""
    roots = [str(Path(d).resolve()) + "/" for d in allowed_dirs]
    bad = []
    for url in requests:
        parsed = urlparse(url)
        if parsed.scheme in ("blob", "data") or url == "about:blank":
            continue
        if parsed.scheme == "file":
            path = str(Path(unquote(parsed.path)).resolve())
            if any(path.startswith(root) or path + "/" == root for root in roots):
                continue
        bad.append(url)
    return bad


def screenshot_pixels(png: bytes) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=np.int16)


def drawn_fraction(pixels: np.ndarray, background: np.ndarray = BACKGROUND) -> float:
    """Fraction of pixels clearly unlike the viewer's empty background."""
    return float((np.abs(pixels - background).max(axis=-1) > 24).mean())


def silhouette_iou(viewer: np.ndarray, target_png: Path) -> float:
    """Overlap of the object's outline in the viewer (the square in its middle: a square camera,
    vertical field of view) and in the target photo (pixels unlike its corner colour)."""
    from PIL import Image

    height, width = viewer.shape[:2]
    square = viewer[:, (width - height) // 2 : (width - height) // 2 + height]
    seen = np.abs(square - BACKGROUND).max(axis=-1) > 24
    image = Image.open(target_png).convert("RGB").resize((height, height), Image.NEAREST)
    target = np.asarray(image, dtype=np.int16)
    shown = np.abs(target - target[0, 0]).max(axis=-1) > 12
    return float((seen & shown).sum() / max(1, (seen | shown).sum()))


def read_rgbe(data: bytes) -> np.ndarray:
    """Decode what invrender.report.images.rgbe_bytes writes (literal-chunk RLE scanlines)."""
    header, _, body = data.partition(b"\n\n")
    size_line, _, body = body.partition(b"\n")
    fields = size_line.split()
    height, width = int(fields[1]), int(fields[3])
    pos, rows = 0, []
    for _ in range(height):
        assert body[pos : pos + 2] == b"\x02\x02"
        pos += 4
        channels = []
        for _ in range(4):
            got = bytearray()
            while len(got) < width:
                count = body[pos]
                got += body[pos + 1 : pos + 1 + count]
                pos += 1 + count
            channels.append(np.frombuffer(bytes(got), np.uint8))
        rows.append(np.stack(channels, -1))
    rgbe = np.stack(rows).astype(np.float64)
    scale = np.where(rgbe[..., 3] > 0, np.ldexp(1.0, rgbe[..., 3].astype(int) - 136), 0.0)
    return rgbe[..., :3] * scale[..., None]
