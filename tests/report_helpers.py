"""Checks of report pages in a real headless Chromium (invrender.report.chromium)."""

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
    from invrender.report.chromium import find_chromium

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
