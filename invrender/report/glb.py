"""GLB files for the report: the run's exported asset with its cameras added as line frustums.

The export's GLB stays as it is (it is validated and meant for other tools); the report gets a
copy with one extra mesh of GL_LINES, so the 3D viewer shows where the photos were taken from.
Plain struct and json: the GLB container is two chunks, JSON and a binary buffer.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from typing import Any

import numpy as np

GLB_MAGIC = b"glTF"
JSON_CHUNK = 0x4E4F534A
BIN_CHUNK = 0x004E4942
TRAIN_COLOUR = [0.55, 0.6, 0.7, 1.0]
HELDOUT_COLOUR = [1.0, 0.45, 0.05, 1.0]


@dataclass
class Camera:
    """A camera in the glTF / Mitsuba world (Y up): camera-to-world with OpenGL axes (looks
    down its -Z, +Y up), horizontal field of view and image size."""

    name: str
    c2w: np.ndarray
    fov_x_deg: float
    width: int
    height: int
    heldout: bool = False

    @property
    def position(self) -> np.ndarray:
        return np.asarray(self.c2w, np.float64)[:3, 3]

    @property
    def forward(self) -> np.ndarray:
        f = -np.asarray(self.c2w, np.float64)[:3, 2]
        return f / (np.linalg.norm(f) or 1.0)

    @property
    def fov_y_deg(self) -> float:
        half = np.tan(np.radians(self.fov_x_deg) / 2) * self.height / max(1, self.width)
        return float(np.degrees(2 * np.arctan(half)))


def read_glb(data: bytes) -> tuple[dict[str, Any], bytes]:
    """(glTF JSON, binary chunk) of a GLB; ValueError if it is not one."""
    if len(data) < 20 or data[:4] != GLB_MAGIC:
        raise ValueError("not a GLB file")
    _, _version, length = struct.unpack_from("<4sII", data, 0)
    offset, tree, binary = 12, None, b""
    while offset + 8 <= min(length, len(data)):
        size, kind = struct.unpack_from("<II", data, offset)
        chunk = data[offset + 8 : offset + 8 + size]
        if kind == JSON_CHUNK:
            tree = json.loads(chunk.decode("utf-8"))
        elif kind == BIN_CHUNK:
            binary = bytes(chunk)
        offset += 8 + size
    if tree is None:
        raise ValueError("GLB without a JSON chunk")
    return tree, binary


def write_glb(tree: dict[str, Any], binary: bytes) -> bytes:
    text = json.dumps(tree, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 4)
    binary = binary + b"\0" * (-len(binary) % 4)
    chunks = struct.pack("<II", len(text), JSON_CHUNK) + text
    if binary:
        chunks += struct.pack("<II", len(binary), BIN_CHUNK) + binary
    return struct.pack("<4sII", GLB_MAGIC, 2, 12 + len(chunks)) + chunks


def mesh_bounds(tree: dict[str, Any]) -> tuple[np.ndarray, np.ndarray] | None:
    """Min and max corner of every POSITION accessor (nodes carry no transforms in our GLBs)."""
    accessors = tree.get("accessors", [])
    lows, highs = [], []
    for mesh in tree.get("meshes", []):
        for primitive in mesh.get("primitives", []):
            index = primitive.get("attributes", {}).get("POSITION")
            if index is None or index >= len(accessors):
                continue
            acc = accessors[index]
            if "min" in acc and "max" in acc:
                lows.append(acc["min"])
                highs.append(acc["max"])
    if not lows:
        return None
    return np.min(np.asarray(lows, float), axis=0), np.max(np.asarray(highs, float), axis=0)


def frustum_lines(camera: Camera, depth: float) -> np.ndarray:
    """Line-segment end points (16, 3) of a camera pyramid ``depth`` long, plus nothing else."""
    half_x = np.tan(np.radians(camera.fov_x_deg) / 2) * depth
    half_y = half_x * camera.height / max(1, camera.width)
    c2w = np.asarray(camera.c2w, np.float64)
    local = np.array(
        [[-half_x, -half_y, -depth], [half_x, -half_y, -depth], [half_x, half_y, -depth]]
        + [[-half_x, half_y, -depth]]
    )
    corners = local @ c2w[:3, :3].T + c2w[:3, 3]
    apex = c2w[:3, 3]
    segments = []
    for i in range(4):
        segments += [apex, corners[i], corners[i], corners[(i + 1) % 4]]
    return np.asarray(segments)


def ribbons(segments: np.ndarray, width: float) -> np.ndarray:
    """Triangles (N, 3) drawing line segments as two crossed thin quads each, so they show
    from every side and, unlike GL lines, take model-viewer's material edits (hide / show)."""
    a, b = segments[0::2], segments[1::2]
    axis = b - a
    axis /= np.linalg.norm(axis, axis=1, keepdims=True) + 1e-12
    helper = np.where(np.abs(axis[:, 1:2]) < 0.9, [[0.0, 1.0, 0.0]], [[1.0, 0.0, 0.0]])
    side1 = np.cross(axis, helper)
    side1 /= np.linalg.norm(side1, axis=1, keepdims=True)
    side2 = np.cross(axis, side1)
    tris = []
    for side in (side1, side2):
        h = side * width / 2
        p0, p1, p2, p3 = a - h, a + h, b + h, b - h
        tris += [p0, p1, p2, p0, p2, p3]
    return np.stack(tris, axis=1).reshape(-1, 3)


