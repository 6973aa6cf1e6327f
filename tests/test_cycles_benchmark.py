"""scripts/make_cycles_benchmark.py: the Cycles-rendered benchmark and its envmap conversion.

The build test runs the script as a user would (the project's Python, Blender in .bpy-venv as a
subprocess) with ``--quick`` (32 px, 4 + 2 views, 4 spp) on one object: about 10 s here.
"""

from __future__ import annotations

import importlib.util
import json
import math
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
from export_helpers import require_or_skip

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "scripts" / "make_cycles_benchmark.py"


def _bench_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_cycles_benchmark", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def _bpy_available() -> bool:
    from invrender.errors import SetupError
    from invrender.export.blender_env import blender_python

    try:
        blender_python()
    except SetupError:
        return False
    return True


def _cycles_lookup(image: np.ndarray, directions: np.ndarray) -> np.ndarray:
    """Cycles' equirect lookup of Z-up directions: u = 0.5 - atan2(y, x) / 2pi, row coordinate
    theta H / pi - 0.5, texel-centred columns, bilinear, wrapping in both axes."""
    h, w = image.shape[:2]
    u = (0.5 - np.arctan2(directions[:, 1], directions[:, 0]) / (2 * np.pi)) % 1.0
    theta = np.arccos(np.clip(directions[:, 2], -1, 1))
    x, y = u * w - 0.5, theta * h / np.pi - 0.5
    x0, y0 = np.floor(x).astype(int), np.floor(y).astype(int)
    fx, fy = (x - x0)[:, None], (y - y0)[:, None]

    def at(r: np.ndarray, c: np.ndarray) -> np.ndarray:
        return image[r % h, c % w]

    top = at(y0, x0) * (1 - fx) + at(y0, x0 + 1) * fx
    bottom = at(y0 + 1, x0) * (1 - fx) + at(y0 + 1, x0 + 1) * fx
    return top * (1 - fy) + bottom * fy


def test_envmap_conversion_reproduces_cycles_lookup(variant):
    """Mitsuba's envmap of the converted image, with the recorded to_world, returns Cycles'
    bilinear lookup of Blender's image in every direction, poles included."""
    import drjit as dr
    import mitsuba as mi

    bench = _bench_module()
    rng = np.random.default_rng(0)
    blender = rng.uniform(0.1, 2.0, size=(8, 16, 3)).astype(np.float32)
    emitter = mi.load_dict(
        {
            "type": "envmap",
            "bitmap": mi.Bitmap(bench.blender_to_mitsuba_envmap(blender)),
            "to_world": mi.ScalarTransform4f(np.array(bench.ENVMAP_TO_WORLD)),
        }
    )
    d = rng.normal(size=(4000, 3))
    d[:20] = [0.01, 0.02, 1.0]  # near both poles
    d[20:40] = [0.02, -0.01, -1.0]
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    si = dr.zeros(mi.SurfaceInteraction3f, len(d))
    si.wi = mi.Vector3f(*(-d.T.astype(np.float32)))  # the envmap looks up -wi
    mitsuba = np.array(emitter.eval(si), dtype=np.float64).reshape(3, -1).T
    expected = _cycles_lookup(blender.astype(np.float64), d)
    assert np.abs(mitsuba - expected).max() < 2e-3 * expected.max()


def test_orbit_cameras_look_at_the_origin_with_z_up():
    bench = _bench_module()
    cams = bench.orbit_cameras(12, 3.0, (-10.0, 70.0), 0.0)
    for c2w in cams:
        assert np.allclose(c2w[:3, :3] @ c2w[:3, :3].T, np.eye(3), atol=1e-12)
        assert np.isclose(np.linalg.norm(c2w[:3, 3]), 3.0)
        assert np.allclose(np.cross(c2w[:3, 3], -c2w[:3, 2]), 0, atol=1e-9)  # looks at 0
        assert abs(c2w[2, 0]) < 1e-12  # the image x axis stays horizontal (Z up)
    elevations = [math.degrees(math.asin(c[2, 3] / 3.0)) for c in cams]
    assert min(elevations) > -10 and max(elevations) < 70 and max(elevations) > 45


