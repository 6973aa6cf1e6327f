"""Build a benchmark of objects nobody tuned for, rendered by Blender Cycles (not Mitsuba).

Four procedural objects (no downloads), each with a Principled BSDF whose textures are
procedural patterns baked to images, lit by a real captured HDRI that ships with Blender
(studio lights, CC0 from Poly Haven), rendered with Cycles through Blender-as-a-module (the
``.bpy-venv`` of ``scripts/setup_blender_env.sh``, run as a subprocess: bpy pins numpy < 2):

    ring  genus 1: a tilted torus with a rounded-square tube (a handle)
    pen   thin and elongated: a tapered rod with a rounded cap, lying diagonally
    star  sharp edges: a five-pointed star prism, flat-shaded
    vase  a thick-walled vase of revolution, open at the top

For each object, ``OUT/<object>/`` is a NeRF-synthetic split folder that ``invrender init``
reads (``transforms_train.json``, ``transforms_test.json``, ``train/r_000.png`` ...; RGBA PNG,
alpha = coverage; OpenGL camera-to-world in Blender's Z-up world), plus
``relight/<hdri>/`` (the test views under a second HDRI, with ``transforms.json``) and ``gt/``:
the mesh (``mesh.ply``; ``mesh.obj`` with UVs and textures), both HDRIs as Blender used them and
converted to Mitsuba's lat-long convention (strength baked in; see ``object.json`` for the
``to_world`` that puts them in the Z-up world), ``scene.blend`` and ``object.json``.

    python scripts/make_cycles_benchmark.py [--out datasets/cycles_bench] [--objects ring vase]
    python scripts/make_cycles_benchmark.py --quick --out /tmp/bench       # smoke build
    python scripts/make_cycles_benchmark.py --verify-envmap                # Cycles vs Mitsuba
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
BLENDER_SCRIPT = Path(__file__).resolve().with_name("cycles_bench_blender.py")
OBJECTS = ("ring", "pen", "star", "vase")
PROGRESS = "[cycles-bench] "  # the Blender script's progress lines start with this

# Mitsuba's envmap frame (Y-up) -> Blender's Z-up world: (x, y, z) -> (x, -z, y), the same turn
# as invrender.export.cameras.MITSUBA_TO_BLENDER. Use it as the envmap's to_world in a scene
# whose world is the cameras' (NeRF/Blender, Z-up).
ENVMAP_TO_WORLD = [
    [1.0, 0.0, 0.0, 0.0],
    [0.0, 0.0, -1.0, 0.0],
    [0.0, 1.0, 0.0, 0.0],
    [0.0, 0.0, 0.0, 1.0],
]
GOLDEN_ANGLE = math.pi * (3.0 - math.sqrt(5.0))


# ----------------------------------------------------------------------------------------------
# Meshes: closed, consistently oriented (outward) triangle meshes with per-corner UVs


@dataclass
class Mesh:
    vertices: np.ndarray  # (V, 3) float64
    faces: np.ndarray  # (F, 3) int64, counter-clockwise seen from outside
    uvs: np.ndarray  # (F, 3, 2) per face corner, v = 0 at the bottom of the texture

    def transformed(self, rotation: np.ndarray) -> Mesh:
        return Mesh(self.vertices @ rotation.T, self.faces, self.uvs)

    def centred(self) -> Mesh:
        lo, hi = self.vertices.min(axis=0), self.vertices.max(axis=0)
        return Mesh(self.vertices - (lo + hi) / 2.0, self.faces, self.uvs)

    def outward(self) -> Mesh:
        """Flip every face if the signed volume is negative (the builders wind consistently)."""
        v = self.vertices[self.faces]
        volume = np.einsum("ij,ij->i", v[:, 0], np.cross(v[:, 1], v[:, 2])).sum() / 6.0
        if volume >= 0:
            return self
        return Mesh(self.vertices, self.faces[:, ::-1].copy(), self.uvs[:, ::-1].copy())


def _grid_faces(
    index: Callable[[int, int], int], nu: int, nv: int
) -> tuple[list[tuple[int, int, int]], list[list[tuple[float, float]]]]:
    """Two triangles per cell (i, j) of an nu x nv grid; UVs from the unwrapped indices."""
    faces, uvs = [], []
    for i in range(nu):
        for j in range(nv):
            a, b, c, d = index(i, j), index(i + 1, j), index(i + 1, j + 1), index(i, j + 1)
            ta, tb = (i / nu, j / nv), ((i + 1) / nu, j / nv)
            tc, td = ((i + 1) / nu, (j + 1) / nv), (i / nu, (j + 1) / nv)
            faces += [(a, b, c), (a, c, d)]
            uvs += [[ta, tb, tc], [ta, tc, td]]
    return faces, uvs


def torus_mesh(point: Callable[[np.ndarray, np.ndarray], np.ndarray], nu: int, nv: int) -> Mesh:
    """A surface periodic in u and v (genus 1); ``point(u, v)`` with u, v in [0, 1)."""
    iu, iv = np.meshgrid(np.arange(nu) / nu, np.arange(nv) / nv, indexing="ij")
    vertices = point(iu, iv).reshape(-1, 3)
    faces, uvs = _grid_faces(lambda i, j: (i % nu) * nv + (j % nv), nu, nv)
    return Mesh(vertices, np.array(faces), np.array(uvs)).outward()


def revolution_mesh(profile: np.ndarray, nu: int) -> Mesh:
    """Revolve a (K, 2) profile of (radius, z) about Z; the first and last points lie on the
    axis (radius 0) and become poles. u runs around the axis, v along the profile's length."""
    r, z = profile[:, 0], profile[:, 1]
    if r[0] != 0 or r[-1] != 0:
        raise ValueError("the profile must start and end on the axis")
    length = np.concatenate([[0.0], np.cumsum(np.hypot(np.diff(r), np.diff(z)))])
    v = length / length[-1]
    k_rings = len(profile) - 2
    phi = 2 * np.pi * np.arange(nu) / nu
    ring = np.stack(
        [r[1:-1, None] * np.cos(phi), r[1:-1, None] * np.sin(phi), np.repeat(z[1:-1, None], nu, 1)],
        axis=-1,
    )  # (K - 2, nu, 3)
    vertices = np.concatenate([[[0.0, 0.0, z[0]]], ring.reshape(-1, 3), [[0.0, 0.0, z[-1]]]])
    last = len(vertices) - 1

    def index(k: int, i: int) -> int:  # ring k = 0 .. K-3
        return 1 + k * nu + (i % nu)

    faces, uvs = [], []
    for i in range(nu):  # fans at the poles; the cells between rings as in _grid_faces
        u0, u1, um = i / nu, (i + 1) / nu, (i + 0.5) / nu
        faces.append((0, index(0, i + 1), index(0, i)))
        uvs.append([(um, v[0]), (u1, v[1]), (u0, v[1])])
        faces.append((last, index(k_rings - 1, i), index(k_rings - 1, i + 1)))
        uvs.append([(um, v[-1]), (u0, v[-2]), (u1, v[-2])])
        for k in range(k_rings - 1):
            a, b = index(k, i), index(k, i + 1)
            c, d = index(k + 1, i + 1), index(k + 1, i)
            ta, tb, tc, td = (u0, v[k + 1]), (u1, v[k + 1]), (u1, v[k + 2]), (u0, v[k + 2])
            faces += [(a, b, c), (a, c, d)]
            uvs += [[ta, tb, tc], [ta, tc, td]]
    return Mesh(vertices, np.array(faces), np.array(uvs)).outward()


