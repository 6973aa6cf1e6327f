"""Build a capture benchmark that looks like a phone capture, rendered by Blender Cycles.

One capture per object: the object stands alone on a wood-textured table top, in a captured HDRI
(Blender's studio lights, CC0 from Poly Haven) that is visible behind it, photographed along a
hand-held orbit (uneven azimuth steps, wandering height and distance, a few degrees of roll),
saved as JPEG (quality 90) with a per-photo exposure change (±0.3 EV) and white balance change,
as a phone would. The photos are what a user would have; the truth is kept aside for scoring
(scripts/bench_capture.py):

    vase  a thick-walled vase of revolution with a blue-to-cream glaze (make_cycles_benchmark's)
    mug   a mug with a handle (genus 1), a cream glaze with painted bands and speckles

``OUT/<capture>/photos/IMG_*.jpg`` and ``OUT/<capture>/truth/``: ``transforms.json`` (the true
cameras, NeRF style: OpenGL camera-to-world in Blender's Z-up world, file paths into
``../photos``), ``masks/IMG_*.png`` (the object only, not the table; from Cycles' alpha with the
table held out), ``mesh.obj`` / ``mesh.ply`` (the object), ``capture.json`` (the per-photo EV
and white-balance gains, the auto-exposure, the HDRI, render settings and times).

    python scripts/make_capture_benchmark.py [--out datasets/capture_bench] [--captures vase mug]
    python scripts/make_capture_benchmark.py --quick --out /tmp/capture   # smoke build
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from make_cycles_benchmark import (  # noqa: E402  (a sibling script, not a package)
    Mesh,
    _grid_faces,
    _mix,
    _smoothstep,
    _uv_grid,
    look_at_opengl,
    make_vase,
    periodic_noise,
    read_exr,
    revolution_mesh,
    run_blender_job,
    save_mesh_npz,
    studio_world_dir,
    vase_albedo,
    write_obj,
    write_png,
)

BLENDER_SCRIPT = Path(__file__).resolve().with_name("capture_bench_blender.py")
CAPTURES = ("vase", "mug")
MID_GREY = 0.18  # the auto-exposure puts the median luminance of the capture here


# ----------------------------------------------------------------------------------------------
# Geometry: Z-up, the table top at z = 0, the object standing on it


def standing(mesh: Mesh) -> Mesh:
    """The mesh centred over the origin with its lowest point on z = 0."""
    lo, hi = mesh.vertices.min(axis=0), mesh.vertices.max(axis=0)
    shift = np.array([(lo[0] + hi[0]) / 2, (lo[1] + hi[1]) / 2, lo[2]])
    return Mesh(mesh.vertices - shift, mesh.faces, mesh.uvs)


def merged(*meshes: Mesh) -> Mesh:
    """One mesh of several closed parts (they may overlap, as a handle glued to a body)."""
    offsets = np.cumsum([0] + [len(m.vertices) for m in meshes[:-1]])
    return Mesh(
        np.concatenate([m.vertices for m in meshes]),
        np.concatenate([m.faces + o for m, o in zip(meshes, offsets, strict=True)]),
        np.concatenate([m.uvs for m in meshes]),
    )


def table_mesh(width: float, depth: float, thickness: float) -> Mesh:
    """A box whose top face (z = 0) carries the whole texture; the sides a thin strip of it."""
    x, y, z = width / 2, depth / 2, thickness
    quads = [  # corners counter-clockwise seen from outside, with their UVs
        ([(-x, -y, 0), (x, -y, 0), (x, y, 0), (-x, y, 0)], [(0, 0), (1, 0), (1, 1), (0, 1)]),
        ([(-x, -y, -z), (-x, y, -z), (x, y, -z), (x, -y, -z)], [(0, 0), (0, 1), (1, 1), (1, 0)]),
        (
            [(-x, -y, -z), (x, -y, -z), (x, -y, 0), (-x, -y, 0)],
            [(0, 0), (1, 0), (1, 0.02), (0, 0.02)],
        ),
        ([(x, y, -z), (-x, y, -z), (-x, y, 0), (x, y, 0)], [(1, 1), (0, 1), (0, 0.98), (1, 0.98)]),
        ([(x, -y, -z), (x, y, -z), (x, y, 0), (x, -y, 0)], [(1, 0), (1, 1), (0.98, 1), (0.98, 0)]),
        (
            [(-x, y, -z), (-x, -y, -z), (-x, -y, 0), (-x, y, 0)],
            [(0, 1), (0, 0), (0.02, 0), (0.02, 1)],
        ),
    ]
    vertices, faces, uvs = [], [], []
    for corners, uv in quads:
        base = len(vertices)
        vertices += corners
        faces += [(base, base + 1, base + 2), (base, base + 2, base + 3)]
        uvs += [[uv[0], uv[1], uv[2]], [uv[0], uv[2], uv[3]]]
    return Mesh(np.array(vertices, float), np.array(faces), np.array(uvs, float))


def tube_mesh(point: Callable[[np.ndarray, np.ndarray], np.ndarray], nu: int, nv: int) -> Mesh:
    """A closed tube: ``point(u, v)`` with u in [0, 1] along it (nu + 1 rings) and v in [0, 1)
    around it, each end closed by a fan to its ring's centre."""
    iu, iv = np.meshgrid(np.arange(nu + 1) / nu, np.arange(nv) / nv, indexing="ij")
    rings = point(iu, iv).reshape(-1, 3)
    eu, ev = np.meshgrid([0.0, 1.0], np.arange(nv) / nv, indexing="ij")
    caps = point(eu, ev).mean(axis=1)
    first, last = len(rings), len(rings) + 1
    faces, uvs = _grid_faces(lambda i, j: i * nv + (j % nv), nu, nv)
    for j in range(nv):  # the two end caps
        faces += [(first, j, (j + 1) % nv), (last, nu * nv + (j + 1) % nv, nu * nv + j)]
        uvs += [[(0.0, 0.5), (0.0, j / nv), (0.0, (j + 1) / nv)]]
        uvs += [[(1.0, 0.5), (1.0, (j + 1) / nv), (1.0, j / nv)]]
    vertices = np.concatenate([rings, caps])
    return Mesh(vertices, np.array(faces), np.array(uvs, float)).outward()