def test_every_object_is_closed_with_its_genus_and_centred():
    from invrender.geometry.topology import mesh_topology

    bench = _bench_module()
    for name, build in bench.BUILDERS.items():
        obj = build()
        topo = mesh_topology(obj.mesh.faces)
        assert topo.closed_manifold and topo.components == 1, name
        assert topo.genus == obj.genus, name
        lo, hi = obj.mesh.vertices.min(axis=0), obj.mesh.vertices.max(axis=0)
        assert np.allclose((lo + hi) / 2, 0, atol=1e-9), name
        assert 1.2 < np.linalg.norm(hi - lo) < 2.5, name  # about unit size
        assert obj.mesh.uvs.shape == (len(obj.mesh.faces), 3, 2), name


@pytest.fixture(scope="module")
def quick_build(tmp_path_factory) -> Path:
    require_or_skip(
        _bpy_available(), "Blender's bpy module (.bpy-venv)", "bash scripts/setup_blender_env.sh"
    )
    out = tmp_path_factory.mktemp("cycles_bench")
    command = [sys.executable, str(SCRIPT), "--quick", "--objects", "ring", "--out", str(out)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return out / "ring"


def _rgba(path: Path) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.open(path))


def test_quick_build_writes_a_split_folder_with_ground_truth(quick_build):
    folder = quick_build
    for rel in (
        "transforms_train.json",
        "transforms_test.json",
        "relight/courtyard/transforms.json",
        "gt/mesh.ply",
        "gt/mesh.obj",
        "gt/base_color.png",
        "gt/envmap_forest.exr",
        "gt/envmap_courtyard.exr",
        "gt/blender_world_forest.exr",
        "gt/object.json",
    ):
        assert (folder / rel).is_file(), rel
    images = {
        "train": sorted((folder / "train").glob("r_*.png")),
        "test": sorted((folder / "test").glob("r_*.png")),
        "relight": sorted((folder / "relight" / "courtyard").glob("r_*.png")),
    }
    assert [len(v) for v in images.values()] == [4, 2, 2]
    for path in sum(images.values(), []):
        rgba = _rgba(path)
        assert rgba.shape == (32, 32, 4), path
        alpha = rgba[..., 3]
        assert (alpha == 0).any() and (alpha == 255).any(), path  # background and object

    info = json.loads((folder / "gt" / "object.json").read_text())
    assert info["genus"] == 1 and info["watertight"]
    assert info["lighting"]["train_test"]["hdri"] == "forest"
    assert info["lighting"]["relight"]["hdri"] == "courtyard"
    assert 1.2 < info["bbox_diagonal"] < 2.5

    import mitsuba as mi

    envmap = np.array(mi.Bitmap(str(folder / "gt" / "envmap_forest.exr")))
    assert envmap.shape == (1025, 1024, 3) and envmap.dtype == np.float32
    assert np.isfinite(envmap).all() and envmap.min() >= 0


def _project(points: np.ndarray, c2w: np.ndarray, focal: float, size: int) -> np.ndarray:
    """Pixel coordinates (x right, y down) of world points seen by an OpenGL camera."""
    w2c = np.linalg.inv(c2w)
    cam = points @ w2c[:3, :3].T + w2c[:3, 3]
    assert (cam[:, 2] < 0).all()  # in front of the camera (it looks down -Z)
    x = size / 2 + focal * cam[:, 0] / -cam[:, 2]
    y = size / 2 - focal * cam[:, 1] / -cam[:, 2]
    return np.stack([x, y], axis=1)


def test_cameras_project_the_mesh_onto_the_object_pixels(quick_build):
    """The mesh's centre lands near the image centre and its vertices on covered pixels, in
    every view: mesh, cameras and images share one world and one camera convention."""
    import trimesh

    mesh = trimesh.load(quick_build / "gt" / "mesh.ply", process=False)
    vertices = np.asarray(mesh.vertices)
    centre = (vertices.min(axis=0) + vertices.max(axis=0)) / 2
    for split in ("train", "test"):
        meta = json.loads((quick_build / f"transforms_{split}.json").read_text())
        size = meta["w"]
        focal = size / 2 / math.tan(meta["camera_angle_x"] / 2)
        for frame in meta["frames"]:
            c2w = np.asarray(frame["transform_matrix"])

            assert np.abs(_project(centre[None], c2w, focal, size)[0] - size / 2).max() < 0.1 * size
            alpha = _rgba(quick_build / (frame["file_path"] + ".png"))[..., 3] > 0
            grown = alpha.copy()  # one pixel of slack for the 32 px silhouette
            grown[1:] |= alpha[:-1]
            grown[:-1] |= alpha[1:]
            grown[:, 1:] |= alpha[:, :-1]
            grown[:, :-1] |= alpha[:, 1:]
            px = np.clip(np.floor(_project(vertices, c2w, focal, size)).astype(int), 0, size - 1)
            assert grown[px[:, 1], px[:, 0]].mean() > 0.98, frame["file_path"]