def star_prism_mesh(points: int, r_out: float, r_in: float, height: float) -> Mesh:
    """An extruded star polygon: flat faces, sharp edges, concave corners between the points.
    UVs: the sides along the bottom band of the texture, the caps in its top half."""
    n = 2 * points
    angle = np.pi / 2 + 2 * np.pi * np.arange(n) / n
    radius = np.where(np.arange(n) % 2 == 0, r_out, r_in)
    xy = np.stack([radius * np.cos(angle), radius * np.sin(angle)], axis=1)
    h = height / 2
    vertices = np.concatenate(
        [np.c_[xy, -h * np.ones(n)], np.c_[xy, h * np.ones(n)], [[0, 0, -h], [0, 0, h]]]
    )
    cb, ct = 2 * n, 2 * n + 1
    perimeter = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.roll(xy, -1, 0) - xy, axis=1))])
    s = perimeter / perimeter[-1]
    v0, v1 = 0.05, 0.05 + 0.4 * height / (perimeter[-1] / 2)  # square-ish texels on the sides

    def cap_uv(i: int, centre: tuple[float, float]) -> tuple[float, float]:
        return (centre[0] + 0.22 * xy[i % n, 0] / r_out, centre[1] + 0.22 * xy[i % n, 1] / r_out)

    faces, uvs = [], []
    for i in range(n):
        j = (i + 1) % n
        faces += [(i, j, n + j), (i, n + j, n + i)]
        uvs += [
            [(s[i], v0), (s[i + 1], v0), (s[i + 1], v1)],
            [(s[i], v0), (s[i + 1], v1), (s[i], v1)],
        ]
        faces.append((cb, j, i))
        uvs.append([(0.75, 0.72), cap_uv(j, (0.75, 0.72)), cap_uv(i, (0.75, 0.72))])
        faces.append((ct, n + i, n + j))
        uvs.append([(0.25, 0.72), cap_uv(i, (0.25, 0.72)), cap_uv(j, (0.25, 0.72))])
    return Mesh(vertices, np.array(faces), np.array(uvs)).outward()


def _rotation(axis: str, degrees: float) -> np.ndarray:
    c, s = math.cos(math.radians(degrees)), math.sin(math.radians(degrees))
    if axis == "x":
        return np.array([[1, 0, 0], [0, c, -s], [0, s, c]])
    if axis == "y":
        return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])


# ----------------------------------------------------------------------------------------------
# Textures: procedural patterns baked to images (linear RGB in [0, 1], row 0 = top, v = 1)


def periodic_noise(size: int, features: float, seed: int) -> np.ndarray:
    """Smooth noise in [0, 1] that tiles in both directions (Gaussian low-pass of white noise)."""
    rng = np.random.default_rng(seed)
    freq = np.fft.fftfreq(size) * size
    fx, fy = np.meshgrid(freq, freq, indexing="ij")
    spectrum = np.fft.fft2(rng.normal(size=(size, size))) * np.exp(
        -(fx**2 + fy**2) / (2 * features**2)
    )
    noise = np.fft.ifft2(spectrum).real
    return (noise - noise.min()) / (noise.max() - noise.min())


def _uv_grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    """(u, v) at texel centres, image rows top-down (v = 1 at the top)."""
    t = (np.arange(size) + 0.5) / size
    u, v = np.meshgrid(t, t[::-1], indexing="xy")
    return u, v


def _mix(a: tuple[float, ...], b: tuple[float, ...], t: np.ndarray) -> np.ndarray:
    return np.asarray(a)[None, None] * (1 - t[..., None]) + np.asarray(b)[None, None] * t[..., None]


def _smoothstep(e0: float, e1: float, x: np.ndarray) -> np.ndarray:
    t = np.clip((x - e0) / (e1 - e0), 0.0, 1.0)
    return t * t * (3 - 2 * t)


def ring_albedo(size: int) -> np.ndarray:
    """Diagonal two-colour stripes around the ring, lightly mottled."""
    u, v = _uv_grid(size)
    stripes = _smoothstep(0.4, 0.6, np.abs(((12 * u + 2 * v) % 1.0) - 0.5) * 2)
    colour = _mix((0.04, 0.30, 0.36), (0.70, 0.55, 0.36), stripes)
    return colour * (0.8 + 0.2 * periodic_noise(size, 12, seed=1))[..., None]


def pen_albedo(size: int) -> np.ndarray:
    """Dark blue lacquer with gold bands along the rod (v runs along its length)."""
    u, v = _uv_grid(size)
    bands = np.zeros_like(v)
    for centre, width in ((0.2, 0.02), (0.5, 0.05), (0.56, 0.012), (0.8, 0.03)):
        bands = np.maximum(bands, 1 - _smoothstep(width, width + 0.006, np.abs(v - centre)))
    colour = _mix((0.03, 0.06, 0.22), (0.80, 0.55, 0.18), bands)
    return colour * (0.9 + 0.1 * periodic_noise(size, 24, seed=2))[..., None]


