"""Known skies: a lat-long EXR read with one-line errors, and where it sits in the world.

Shared by ``scene.lighting.sky`` (a run under a sky captured with the photos) and ``invrender
relight`` (an asset under a new sky). The layout is Mitsuba's (+Y up, +Z at the image centre);
``up='z'`` turns the sky's +Y onto world +Z for Z-up worlds (NeRF/Blender datasets).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from invrender.errors import DataError

#: The sky's +Y goes to world +Z: the to_world of a Mitsuba-layout sky in a Z-up world.
Y_UP_TO_Z_UP = np.array(
    [[1.0, 0.0, 0.0, 0.0], [0.0, 0.0, -1.0, 0.0], [0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 0.0, 1.0]]
)


def read_sky(path: Path, asked_by: str = "--envmap") -> np.ndarray:
    """A lat-long EXR as (H, W, 3) float32; a one-line DataError (naming ``asked_by``, the
    option or config key that named the file) when it cannot be a sky."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file ({asked_by} wants a lat-long EXR)")
    if path.suffix.lower() != ".exr":
        raise DataError(f"{path}: not an EXR ({asked_by} wants a lat-long EXR in Mitsuba's layout)")
    from invrender.files import read_exr

    try:
        image = read_exr(path)
    except Exception as exc:  # Mitsuba raises RuntimeError with a multi-line message
        first = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        raise DataError(f"{path}: cannot read the EXR: {first}") from None
    if image.ndim == 2:
        image = image[..., None]
    if image.shape[2] in (1, 2):
        image = np.repeat(image[..., :1], 3, axis=2)
    image = np.ascontiguousarray(image[..., :3], dtype=np.float32)
    h, w = image.shape[:2]
    if h < 2 or w < 2:
        raise DataError(f"{path}: the sky is {w}x{h}; a lat-long map needs at least 2x2 texels")
    if not np.all(np.isfinite(image)):
        raise DataError(f"{path}: the sky has NaN or Inf texels")
    if float(image.min()) < 0.0:
        raise DataError(f"{path}: the sky has negative texels (radiance must be >= 0)")
    return image


def sky_to_world(up: str, rotate_deg: float) -> np.ndarray:
    """The sky's to_world: its up turned onto the world's ``up``, then ``rotate_deg`` about it
    (counter-clockwise seen from above: a feature at azimuth a moves to a + rotate)."""
    if up not in ("y", "z"):
        raise DataError(f"--up {up}: expected y or z")
    base = np.eye(4) if up == "y" else Y_UP_TO_Z_UP
    c, s = math.cos(math.radians(rotate_deg)), math.sin(math.radians(rotate_deg))
    turn = np.eye(4)
    if up == "y":  # about +Y: x -> z is clockwise from above, so z -> x positive
        turn[0, 0], turn[0, 2], turn[2, 0], turn[2, 2] = c, s, -s, c
    else:  # about +Z
        turn[0, 0], turn[0, 1], turn[1, 0], turn[1, 1] = c, -s, s, c
    return turn @ base