def with_cameras(glb: bytes, cameras: list[Camera], depth: float | None = None) -> bytes:
    """The GLB with the cameras as unlit frustums (training grey, held-out orange).

    Their materials are named ``invrender_*`` and start fully transparent: the report's viewer
    opens on the asset alone and shows them when asked."""
    tree, binary = read_glb(glb)
    if not cameras:
        return glb
    if depth is None:
        bounds = mesh_bounds(tree)
        centre = (bounds[0] + bounds[1]) / 2 if bounds else np.zeros(3)
        dist = np.median([np.linalg.norm(c.position - centre) for c in cameras])
        depth = 0.12 * float(dist) if dist > 0 else 0.3
    binary = binary + b"\0" * (-len(binary) % 4)
    tree.setdefault("buffers", [{"byteLength": 0}])
    if not tree["buffers"]:
        tree["buffers"].append({"byteLength": 0})
    materials = tree.setdefault("materials", [])
    primitives = []
    for heldout in (False, True):
        chosen = [c for c in cameras if c.heldout == heldout]
        if not chosen:
            continue
        lines = np.concatenate([frustum_lines(c, depth) for c in chosen])
        points = ribbons(lines, 0.025 * depth).astype(np.float32)
        tree.setdefault("bufferViews", []).append(
            {"buffer": 0, "byteOffset": len(binary), "byteLength": points.nbytes, "target": 34962}
        )
        binary += points.tobytes()
        tree.setdefault("accessors", []).append(
            {
                "bufferView": len(tree["bufferViews"]) - 1,
                "componentType": 5126,
                "count": len(points),
                "type": "VEC3",
                "min": points.min(axis=0).tolist(),
                "max": points.max(axis=0).tolist(),
            }
        )
        colour = HELDOUT_COLOUR if heldout else TRAIN_COLOUR
        materials.append(
            {
                "name": "invrender_heldout_cameras" if heldout else "invrender_cameras",
                "pbrMetallicRoughness": {
                    "baseColorFactor": [*colour[:3], 0.0],
                    "metallicFactor": 0.0,
                    "roughnessFactor": 1.0,
                },
                "alphaMode": "BLEND",
                "doubleSided": True,
                "extensions": {"KHR_materials_unlit": {}},
            }
        )
        primitives.append(
            {"attributes": {"POSITION": len(tree["accessors"]) - 1}, "material": len(materials) - 1}
        )
    tree["buffers"][0]["byteLength"] = len(binary)
    tree.setdefault("meshes", []).append({"name": "invrender_cameras", "primitives": primitives})
    tree.setdefault("nodes", []).append(
        {"name": "invrender_cameras", "mesh": len(tree["meshes"]) - 1}
    )
    scenes = tree.setdefault("scenes", [{"nodes": []}])
    scenes[tree.get("scene", 0)].setdefault("nodes", []).append(len(tree["nodes"]) - 1)
    used = set(tree.get("extensionsUsed", [])) | {"KHR_materials_unlit"}
    tree["extensionsUsed"] = sorted(used)
    return write_glb(tree, binary)


def material_images(glb: bytes) -> dict[str, bytes]:
    """The PNG/JPEG bytes of the first material's base colour and metal-rough textures."""
    tree, binary = read_glb(glb)
    out: dict[str, bytes] = {}
    materials = tree.get("materials", [])
    if not materials:
        return out
    pbr = materials[0].get("pbrMetallicRoughness", {})
    for key, name in (("baseColorTexture", "base_color"), ("metallicRoughnessTexture", "mr")):
        ref = pbr.get(key)
        if ref is None:
            continue
        try:
            image = tree["images"][tree["textures"][ref["index"]]["source"]]
            view = tree["bufferViews"][image["bufferView"]]
        except (KeyError, IndexError, TypeError):
            continue
        start = view.get("byteOffset", 0)
        out[name] = binary[start : start + view["byteLength"]]
    return out