def star_albedo(size: int) -> np.ndarray:
    """A red and off-white checkerboard."""
    u, v = _uv_grid(size)
    checks = ((np.floor(u * 10) + np.floor(v * 10)) % 2).astype(np.float64)
    return _mix((0.60, 0.07, 0.05), (0.72, 0.70, 0.62), checks)


def star_roughness(size: int) -> np.ndarray:
    """Blotchy roughness between 0.3 and 0.8 (worn plastic)."""
    return 0.3 + 0.5 * _smoothstep(0.3, 0.7, periodic_noise(size, 8, seed=3))


def vase_albedo(size: int) -> np.ndarray:
    """A blue glaze running into cream toward the lip, with drips and thin rings."""
    u, v = _uv_grid(size)
    drip = periodic_noise(size, 10, seed=4)
    t = _smoothstep(0.24, 0.4, v + 0.12 * (drip - 0.5))
    colour = _mix((0.03, 0.10, 0.35), (0.75, 0.68, 0.52), t)
    rings = 1 - 0.5 * (1 - _smoothstep(0.004, 0.008, np.abs(((v * 9) % 1.0) - 0.5) / 9))
    return colour * rings[..., None]


# ----------------------------------------------------------------------------------------------
# The objects


@dataclass
class BenchObject:
    name: str
    description: str
    mesh: Mesh
    genus: int
    smooth: bool
    albedo: Callable[[int], np.ndarray]
    roughness: float | Callable[[int], np.ndarray]
    metallic: float
    roughness_range: tuple[float, float] | None = None


def make_ring() -> BenchObject:
    def point(u: np.ndarray, v: np.ndarray) -> np.ndarray:
        # Elliptical centre line (0.58 x 0.48), rounded-square tube (superellipse, exponent 4)
        theta, phi = 2 * np.pi * u, 2 * np.pi * v
        c, s = np.cos(phi), np.sin(phi)
        radial = 0.15 * np.sign(c) * np.abs(c) ** 0.5
        height = 0.21 * np.sign(s) * np.abs(s) ** 0.5
        return np.stack(
            [(0.58 + radial) * np.cos(theta), (0.48 + radial) * np.sin(theta), height], axis=-1
        )

    mesh = torus_mesh(point, 160, 48).transformed(_rotation("x", 35.0) @ _rotation("z", 20.0))
    return BenchObject(
        name="ring",
        description="genus-1 handle: elliptical torus with a rounded-square tube, tilted 35 deg",
        mesh=mesh.centred(),
        genus=1,
        smooth=True,
        albedo=ring_albedo,
        roughness=0.45,
        metallic=0.3,
    )


def make_pen() -> BenchObject:
    # Along the axis: a conical tip, a 0.055 radius body with a collar, a rounded cap (length 1.7)
    z = np.linspace(-0.85, 0.85, 241)
    radius = np.full_like(z, 0.055)
    tip = z < -0.6
    radius[tip] = 0.055 * np.sqrt(np.clip((z[tip] + 0.85) / 0.25, 0, 1))
    radius[np.abs(z - 0.0) < 0.04] = 0.062
    cap = z > 0.795
    radius[cap] = np.sqrt(np.clip(0.055**2 - (z[cap] - 0.795) ** 2, 0, None))
    radius[0] = radius[-1] = 0.0
    mesh = revolution_mesh(np.c_[radius, z], 64)
    mesh = mesh.transformed(_rotation("z", 30.0) @ _rotation("y", 62.0))
    return BenchObject(
        name="pen",
        description="thin rod (length 1.7, radius 0.055) with a conical tip, lying diagonally",
        mesh=mesh.centred(),
        genus=0,
        smooth=True,
        albedo=pen_albedo,
        roughness=0.3,
        metallic=0.8,
    )


def make_star() -> BenchObject:
    mesh = star_prism_mesh(5, 0.72, 0.32, 0.42).transformed(_rotation("x", -12.0))
    return BenchObject(
        name="star",
        description="five-pointed star prism: flat faces, sharp edges, concave corners",
        mesh=mesh.centred(),
        genus=0,
        smooth=False,
        albedo=star_albedo,
        roughness=star_roughness,
        metallic=0.0,
        roughness_range=(0.3, 0.8),
    )


def make_vase() -> BenchObject:
    # Outer wall from the bottom centre up to the lip, then the inner wall back down to the
    # inner bottom: a closed, thick-walled (0.035) vase of revolution, open at the top.
    t = np.linspace(0.0, 1.0, 90)
    z_out = -0.62 + 1.24 * t
    r_out = 0.30 + 0.16 * np.sin(np.pi * (t * 1.25 + 0.02)) - 0.12 * t + 0.1 * t**6
    wall = 0.035
    z_in = z_out[t > 0.09][::-1]
    r_in = r_out[t > 0.09][::-1] - wall
    base = np.linspace(0.0, r_out[0], 12)[:-1]
    inner_base = np.linspace(r_in[-1], 0.0, 12)[1:]
    lip = [
        (r_out[-1] - wall / 2 + wall / 2 * math.cos(a), 0.62 + wall / 2 * math.sin(a))
        for a in np.linspace(0.0, math.pi, 9)[1:-1]
    ]
    profile = np.concatenate(
        [
            np.c_[base, np.full_like(base, -0.62)],
            np.c_[r_out, z_out],
            np.asarray(lip),
            np.c_[r_in, z_in],
            np.c_[inner_base, np.full_like(inner_base, z_in[-1])],
        ]
    )
    return BenchObject(
        name="vase",
        description="thick-walled vase of revolution, open at the top (a concave inside)",
        mesh=revolution_mesh(profile, 128).centred(),
        genus=0,
        smooth=True,
        albedo=vase_albedo,
        roughness=0.18,
        metallic=0.0,
    )


BUILDERS: dict[str, Callable[[], BenchObject]] = {
    "ring": make_ring,
    "pen": make_pen,
    "star": make_star,
    "vase": make_vase,
}


# ----------------------------------------------------------------------------------------------
# Cameras (OpenGL camera-to-world in Blender's Z-up world, as NeRF's transform_matrix)