def wood_albedo(size: int, seed: int = 7) -> np.ndarray:
    """Planks of wood: growth rings warped by low-frequency noise, streaky grain along u, a
    different tone per plank, and wear: stains, dents and pores at many scales (the SfM
    tests' noise texture as shading). Without the wear SIFT found ~1 100 features per
    1024 px photo and structure from motion placed 2-3 of 30 photos."""
    from tests.photo_helpers import noise_texture

    u, v = _uv_grid(size)
    planks = 5
    plank = np.minimum((v * planks).astype(int), planks - 1)
    warp = periodic_noise(size, 3, seed)
    rings = 0.5 + 0.5 * np.sin(2 * np.pi * (7 * v * planks + 2.5 * warp + 0.37 * plank))
    fine = periodic_noise(size, size / 6, seed + 1)
    kernel = max(1, size // 24)  # streak the fine noise along the grain (u)
    streaks = np.cumsum(np.pad(fine, ((0, 0), (kernel, 0)), mode="wrap"), axis=1)
    grain = (streaks[:, kernel:] - streaks[:, :-kernel]) / kernel
    grain = (grain - grain.min()) / (grain.max() - grain.min())
    tone = np.random.default_rng(seed).uniform(0.8, 1.15, planks)[plank]
    colour = _mix((0.22, 0.10, 0.04), (0.50, 0.30, 0.14), 0.6 * rings + 0.4 * grain)
    seams = _smoothstep(0.0, 0.004, np.abs((v * planks + 0.5) % 1.0 - 0.5) / planks)
    wear = noise_texture(size, seed + 2).mean(axis=2)
    shade = tone * (0.35 + 0.65 * seams) * (0.45 + 0.75 * wear)
    return np.clip(colour * shade[..., None], 0.0, 1.0)


def mug_mesh() -> Mesh:
    """A thick-walled cup of revolution and a handle whose two ends are buried in its wall."""
    t = np.linspace(0.0, 1.0, 40)
    r_out = 0.40 + 0.03 * t - 0.02 * np.sin(np.pi * t)
    z_out = 0.95 * t
    wall = 0.04
    base = np.linspace(0.0, r_out[0] - 0.02, 8)[:-1]
    foot = [(r_out[0] - 0.02 + 0.02 * math.sin(a), 0.02 - 0.02 * math.cos(a)) for a in (0.5, 1.0)]
    lip = [
        (r_out[-1] - wall / 2 + wall / 2 * math.cos(a), 0.95 + wall / 2 * math.sin(a))
        for a in np.linspace(0.0, math.pi, 7)[1:-1]
    ]
    inner = t > 0.08
    r_in, z_in = (r_out[inner] - wall)[::-1], z_out[inner][::-1]
    inner_base = np.linspace(r_in[-1], 0.0, 8)[1:]
    profile = np.concatenate(
        [
            np.c_[base, np.zeros_like(base)],
            np.asarray(foot),
            np.c_[r_out[1:], z_out[1:]],
            np.asarray(lip),
            np.c_[r_in, z_in],
            np.c_[inner_base, np.full_like(inner_base, z_in[-1])],
        ]
    )
    body = revolution_mesh(profile, 96)

    # The handle: an arc of an oval tube whose two ends lie inside the cup's wall (the mid-wall
    # radius at the ends' heights), so nothing of it shows inside the cup. (The first build
    # used a closed torus half sunk into the wall: its inner half crossed the cavity as a rod,
    # which no mug has.)
    end = math.radians(95.5)  # x = 0.40 + 0.2 cos(95.5 deg) = 0.381: between r_in and r_out

    def handle_point(u: np.ndarray, v: np.ndarray) -> np.ndarray:
        a, b = end * (2 * u - 1), 2 * np.pi * v
        major, tube_w, tube_t = 0.25, 0.045, 0.03  # an oval tube, flatter across
        x = 0.40 + (major + tube_w * np.cos(b)) * np.cos(a) * 0.8
        z = 0.50 + (major + tube_w * np.cos(b)) * np.sin(a)
        return np.stack([x, tube_t * np.sin(b) * 1.6, z], axis=-1)

    handle = tube_mesh(handle_point, 48, 16)
    handle = Mesh(handle.vertices, handle.faces, handle.uvs * [1.0, 0.05] + [0.0, 0.93])
    return merged(body, handle)


def mug_albedo(size: int) -> np.ndarray:
    """Cream glaze with dark green painted bands, brown speckles and a terracotta foot."""
    u, v = _uv_grid(size)
    wobble = 0.01 * np.sin(2 * np.pi * 3 * u) + 0.02 * (periodic_noise(size, 6, 11) - 0.5)
    bands = np.zeros_like(v)
    for centre, width in ((0.30, 0.025), (0.36, 0.008), (0.62, 0.018)):
        bands = np.maximum(
            bands, 1 - _smoothstep(width, width + 0.004, np.abs(v + wobble - centre))
        )
    colour = _mix((0.78, 0.72, 0.58), (0.05, 0.22, 0.12), bands)
    speck = _smoothstep(0.80, 0.86, periodic_noise(size, size / 5, 12))
    colour = colour * (1 - speck[..., None]) + np.array([0.25, 0.13, 0.06]) * speck[..., None]
    foot = _smoothstep(0.07, 0.06, v)
    return colour * (1 - foot[..., None]) + np.array([0.45, 0.20, 0.10]) * foot[..., None]


@dataclass
class CaptureObject:
    name: str
    description: str
    mesh: Mesh
    albedo: Callable[[int], np.ndarray]
    roughness: float
    hdri: str
    strength: float
    seed: int


def make_capture(name: str) -> CaptureObject:
    if name == "vase":
        vase = make_vase()
        return CaptureObject(
            "vase",
            "thick-walled vase of revolution, blue glaze running into cream, in a room (interior)",
            standing(vase.mesh),
            vase_albedo,
            0.25,
            "interior",
            0.35,
            1,
        )
    if name == "mug":
        return CaptureObject(
            "mug",
            "mug with a handle (genus 1), cream glaze with green bands, outdoors (courtyard)",
            standing(mug_mesh()),
            mug_albedo,
            0.35,
            "courtyard",
            0.5,
            2,
        )
    raise SystemExit(f"unknown capture {name!r} (have: {', '.join(CAPTURES)})")


# ----------------------------------------------------------------------------------------------
# A hand-held orbit


def handheld_orbit(
    count: int, height: float, fov_x: float, aspect: float, rng: np.random.Generator
) -> list[np.ndarray]:
    """OpenGL camera-to-world matrices around an object ``height`` tall standing at the origin:
    one lap with uneven azimuth steps (±35 %), elevation wandering between about 15° and 42°,
    distance ±6 %, the aim off by a few % of the height, and a roll of a few degrees."""
    vfov = 2 * math.atan(math.tan(fov_x / 2) / aspect)
    distance = height / (0.42 * 2 * math.tan(vfov / 2))  # the object ~42 % of the frame height
    steps = 1 + 0.35 * rng.uniform(-1, 1, count)
    azimuth = np.concatenate([[0.0], np.cumsum(steps[:-1])]) * 2 * np.pi / steps.sum()
    phase = rng.uniform(0, 2 * np.pi)
    cams = []
    for k, az in enumerate(azimuth):
        elevation = math.radians(
            28 + 10 * math.sin(4 * np.pi * k / count + phase) + rng.normal(0, 2)
        )
        d = distance * (1 + 0.06 * rng.normal())
        target = np.array([0.0, 0.0, 0.45 * height]) + rng.normal(0, 0.04 * height, 3)
        eye = target + d * np.array(
            [
                math.cos(elevation) * math.cos(az),
                math.cos(elevation) * math.sin(az),
                math.sin(elevation),
            ]
        )
        c2w = look_at_opengl(eye, target)
        roll = math.radians(float(np.clip(rng.normal(0, 3.5), -8, 8)))
        c, s = math.cos(roll), math.sin(roll)
        c2w[:3, :2] = c2w[:3, :2] @ np.array([[c, s], [-s, c]])
        cams.append(c2w)
    return cams


# ----------------------------------------------------------------------------------------------
# The phone: auto-exposure, per-photo EV and white balance, JPEG


def phone_jpeg(linear: np.ndarray, gain: float, wb: np.ndarray, path: Path) -> None:
    """Scale linear RGB by ``gain`` and the per-channel white balance ``wb``, encode as sRGB
    (clipped, as a camera clips) and save as a JPEG of quality 90 (4:2:0 chroma, as phones)."""
    from PIL import Image

    from invrender.files import linear_to_srgb

    encoded = linear_to_srgb(linear[..., :3] * gain * wb[None, None, :])
    Image.fromarray((encoded * 255 + 0.5).astype(np.uint8)).save(path, quality=90)


def luminance(rgb: np.ndarray) -> np.ndarray:
    return rgb[..., :3] @ np.array([0.2126, 0.7152, 0.0722])


def photo_settings(count: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Per photo: EV in [-0.3, 0.3] and white-balance gains (R, G, B), a colour temperature
    shift of up to ±5 % between red and blue and a green tint of up to ±2 %."""
    ev = rng.uniform(-0.3, 0.3, count)
    temp = rng.uniform(-0.05, 0.05, count)
    tint = rng.uniform(-0.02, 0.02, count)
    return ev, np.stack([1 + temp, 1 + tint, 1 - temp], axis=1)


# ----------------------------------------------------------------------------------------------
# Build


@dataclass
class Settings:
    views: int = 30
    width: int = 1024
    height: int = 768
    fov_deg: float = 60.0  # horizontal, about a phone's main camera (26 mm equivalent: 69°)
    spp: int = 4
    mask_spp: int = 8
    max_bounces: int = 2
    texture_size: int = 1024
    table_texture_size: int = 2048
    denoise: bool = True
    captures: list[str] = field(default_factory=lambda: list(CAPTURES))


def build_capture(obj: CaptureObject, out: Path, settings: Settings, hdri_dir: Path) -> dict:
    import trimesh

    folder = out / obj.name
    if folder.exists():
        shutil.rmtree(folder)
    photos, truth = folder / "photos", folder / "truth"
    for sub in (photos, truth / "masks"):
        sub.mkdir(parents=True)
    rng = np.random.default_rng(obj.seed)
    mesh = obj.mesh
    height = float(mesh.vertices[:, 2].max())

    trimesh.Trimesh(mesh.vertices, mesh.faces, process=False).export(truth / "mesh.ply")
    write_png(truth / "base_color.png", obj.albedo(settings.texture_size), srgb=True)
    mtl = f"newmtl {obj.name}\nKd 1 1 1\nmap_Kd base_color.png\nPr {obj.roughness}\n"
    write_obj(truth, mesh, obj.name, mtl)

    fov_x = math.radians(settings.fov_deg)
    aspect = settings.width / settings.height
    c2ws = handheld_orbit(settings.views, height, fov_x, aspect, rng)
    names = [f"IMG_{1001 + k:04d}" for k in range(settings.views)]
    ev, wb = photo_settings(settings.views, rng)
    (truth / "transforms.json").write_text(
        json.dumps(
            {
                "camera_angle_x": fov_x,
                "w": settings.width,
                "h": settings.height,
                "note": "true cameras: OpenGL camera-to-world in Blender's Z-up world (table "
                "top z = 0, the object standing at the origin)",
                "frames": [
                    {"file_path": f"../photos/{n}.jpg", "transform_matrix": c.tolist()}
                    for n, c in zip(names, c2ws, strict=True)
                ],
            },
            indent=1,
        )
    )

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        save_mesh_npz(work / "object.npz", mesh)
        table = table_mesh(3.2 * height / 1.24, 2.4 * height / 1.24, 0.06)
        save_mesh_npz(work / "table.npz", table)
        write_png(work / "table.png", wood_albedo(settings.table_texture_size), srgb=True)
        job = {
            "objects": {
                obj.name: {
                    "mesh": str(work / "object.npz"),
                    "smooth": True,
                    "material": {
                        "type": "principled",
                        "base_color": {"image": str(truth / "base_color.png")},
                        "roughness": obj.roughness,
                        "metallic": 0.0,
                    },
                },
                "table": {
                    "mesh": str(work / "table.npz"),
                    "smooth": False,
                    "material": {
                        "type": "principled",
                        "base_color": {"image": str(work / "table.png")},
                        "roughness": 0.45,
                        "metallic": 0.0,
                    },
                },
            },
            "holdout": ["table"],
            "world": {"image": str(hdri_dir / f"{obj.hdri}.exr"), "strength": obj.strength},
            "camera_angle_x": fov_x,
            "render": {
                "spp": settings.spp,
                "mask_spp": settings.mask_spp,
                "denoise": settings.denoise,
                "max_bounces": settings.max_bounces,
                "width": settings.width,
                "height": settings.height,
                "transparent": False,
                "format": "EXR",
            },
            "seed": obj.seed * 1000,
            "views": [
                {
                    "matrix": c.tolist(),
                    "path": str(work / f"{n}.exr"),
                    "mask_path": str(work / f"{n}_mask.png"),
                }
                for n, c in zip(names, c2ws, strict=True)
            ],
        }
        t0 = time.perf_counter()
        log = run_blender_job(job, work, BLENDER_SCRIPT)
        render_s = time.perf_counter() - t0

        from PIL import Image

        renders = [read_exr(work / f"{n}.exr") for n in names]
        exposure = MID_GREY / float(
            np.median(np.concatenate([luminance(r).ravel() for r in renders]))
        )
        coverage = []
        for n, r, e, g in zip(names, renders, ev, wb, strict=True):
            phone_jpeg(r, exposure * 2.0 ** float(e), g, photos / f"{n}.jpg")
            alpha = np.asarray(Image.open(work / f"{n}_mask.png").convert("RGBA"))[..., 3]
            mask = alpha >= 128
            coverage.append(float(mask.mean()))
            Image.fromarray(mask.astype(np.uint8) * 255, mode="L").save(
                truth / "masks" / f"{n}.png"
            )

    agreement = check_truth(truth, mesh)
    info = {
        "object": obj.name,
        "description": obj.description,
        "world": "Z-up (Blender), table top z = 0, the object standing at the origin",
        "object_height": height,
        "hdri": f"bpy datafiles/studiolights/world/{obj.hdri}.exr (CC0, Poly Haven)",
        "hdri_strength": obj.strength,
        "auto_exposure_gain": exposure,
        "photos": {
            n: {"ev": round(float(e), 4), "white_balance_rgb": [round(float(x), 4) for x in g]}
            for n, e, g in zip(names, ev, wb, strict=True)
        },
        "mask_coverage": {"min": min(coverage), "max": max(coverage)},
        "mask_vs_mesh_projection_iou_min": round(agreement, 4),
        "render": {**job["render"], "fov_x_deg": settings.fov_deg, "jpeg_quality": 90},
        "blender": log.get("blender"),
        "seconds": {
            "all": round(render_s, 1),
            "photo_mean": round(float(np.mean(log["timings"]["photos"])), 2),
            "mask_mean": round(float(np.mean(log["timings"]["masks"])), 2),
        },
    }
    (truth / "capture.json").write_text(json.dumps(info, indent=1))
    return info


def check_truth(truth: Path, mesh: Mesh) -> float:
    """The smallest IoU between a true mask (Cycles) and the object's mesh projected through
    the true camera as invrender reads it: the cameras, masks and mesh agree, or the build
    stops (SystemExit). The projection fills its outline's pixels too (about half a pixel all
    round): at 1024 px that costs about 1 % of IoU, at 256 px about 3 %."""
    from PIL import Image

    from invrender.data.transforms import read_transforms
    from invrender.geometry.visual_hull import project_silhouette

    worst = 1.0
    for frame in read_transforms(truth / "transforms.json"):
        mask = np.asarray(Image.open(truth / "masks" / f"{frame.image.stem}.png")) > 127
        h, w = mask.shape
        silhouette = project_silhouette((mesh.vertices, mesh.faces), frame.camera, h, w)
        worst = min(worst, float((mask & silhouette).sum() / max(1, (mask | silhouette).sum())))
    minimum = 0.97 if w >= 512 else 0.95
    if worst < minimum:
        raise SystemExit(f"{truth}: a true mask and the projected mesh agree only {worst:.3f}")
    return worst


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=Path("datasets/capture_bench"))
    p.add_argument("--captures", nargs="+", default=list(CAPTURES), choices=CAPTURES)
    p.add_argument("--views", type=int, default=30)
    p.add_argument("--size", default="1024x768", help="photo size WxH")
    p.add_argument("--spp", type=int, default=4, help="Cycles samples per pixel (denoised)")
    p.add_argument("--no-denoise", action="store_true")
    p.add_argument("--quick", action="store_true", help="6 views at 256x192, 4 spp (a smoke test)")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    from invrender.export.blender_env import blender_python

    args = parse_args(argv)
    w, h = (int(v) for v in args.size.split("x"))
    settings = Settings(args.views, w, h, spp=args.spp, denoise=not args.no_denoise)
    if args.quick:
        settings = Settings(
            6, 256, 192, spp=4, mask_spp=4, texture_size=256, table_texture_size=512
        )
    hdri_dir = studio_world_dir(blender_python())
    args.out.mkdir(parents=True, exist_ok=True)
    for name in args.captures:
        t0 = time.perf_counter()
        info = build_capture(make_capture(name), args.out, settings, hdri_dir)
        print(
            f"{name}: {settings.views} photos {settings.width}x{settings.height} in "
            f"{time.perf_counter() - t0:.0f} s ({info['seconds']['photo_mean']} s per photo, "
            f"{info['seconds']['mask_mean']} s per mask) -> {args.out / name}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