def test_invrender_loads_the_split_with_test_views_held_out(quick_build):
    from invrender.config.schema import Targets
    from invrender.data.dataset import load_dataset
    from invrender.data.nerf_splits import read_split_folder

    frames, held = read_split_folder(quick_build)
    assert len(frames) == 6 and held == [4, 5]
    dataset = load_dataset(Targets(transforms=str(quick_build), masks="alpha"), "cycles bench")
    assert len(dataset.views) == 6 and dataset.holdout == [4, 5]
    view = dataset.views[0]
    assert view.image.shape == (32, 32, 3) and view.mask is not None
    assert view.camera.width == 32 and abs(view.camera.fov - 40.0) < 1e-9


def _noise_floor_rows(folder: Path, reference_spp: int) -> list[list[float]]:
    """measure_cycles_noise_floor.py's rows for test views 0 and 1 (photo vs reference, seed vs
    reference, photo vs seed; dB)."""
    script = SCRIPT.with_name("measure_cycles_noise_floor.py")
    command = [sys.executable, str(script), str(folder), "--views", "0", "1"]
    result = subprocess.run(
        [*command, "--reference-spp", str(reference_spp)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    rows = [line.split() for line in result.stdout.splitlines() if line.startswith("r_00")]
    assert [r[0] for r in rows] == ["r_000", "r_001"], result.stdout
    return [[float(x) for x in r[1:]] for r in rows]


@pytest.fixture(scope="module")
def quick_noise_floor(quick_build) -> list[list[float]]:
    """The quick build's noise-floor rows against 64 spp (16x its samples), measured once."""
    return _noise_floor_rows(quick_build, 64)


def test_noise_floor_rerenders_the_photos_own_views(quick_noise_floor):
    """scripts/measure_cycles_noise_floor.py re-renders a photo's view with the build's mesh,
    material, sky and camera: the photo and a render with another seed sit equally far from a
    render with 16x the samples, and two independent photos twice as far apart (~3 dB)."""
    for photo_ref, seed_ref, photo_seed in quick_noise_floor:
        assert abs(photo_ref - seed_ref) < 1.5, (photo_ref, seed_ref)
        assert 1.5 < photo_ref - photo_seed < 4.5, (photo_ref, photo_seed)


def test_test_views_take_their_own_sample_count(quick_build, quick_noise_floor, tmp_path):
    """``--test-spp`` renders the test and relit views (the references a reconstruction is
    scored against) with more samples and leaves the photos as they were: the training photos
    are pixel for pixel those of a build without it, and two independent test views at 16x the
    samples are ~12 dB closer (Monte Carlo variance falls as 1/spp)."""
    command = [sys.executable, str(SCRIPT), "--quick", "--objects", "ring", "--out", str(tmp_path)]
    result = subprocess.run(
        [*command, "--test-spp", "64"], capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    folder = tmp_path / "ring"
    info = json.loads((folder / "gt" / "object.json").read_text())
    assert (info["render"]["spp"], info["render"]["test_spp"]) == (4, 64)
    for before in sorted((quick_build / "train").glob("r_*.png")):
        assert np.array_equal(_rgba(folder / "train" / before.name), _rgba(before)), before.name
    for split in ("test", "relight/courtyard"):
        for before in sorted((quick_build / split).glob("r_*.png")):
            assert not np.array_equal(_rgba(folder / split / before.name), _rgba(before)), before
    references = _noise_floor_rows(folder, 64)
    for (_, _, photo_seed), (_, _, reference_seed) in zip(
        quick_noise_floor, references, strict=True
    ):
        assert reference_seed - photo_seed > 8.0, (photo_seed, reference_seed)


def test_references_never_take_fewer_samples_than_the_photos():
    """The test and relit views default to 512 spp, or the photos' count when that is higher;
    asking for fewer than the photos is refused in one line."""
    bench = _bench_module()

    def settings(*argv: str):
        return bench.settings_from(bench.parse_args(list(argv)))

    assert (settings().spp, settings().test_spp) == (128, 512)
    assert settings("--spp", "1024").test_spp == 1024
    assert settings("--spp", "64", "--test-spp", "256").test_spp == 256
    with pytest.raises(SystemExit, match="--test-spp 128 is below --spp 256"):
        settings("--spp", "256", "--test-spp", "128")