def look_at_opengl(eye: np.ndarray, target: np.ndarray | None = None) -> np.ndarray:
    """Camera-to-world of a camera at ``eye`` looking at ``target`` with +Z up (OpenGL axes)."""
    target = np.zeros(3) if target is None else target
    back = (eye - target) / np.linalg.norm(eye - target)
    right = np.cross([0.0, 0.0, 1.0], back)
    right /= np.linalg.norm(right)
    up = np.cross(back, right)
    c2w = np.eye(4)
    c2w[:3, 0], c2w[:3, 1], c2w[:3, 2], c2w[:3, 3] = right, up, back, eye
    return c2w


def orbit_cameras(
    count: int, distance: float, elevation_deg: tuple[float, float], azimuth0: float
) -> list[np.ndarray]:
    """``count`` cameras spread evenly over a band of the sphere (spiral, golden-angle steps)."""
    s0, s1 = (math.sin(math.radians(e)) for e in elevation_deg)
    cams = []
    for k in range(count):
        elevation = math.asin(s0 + (k + 0.5) / count * (s1 - s0))
        azimuth = azimuth0 + k * GOLDEN_ANGLE
        eye = distance * np.array(
            [
                math.cos(elevation) * math.cos(azimuth),
                math.cos(elevation) * math.sin(azimuth),
                math.sin(elevation),
            ]
        )
        cams.append(look_at_opengl(eye))
    return cams


def camera_distance(mesh: Mesh, fov_x: float, margin: float = 1.12) -> float:
    """Distance at which the mesh's bounding sphere (about the origin) fills the frame."""
    radius = float(np.linalg.norm(mesh.vertices, axis=1).max())
    return margin * radius / math.sin(fov_x / 2)


def transforms(fov_x: float, size: int, c2ws: list[np.ndarray], prefix: str) -> dict:
    return {
        "camera_angle_x": fov_x,
        "w": size,
        "h": size,
        "frames": [
            {"file_path": f"{prefix}r_{i:03d}", "transform_matrix": c2w.tolist()}
            for i, c2w in enumerate(c2ws)
        ],
    }


# ----------------------------------------------------------------------------------------------
# Environment maps: Blender equirect -> Mitsuba lat-long


def blender_to_mitsuba_envmap(image: np.ndarray) -> np.ndarray:
    """Re-lay a Blender World equirect image (H, W, C; top row first) for Mitsuba's envmap.

    Cycles reads a Z-up direction at u = 0.5 - atan2(y, x) / 2pi (texel-centred columns) and
    at row coordinate theta H / pi - 0.5 (texel-centred rows), bilinear, wrapping in u and v.
    Mitsuba's envmap (with to_world = ENVMAP_TO_WORLD) reads u = u_Blender - 0.25 and puts row
    j of an H'-row image at theta = pi j / (H' - 1). With H' = 2H + 1, Blender's row r lands on
    row 2r + 1 exactly, the even rows are the midpoints Cycles interpolates there, and the two
    pole rows are Cycles' wrapped blend of its first and last rows: lossless, not resampled.
    Blender's lossy-compressed (DWAB) studio lights hold a few texels just below zero (down to
    -2e-3 in forest.exr); those become 0, as a radiance must be.
    """
    h, w = image.shape[:2]
    if w % 4:
        raise ValueError(f"width {w} is not a multiple of 4: the column roll would not be exact")
    out = np.empty((2 * h + 1, w, image.shape[2]), dtype=np.float32)
    out[1::2] = image
    out[2:-1:2] = 0.5 * (image[:-1] + image[1:])
    out[0] = out[-1] = 0.5 * (image[0] + image[-1])
    return np.roll(np.maximum(out, 0.0), -w // 4, axis=1)


def studio_world_dir(python: Path) -> Path:
    """Blender's shipped world HDRIs (``datafiles/studiolights/world``) of that bpy install."""
    code = "import bpy; print(bpy.utils.system_resource('DATAFILES', path='studiolights/world'))"
    result = subprocess.run([str(python), "-c", code], capture_output=True, text=True, check=True)
    path = Path(result.stdout.strip().splitlines()[-1])
    if not path.is_dir():
        raise SystemExit(f"no studio-light HDRIs in {path}")
    return path


def _mitsuba() -> Any:
    import invrender  # noqa: F401  (finds the LLVM that Dr.Jit's CPU backend needs)
    from invrender.variant import select_variant

    select_variant("llvm_ad_rgb")
    import mitsuba as mi

    return mi


def read_exr(path: Path) -> np.ndarray:
    mi = _mitsuba()
    return np.array(mi.Bitmap(str(path)), dtype=np.float32)[..., :3]


def write_exr(path: Path, image: np.ndarray) -> None:
    mi = _mitsuba()
    mi.Bitmap(np.ascontiguousarray(image, dtype=np.float32)).write(str(path))


# ----------------------------------------------------------------------------------------------
# Blender subprocess


def run_blender_job(job: dict, workdir: Path, script: Path = BLENDER_SCRIPT) -> dict:
    """Render a job with Cycles in the bpy interpreter running ``script`` (output streams
    through); its log."""
    from invrender.export.blender_env import blender_python

    job_file = workdir / "job.json"
    job["log"] = str(workdir / "log.json")
    job_file.write_text(json.dumps(job))
    command = [str(blender_python()), str(script), "--", str(job_file)]
    tail: list[str] = []
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1
    ) as process:
        assert process.stdout is not None
        for line in process.stdout:  # Cycles reports every sample: pass on only our lines
            if line.startswith(PROGRESS):
                print(line[len(PROGRESS) :], end="", flush=True)
            tail = [*tail[-29:], line]
    if process.returncode != 0:
        raise SystemExit(
            f"Blender job failed (exit {process.returncode}): {' '.join(command)}\n" + "".join(tail)
        )
    return json.loads((workdir / "log.json").read_text())


def save_mesh_npz(path: Path, mesh: Mesh, normals: np.ndarray | None = None) -> None:
    arrays = {
        "vertices": mesh.vertices.astype(np.float32),
        "faces": mesh.faces.astype(np.int32),
        "uvs": mesh.uvs.astype(np.float32),
    }
    if normals is not None:
        arrays["normals"] = normals.astype(np.float32)
    np.savez(path, **arrays)


# ----------------------------------------------------------------------------------------------
# Ground truth files


def write_png(path: Path, linear: np.ndarray, srgb: bool) -> None:
    from PIL import Image

    from invrender.files import linear_to_srgb

    data = linear_to_srgb(np.clip(linear, 0, 1)) if srgb else np.clip(linear, 0, 1)
    Image.fromarray((data * 255 + 0.5).astype(np.uint8)).save(path)


def write_obj(folder: Path, mesh: Mesh, name: str, mtl: str) -> None:
    """mesh.obj (positions shared, UVs per corner) and mesh.mtl."""
    uv_keys, uv_index = np.unique(np.round(mesh.uvs.reshape(-1, 2), 6), axis=0, return_inverse=True)
    uv_index = uv_index.reshape(-1, 3) + 1
    lines = ["# invrender Cycles benchmark ground truth (Blender Z-up world)", "mtllib mesh.mtl"]
    lines += [f"v {x:.7f} {y:.7f} {z:.7f}" for x, y, z in mesh.vertices]
    lines += [f"vt {u:.6f} {v:.6f}" for u, v in uv_keys]
    lines += [f"usemtl {name}"]
    face = mesh.faces + 1
    lines += [
        f"f {a}/{ta} {b}/{tb} {c}/{tc}"
        for (a, b, c), (ta, tb, tc) in zip(face.tolist(), uv_index.tolist(), strict=True)
    ]
    (folder / "mesh.obj").write_text("\n".join(lines) + "\n")
    (folder / "mesh.mtl").write_text(mtl)


def image_stats(paths: list[Path]) -> dict:
    """Coverage and clipping of rendered RGBA PNGs (what a user of the set should know)."""
    from PIL import Image

    coverage, clipped, has_zero, has_one = [], [], True, True
    for p in paths:
        rgba = np.asarray(Image.open(p).convert("RGBA"))
        alpha = rgba[..., 3]
        obj = alpha > 0
        coverage.append(float(obj.mean()))
        clipped.append(float((rgba[..., :3].max(axis=2)[obj] >= 255).mean()) if obj.any() else 0.0)
        has_zero &= bool((alpha == 0).any())
        has_one &= bool((alpha == 255).any())
    return {
        "coverage_mean": round(float(np.mean(coverage)), 4),
        "coverage_min": round(float(np.min(coverage)), 4),
        "clipped_fraction_of_object_pixels_max": round(float(np.max(clipped)), 5),
        "every_view_has_alpha_0_and_1": has_zero and has_one,
    }


# ----------------------------------------------------------------------------------------------
# Build


@dataclass
class Settings:
    size: int = 256
    spp: int = 128
    # The test and relit views are references, not photos: scored against them, the photos' own
    # Monte Carlo noise would count as reconstruction error (at 128 spp, 10-23 % of it on the
    # vase; scripts/measure_cycles_noise_floor.py). None: as many samples as the photos.
    test_spp: int | None = 512
    train_views: int = 32
    test_views: int = 8
    texture_size: int = 512
    fov_deg: float = 40.0
    elevation_deg: tuple[float, float] = (-10.0, 70.0)
    hdri: str = "forest"
    strength: float = 0.5
    relight_hdri: str = "courtyard"
    relight_strength: float = 0.5
    threads: int = 0
    save_blend: bool = True

    @property
    def reference_spp(self) -> int:
        """The samples the test and relit views get."""
        return self.test_spp or self.spp


def photo_render(size: int, spp: int, threads: int) -> dict:
    """The Cycles job's render settings of the benchmark's photos (RGBA PNG, alpha = coverage)."""
    return {
        "width": size,
        "height": size,
        "spp": spp,
        "transparent": True,
        "format": "PNG",
        "filter": "BLACKMAN_HARRIS",
        "filter_width": 1.5,
        "threads": threads,
    }


def principled_material(obj: BenchObject, gt: Path) -> dict:
    """The Cycles job's Principled BSDF of ``obj``, its textures read from ``gt/``."""
    material: dict = {
        "type": "principled",
        "distribution": "MULTI_GGX",
        "ior": 1.5,
        "specular": 0.5,
        "metallic": obj.metallic,
        "base_color": {"image": str(gt / "base_color.png")},
    }
    if callable(obj.roughness):
        material["roughness"] = {"image": str(gt / "roughness.png")}
    else:
        material["roughness"] = obj.roughness
    return material


def build_object(
    obj: BenchObject, out: Path, settings: Settings, hdri_dir: Path, index: int, cache: dict
) -> dict:
    from invrender.geometry.topology import mesh_topology

    folder = out / obj.name
    if folder.exists():
        shutil.rmtree(folder)
    gt = folder / "gt"
    for sub in ("train", "test", "gt", f"relight/{settings.relight_hdri}"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    mesh = obj.mesh
    topology = mesh_topology(mesh.faces)
    if not topology.closed_manifold or topology.genus != obj.genus or topology.components != 1:
        raise SystemExit(f"{obj.name}: mesh topology {topology} is not a closed genus-{obj.genus}")

    # Mesh and textures
    import trimesh

    trimesh.Trimesh(mesh.vertices, mesh.faces, process=False).export(gt / "mesh.ply")
    write_png(gt / "base_color.png", obj.albedo(settings.texture_size), srgb=True)
    mtl = [f"newmtl {obj.name}", "Kd 1 1 1", "map_Kd base_color.png", f"Pm {obj.metallic}"]
    if callable(obj.roughness):
        write_png(gt / "roughness.png", obj.roughness(settings.texture_size), srgb=False)
        mtl.append("map_Pr roughness.png")
    else:
        mtl.append(f"Pr {obj.roughness}")
    material = principled_material(obj, gt)
    write_obj(gt, mesh, obj.name, "\n".join(mtl) + "\n")

    # Lighting: Blender's images (copied) and their Mitsuba re-layout with the strength baked in
    lights = {}
    for role, name, strength in (
        ("train_test", settings.hdri, settings.strength),
        ("relight", settings.relight_hdri, settings.relight_strength),
    ):
        source = hdri_dir / f"{name}.exr"
        if not source.is_file():
            names = sorted(p.stem for p in hdri_dir.glob("*.exr"))
            raise SystemExit(f"no HDRI {name!r} in {hdri_dir} (have: {', '.join(names)})")
        shutil.copyfile(source, gt / f"blender_world_{name}.exr")
        key = (name, strength)
        if key not in cache:
            cache[key] = blender_to_mitsuba_envmap(read_exr(source)) * np.float32(strength)
        write_exr(gt / f"envmap_{name}.exr", cache[key])
        lights[role] = {
            "hdri": name,
            "source": f"bpy datafiles/studiolights/world/{name}.exr (CC0, Poly Haven)",
            "blender_world_image": f"blender_world_{name}.exr",
            "blender_strength": strength,
            "mitsuba_envmap": f"envmap_{name}.exr",
            "mitsuba_scale": 1.0,
            "mitsuba_to_world": ENVMAP_TO_WORLD,
        }

    # Cameras
    fov_x = math.radians(settings.fov_deg)
    distance = camera_distance(mesh, fov_x)
    train = orbit_cameras(settings.train_views, distance, settings.elevation_deg, 0.0)
    test = orbit_cameras(settings.test_views, distance, settings.elevation_deg, GOLDEN_ANGLE / 2)
    (folder / "transforms_train.json").write_text(
        json.dumps(transforms(fov_x, settings.size, train, "./train/"), indent=1)
    )
    (folder / "transforms_test.json").write_text(
        json.dumps(transforms(fov_x, settings.size, test, "./test/"), indent=1)
    )
    relight_dir = folder / "relight" / settings.relight_hdri
    (relight_dir / "transforms.json").write_text(
        json.dumps(transforms(fov_x, settings.size, test, "./"), indent=1)
    )

    def views(c2ws: list[np.ndarray], target: Path) -> list[dict]:
        return [
            {"matrix": c.tolist(), "path": str(target / f"r_{i:03d}.png")}
            for i, c in enumerate(c2ws)
        ]

    def world(role: str) -> dict:
        info = lights[role]
        return {
            "image": str(gt / info["blender_world_image"]),
            "strength": info["blender_strength"],
        }

    render = photo_render(settings.size, settings.spp, settings.threads)
    reference_spp = settings.reference_spp
    with tempfile.TemporaryDirectory(prefix=f"cycles_bench_{obj.name}_") as tmp:
        tmp_dir = Path(tmp)
        save_mesh_npz(tmp_dir / "mesh.npz", mesh)
        job = {
            "render": render,
            "camera_angle_x": fov_x,
            "seed": 1000 * index,
            "objects": {
                obj.name: {
                    "mesh": str(tmp_dir / "mesh.npz"),
                    "smooth": obj.smooth,
                    "material": material,
                }
            },
            "passes": [
                {
                    "name": "train",
                    "world": world("train_test"),
                    "views": views(train, folder / "train"),
                },
                {
                    "name": "test",
                    "world": world("train_test"),
                    "views": views(test, folder / "test"),
                    "spp": reference_spp,
                },
                {
                    "name": f"relight/{settings.relight_hdri}",
                    "world": world("relight"),
                    "views": views(test, relight_dir),
                    "spp": reference_spp,
                },
            ],
            "blend": str(gt / "scene.blend") if settings.save_blend else None,
        }
        log = run_blender_job(job, tmp_dir)

    times = [t for ts in log["timings"].values() for t in ts]
    lo, hi = mesh.vertices.min(axis=0), mesh.vertices.max(axis=0)
    gt_material = {
        "blender_node": "Principled BSDF (Cycles, distribution Multiscatter GGX)",
        "base_color_texture": "base_color.png (sRGB, 8-bit; UVs in mesh.obj, v = 0 at the "
        "image's bottom row as in OBJ and Blender)",
        "roughness": "roughness.png (non-colour)" if callable(obj.roughness) else obj.roughness,
        "metallic": obj.metallic,
        "ior": 1.5,
        "specular_ior_level": 0.5,
    }
    if obj.roughness_range:
        gt_material["roughness_range"] = list(obj.roughness_range)
    info = {
        "name": obj.name,
        "description": obj.description,
        "genus": topology.genus,
        "watertight": topology.closed_manifold,
        "vertices": int(len(mesh.vertices)),
        "triangles": int(len(mesh.faces)),
        "bbox_min": lo.round(6).tolist(),
        "bbox_max": hi.round(6).tolist(),
        "bbox_diagonal": round(float(np.linalg.norm(hi - lo)), 6),
        "shading": "smooth" if obj.smooth else "flat",
        "material": gt_material,
        "lighting": lights,
        "world": "Blender/NeRF: Z up; mesh, cameras and envmap to_world share it",
        "cameras": {
            "camera_angle_x": fov_x,
            "distance": round(distance, 6),
            "elevation_range_deg": list(settings.elevation_deg),
            "train": len(train),
            "test": len(test),
        },
        "render": {
            "renderer": f"Blender {log['blender']} Cycles (CPU)",
            "size": settings.size,
            "spp": settings.spp,
            "test_spp": reference_spp,
            "adaptive_sampling": False,
            "denoising": False,
            "light_clamping": "off",
            "filter_glossy": 0.0,
            "max_bounces": 12,
            "pixel_filter": "Blackman-Harris, 1.5 px",
            "view_transform": "Standard (plain sRGB)",
            "images": "8-bit sRGB RGBA PNG, straight alpha = coverage",
        },
        "stats": image_stats(
            sorted((folder / "train").glob("*.png")) + sorted((folder / "test").glob("*.png"))
        ),
        "stats_relight": image_stats(sorted(relight_dir.glob("*.png"))),
        "seconds_per_view": round(float(np.mean(times)), 2),
        "seconds_render_total": round(float(np.sum(times)), 1),
    }
    (gt / "object.json").write_text(json.dumps(info, indent=1))
    return info


# ----------------------------------------------------------------------------------------------
# Checking the envmap conversion: the same spheres in Cycles and in Mitsuba


def uv_sphere(radius: float, nu: int, nv: int) -> tuple[Mesh, np.ndarray]:
    """A UV sphere and its exact vertex normals."""
    theta = np.linspace(0.0, np.pi, nv + 1)
    profile = np.c_[radius * np.sin(theta), -radius * np.cos(theta)]
    profile[0, 0] = profile[-1, 0] = 0.0
    mesh = revolution_mesh(profile, nu)
    return mesh, mesh.vertices / np.linalg.norm(mesh.vertices, axis=1, keepdims=True)


def sphere_pixels(c2w: np.ndarray, fov_x: float, size: int, radius: float) -> np.ndarray:
    """(size, size) 1 where a pixel lies wholly on the sphere, 0 wholly off, 0.5 on its edge."""
    corners = np.linspace(-1.0, 1.0, size + 1)
    x, y = np.meshgrid(corners, -corners, indexing="xy")
    t = math.tan(fov_x / 2)
    d = np.stack([x * t, y * t, -np.ones_like(x)], axis=-1) @ c2w[:3, :3].T
    d /= np.linalg.norm(d, axis=-1, keepdims=True)
    o = c2w[:3, 3]
    miss = np.linalg.norm(np.cross(d, -o), axis=-1)  # distance of the origin from each ray
    hit = (miss < radius).astype(np.float64)
    inside = hit[:-1, :-1] * hit[1:, :-1] * hit[:-1, 1:] * hit[1:, 1:]
    outside = (1 - hit[:-1, :-1]) * (1 - hit[1:, :-1]) * (1 - hit[:-1, 1:]) * (1 - hit[1:, 1:])
    return np.where(inside > 0, 1.0, np.where(outside > 0, 0.0, 0.5))


def psnr(a: np.ndarray, b: np.ndarray, where: np.ndarray) -> float:
    """PSNR of linear radiance clipped to [0, 1] (as an 8-bit photo would be), over ``where``."""
    diff = (np.clip(a, 0, 1) - np.clip(b, 0, 1))[where]
    mse = float(np.mean(diff**2))
    return float("inf") if mse == 0 else 10 * math.log10(1.0 / mse)


def verify_envmap(
    hdri_dir: Path, names: list[str], strength: float, size: int, spp: int, out: Path
) -> dict:
    """Render a diffuse and a mirror sphere under each HDRI in Cycles (Blender's image) and in
    Mitsuba (the converted image, ENVMAP_TO_WORLD, the cameras of transforms.json); PSNRs."""
    mi = _mitsuba()
    out.mkdir(parents=True, exist_ok=True)
    fov_x = math.radians(40.0)
    radius = 1.0
    mesh, normals = uv_sphere(radius, 256, 128)
    c2ws = [
        look_at_opengl(
            4.0 * np.array([math.cos(e) * math.cos(a), math.cos(e) * math.sin(a), math.sin(e)])
        )
        for e, a in ((0.35, 0.5), (-0.4, 2.8), (1.2, 4.4))
    ]
    results: dict = {
        "size": size,
        "cycles_spp": spp,
        "mitsuba_spp": 4 * spp,
        "strength": strength,
        "views": len(c2ws),
        "psnr_db": {},
    }
    with tempfile.TemporaryDirectory(prefix="cycles_envmap_check_") as tmp:
        tmp_dir = Path(tmp)
        save_mesh_npz(tmp_dir / "sphere.npz", mesh, normals)
        ply = tmp_dir / "sphere.ply"
        mi_mesh = mi.Mesh("sphere", len(mesh.vertices), len(mesh.faces), has_vertex_normals=True)
        params = mi.traverse(mi_mesh)
        params["vertex_positions"] = mesh.vertices.astype(np.float32).ravel()
        params["faces"] = mesh.faces.astype(np.uint32).ravel()
        params["vertex_normals"] = normals.astype(np.float32).ravel()
        params.update()
        mi_mesh.write_ply(str(ply))
        for name in names:
            blender_image = hdri_dir / f"{name}.exr"
            envmap = blender_to_mitsuba_envmap(read_exr(blender_image)) * np.float32(strength)
            for material in ("diffuse", "mirror"):
                spec = (
                    {"type": "diffuse", "color": [0.8, 0.8, 0.8]}
                    if material == "diffuse"
                    else {"type": "mirror"}
                )
                job = {
                    "render": {
                        "width": size,
                        "height": size,
                        "spp": spp,
                        "transparent": False,
                        "format": "EXR",
                        "filter": "BOX",
                        "filter_width": 1.0,
                    },
                    "camera_angle_x": fov_x,
                    "objects": {
                        "sphere": {
                            "mesh": str(tmp_dir / "sphere.npz"),
                            "smooth": True,
                            "material": spec,
                        }
                    },
                    "passes": [
                        {
                            "name": f"{name}/{material}",
                            "world": {"image": str(blender_image), "strength": strength},
                            "views": [
                                {
                                    "matrix": c.tolist(),
                                    "path": str(tmp_dir / f"{name}_{material}_{i}.exr"),
                                }
                                for i, c in enumerate(c2ws)
                            ],
                        }
                    ],
                }
                run_blender_job(job, tmp_dir)
                bsdf = (
                    {"type": "diffuse", "reflectance": {"type": "rgb", "value": 0.8}}
                    if material == "diffuse"
                    else {"type": "conductor", "material": "none"}
                )
                obj_px, sky_px = [], []
                cycles_all, mitsuba_all = [], []
                for i, c2w in enumerate(c2ws):
                    scene = mi.load_dict(
                        {
                            "type": "scene",
                            "integrator": {"type": "path", "max_depth": 3},
                            "sensor": {
                                "type": "perspective",
                                "fov": math.degrees(fov_x),
                                "fov_axis": "x",
                                "to_world": mi.ScalarTransform4f(
                                    c2w @ np.diag([-1.0, 1.0, -1.0, 1.0])
                                ),
                                "film": {
                                    "type": "hdrfilm",
                                    "width": size,
                                    "height": size,
                                    "pixel_format": "rgb",
                                    "rfilter": {"type": "box"},
                                },
                                "sampler": {
                                    "type": "independent",
                                    "sample_count": 4 * spp,
                                    "seed": i,
                                },
                            },
                            "env": {
                                "type": "envmap",
                                "bitmap": mi.Bitmap(envmap),
                                "to_world": mi.ScalarTransform4f(np.array(ENVMAP_TO_WORLD)),
                            },
                            "sphere": {"type": "ply", "filename": str(ply), "bsdf": bsdf},
                        }
                    )
                    mitsuba = np.array(mi.render(scene), dtype=np.float64)[..., :3]
                    cycles = read_exr(tmp_dir / f"{name}_{material}_{i}.exr").astype(np.float64)
                    write_exr(out / f"{name}_{material}_{i}_cycles.exr", cycles)
                    write_exr(out / f"{name}_{material}_{i}_mitsuba.exr", mitsuba)
                    mask = sphere_pixels(c2w, fov_x, size, radius)
                    obj_px.append(mask == 1.0)
                    sky_px.append(mask == 0.0)
                    cycles_all.append(cycles)
                    mitsuba_all.append(mitsuba)
                c, m = np.stack(cycles_all), np.stack(mitsuba_all)
                on, off = np.stack(obj_px), np.stack(sky_px)
                rel = float(np.abs(c - m)[on].mean() / max(m[on].mean(), 1e-9))
                results["psnr_db"][f"{name}/{material}"] = {
                    "sphere": round(psnr(c, m, on), 2),
                    "background": round(psnr(c, m, off), 2),
                    "full_frame": round(psnr(c, m, np.ones_like(on)), 2),
                    "sphere_relative_mae": round(rel, 5),
                }
    (out / "envmap_check.json").write_text(json.dumps(results, indent=1))
    return results


# ----------------------------------------------------------------------------------------------
# CLI


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "datasets" / "cycles_bench")
    parser.add_argument("--objects", nargs="+", choices=OBJECTS, default=list(OBJECTS))
    parser.add_argument("--size", type=int, help="image width and height in px (256)")
    parser.add_argument("--spp", type=int, help="Cycles samples per pixel (128)")
    parser.add_argument(
        "--test-spp", type=int, help="Cycles samples of the test and relit views (512)"
    )
    parser.add_argument("--train-views", type=int, help="training views (32)")
    parser.add_argument("--test-views", type=int, help="test views, also relit (8)")
    parser.add_argument("--texture-size", type=int, help="baked texture size in px (512)")
    parser.add_argument("--hdri", default="forest", help="Blender studio-light world (forest)")
    parser.add_argument("--relight-hdri", default="courtyard", help="second HDRI (courtyard)")
    parser.add_argument(
        "--strength",
        type=float,
        default=0.5,
        help="World strength (0.5 = -1 EV: nothing diffuse clips)",
    )
    parser.add_argument("--relight-strength", type=float, default=0.5)
    parser.add_argument("--threads", type=int, default=0, help="Cycles threads (0: all cores)")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke build: 32 px, 4 + 2 views, 4 spp, 64 px textures, no .blend",
    )
    parser.add_argument(
        "--verify-envmap",
        action="store_true",
        help="only check the HDRI conversion: spheres in Cycles vs Mitsuba",
    )
    parser.add_argument("--verify-size", type=int, default=64)
    parser.add_argument("--verify-spp", type=int, default=512)
    return parser.parse_args(argv)


def settings_from(args: argparse.Namespace) -> Settings:
    s = Settings(
        hdri=args.hdri,
        strength=args.strength,
        relight_hdri=args.relight_hdri,
        relight_strength=args.relight_strength,
        threads=args.threads,
    )
    if args.quick:
        s.size, s.spp, s.train_views, s.test_views, s.texture_size = 32, 4, 4, 2, 64
        s.test_spp, s.save_blend = None, False
    for key in ("size", "spp", "test_spp", "train_views", "test_views", "texture_size"):
        if getattr(args, key) is not None:
            setattr(s, key, getattr(args, key))
    if s.test_spp is not None and s.test_spp < s.spp:
        if args.test_spp is not None:
            raise SystemExit(
                f"--test-spp {s.test_spp} is below --spp {s.spp}: the test and relit views "
                "are the references and must be no noisier than the photos; raise it"
            )
        s.test_spp = s.spp  # the default 512 under photos of more samples
    return s


def main(argv: list[str] | None = None) -> int:
    sys.path.insert(0, str(REPO))  # run from a checkout without installing
    from invrender.export.blender_env import blender_python

    args = parse_args(argv)
    hdri_dir = studio_world_dir(blender_python())
    args.out.mkdir(parents=True, exist_ok=True)
    if args.verify_envmap:
        names = list(dict.fromkeys([args.hdri, args.relight_hdri]))
        start = time.perf_counter()
        result = verify_envmap(
            hdri_dir,
            names,
            args.strength,
            args.verify_size,
            args.verify_spp,
            args.out / "envmap_check",
        )
        print(
            f"\nCycles vs Mitsuba, {args.verify_size} px, {len(names)} HDRIs x 3 views "
            f"({time.perf_counter() - start:.0f} s); PSNR of linear radiance clipped to [0, 1]:"
        )
        print(
            f"{'hdri/material':24s} {'sphere':>8s} {'background':>11s} {'frame':>8s} "
            f"{'rel MAE':>8s}"
        )
        for key, r in result["psnr_db"].items():
            print(
                f"{key:24s} {r['sphere']:8.2f} {r['background']:11.2f} {r['full_frame']:8.2f} "
                f"{r['sphere_relative_mae']:8.4f}"
            )
        return 0

    settings = settings_from(args)
    start = time.perf_counter()
    cache: dict = {}
    summary = {
        "settings": dict(vars(settings)),
        "cpu_cores": os.cpu_count(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "objects": {},
    }
    for index, name in enumerate(args.objects):
        t0 = time.perf_counter()
        print(
            f"[{name}] building ({settings.train_views} + {settings.test_views} + "
            f"{settings.test_views} relit views, {settings.size} px, {settings.spp} spp, "
            f"test and relit {settings.reference_spp} spp)",
            flush=True,
        )
        info = build_object(BUILDERS[name](), args.out, settings, hdri_dir, index, cache)
        info["seconds_object_total"] = round(time.perf_counter() - t0, 1)
        summary["objects"][name] = {
            k: info[k]
            for k in (
                "genus",
                "triangles",
                "bbox_diagonal",
                "seconds_per_view",
                "seconds_object_total",
                "stats",
                "stats_relight",
            )
        }
        print(
            f"[{name}] done in {info['seconds_object_total']:.0f} s "
            f"({info['seconds_per_view']:.2f} s per view)",
            flush=True,
        )
    summary["seconds_total"] = round(time.perf_counter() - start, 1)
    summary_file = args.out / "build_summary.json"
    if summary_file.is_file():  # a build of a subset keeps the other objects' entries
        previous = json.loads(summary_file.read_text())
        summary["objects"] = {**previous.get("objects", {}), **summary["objects"]}
    summary_file.write_text(json.dumps(summary, indent=1))
    print(f"built {len(args.objects)} objects in {summary['seconds_total']:.0f} s -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
