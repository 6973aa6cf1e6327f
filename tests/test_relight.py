"""``invrender relight``: a finished run's asset under a new sky, its files and scores, and the
agreement with Blender Cycles rendering the run's exported .blend under the same sky.

Measured here (tiny material_texture run, 4 views at 32x32, gaussian filter, Mitsuba and Cycles
at 128 spp, Cycles without denoising, sky turned 30 degrees at -0.5 EV): object-only RGBA mean
absolute difference 0.0019 (RGB mean 0.03), 0.0018 with the sky visible; scoring Cycles' views
as targets gives 41.3 dB over the mask. The same Mitsuba relight with the sky turned 90 degrees
more differs from Cycles by 0.0094 (and 180 degrees more scores 17.0 dB): the checks below
separate a right relight from a wrong one, not only the issue's 0.02 bound.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from export_helpers import procedural_envmap, require_or_skip

from invrender.cli.main import main
from tests.helpers import tiny_example

ROTATE, EXPOSURE = 30.0, -0.5


def invoke(args: list[str]):
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert result.exit_code == 0, f"{result.output}{result.exception!r}"
    return result


# -- library: the sky's frame and the metrics (no run needed) ---------------------------------


def _sky_radiance(image: np.ndarray, to_world: np.ndarray, world_dir) -> np.ndarray:
    import drjit as dr
    import mitsuba as mi

    from invrender.run.relight import Sky

    emitter = mi.load_dict(Sky(Path("x.exr"), image, to_world, 1.0).emitter_dict())
    si = dr.zeros(mi.SurfaceInteraction3f, 1)
    si.wi = mi.Vector3f(*[-float(c) for c in world_dir])
    return np.array(emitter.eval(si)).ravel()


def test_sky_rotation_turns_counter_clockwise_about_the_up_axis(variant):
    """A bright texel at the sky's local +X (u = 0.25, the horizon) shows, after --rotate 90,
    at world -Z for a Y-up world (right-handed about +Y) and at world +Y for a Z-up world."""
    from invrender.run.relight import sky_to_world

    h, w = 33, 64
    image = np.full((h, w, 3), 0.01, np.float32)
    image[(h - 1) // 2, w // 4 - 1 : w // 4 + 1] = 100.0  # local +X: u = 0.25, theta = 90 deg
    assert _sky_radiance(image, sky_to_world("y", 0.0), [1, 0, 0])[0] > 10
    assert _sky_radiance(image, sky_to_world("y", 90.0), [0, 0, -1])[0] > 10
    assert _sky_radiance(image, sky_to_world("y", 90.0), [1, 0, 0])[0] < 1
    up_z = sky_to_world("z", 0.0)
    np.testing.assert_allclose(up_z[:3, :3] @ [0, 1, 0], [0, 0, 1], atol=1e-12)
    assert _sky_radiance(image, sky_to_world("z", 90.0), [0, 1, 0])[0] > 10


def test_scores_over_mask_and_full_image():
    from invrender.run.relight import score

    rng = np.random.default_rng(0)
    target = rng.uniform(0.0, 0.8, (32, 32, 3))
    mask = np.zeros((32, 32), bool)
    mask[8:24, 8:24] = True
    same = score(target, target, mask)
    assert math.isinf(same["psnr_mask"]) and same["ssim_full"] == pytest.approx(1.0)
    off = target.copy()
    off[~mask] = 0.0  # wrong only outside the mask
    metrics = score(off, target, mask)
    assert math.isinf(metrics["psnr_mask"]) and metrics["psnr_full"] < 20
    darker = score(0.4 * target, target, mask)  # a global gain: the scaled PSNR forgives it
    assert darker["psnr_mask"] < 15 and darker["psnr_mask_scaled"] > 60


def test_the_new_sky_replaces_the_environment_and_by_default_every_light(variant, tmp_path):
    import mitsuba as mi

    from invrender.export.mitsuba_access import plugin_name
    from invrender.run.relight import Sky, relit_scene

    scene = mi.load_dict(
        {
            "type": "scene",
            "old_sky": {"type": "constant", "radiance": {"type": "rgb", "value": 0.5}},
            "sun": {"type": "directional", "direction": [0, -1, 0]},
            "panel": {"type": "rectangle", "emitter": {"type": "area"}},
            "ball": {"type": "sphere"},
        }
    )
    sky = Sky(tmp_path / "s.exr", np.ones((8, 16, 3), np.float32), np.eye(4), 1.0)
    alone = relit_scene(scene, sky)
    assert sorted(plugin_name(e) for e in alone.emitters()) == ["envmap"]
    assert len(alone.shapes()) == 1  # the emitting panel went with its light
    kept = relit_scene(scene, sky, keep_lights=True)
    assert sorted(plugin_name(e) for e in kept.emitters()) == ["area", "directional", "envmap"]
    assert len(kept.shapes()) == 2


# -- a finished run ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def run_dir(variant, tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("relight_run")
    config = tiny_example(
        tmp,
        "material_texture",
        optimize__iterations=4,
        output__checkpoint_every=2,
        output__preview_every=0,
        output__export=["mitsuba", "blender", "gltf"],
    )
    invoke(["optimize", config, "--quiet"])
    return tmp / "run"


@pytest.fixture(scope="module")
def sky(tmp_path_factory) -> Path:
    from invrender.files import write_exr

    return write_exr(tmp_path_factory.mktemp("sky") / "sky.exr", procedural_envmap(32, 64))


def relight(run_dir: Path, sky: Path, out: Path, *extra) -> dict:
    invoke(["relight", run_dir, "--envmap", sky, "--out", out, "--spp", 128, *extra])
    return json.loads((out / "relight.json").read_text())


def test_relight_writes_pngs_with_alpha_exrs_and_a_contact_sheet(run_dir, sky, tmp_path):
    import imageio.v3 as iio

    from invrender.files import read_exr

    result = relight(run_dir, sky, tmp_path / "out")  # --views test: the run holds out view 3
    assert [v["index"] for v in result["per_view"]] == [3]
    view = result["per_view"][0]
    png = iio.imread(tmp_path / "out" / view["png"])
    exr = read_exr(tmp_path / "out" / view["exr"])
    assert png.shape == (32, 32, 4) and png.dtype == np.uint8 and exr.shape == (32, 32, 4)
    alpha = exr[..., 3]
    assert alpha.min() == 0.0 and alpha.max() == pytest.approx(1.0)  # coverage, not 1 everywhere
    assert np.all(exr[alpha == 0, :3] == 0.0)  # the object on transparent black
    np.testing.assert_allclose(png[..., 3] / 255.0, alpha, atol=1 / 255 + 1e-6)
    sheet = iio.imread(tmp_path / "out" / "contact_sheet.png")
    assert sheet.shape[0] >= 32 and sheet.shape[1] >= 32
    assert result["max_depth"] == 3 and result["renderer"] == "mitsuba"  # the run's prb depth


@pytest.fixture(scope="module")
def both(run_dir, sky, tmp_path_factory):
    """Mitsuba and Cycles relights of every view under the same turned, darkened sky."""
    from test_export_blender import _bpy_available

    require_or_skip(
        _bpy_available(), "Blender's bpy module (.bpy-venv)", "bash scripts/setup_blender_env.sh"
    )
    tmp = tmp_path_factory.mktemp("relight_both")
    args = ["--views", "all", "--rotate", ROTATE, "--exposure", EXPOSURE]
    mitsuba = relight(run_dir, sky, tmp / "mitsuba", *args)
    cycles = relight(run_dir, sky, tmp / "cycles", *args, "--renderer", "cycles")
    return tmp, mitsuba, cycles


def _exrs(folder: Path, result: dict) -> list[np.ndarray]:
    from invrender.files import read_exr

    return [read_exr(folder / v["exr"]) for v in result["per_view"]]


def test_cycles_on_the_exported_blend_agrees_with_invrender_relight(both, run_dir, sky):
    tmp, mitsuba, cycles = both
    ours, theirs = _exrs(tmp / "mitsuba", mitsuba), _exrs(tmp / "cycles", cycles)
    assert len(ours) == len(theirs) == 4
    mae = float(np.mean([np.abs(a - b).mean() for a, b in zip(ours, theirs, strict=True)]))
    assert mae < 0.02  # the bound (linear radiance and alpha, over the image)
    assert mae < 0.006  # measured about 0.0025
    # A wrong sky placement is caught: the same run relit with the sky turned 90 degrees more.
    wrong = relight(
        run_dir,
        sky,
        tmp / "wrong",
        "--views",
        "all",
        "--rotate",
        ROTATE + 90,
        "--exposure",
        EXPOSURE,
    )
    off = _exrs(tmp / "wrong", wrong)
    mae_wrong = float(np.mean([np.abs(a - b).mean() for a, b in zip(off, theirs, strict=True)]))
    print(f"relight MAE Mitsuba vs Cycles {mae:.5f}, sky turned 90 deg more {mae_wrong:.5f}")
    assert mae < 0.4 * mae_wrong, (mae, mae_wrong)


def test_cycles_sees_the_same_sky_behind_the_object(both, run_dir, sky):
    """Camera rays too: Cycles with the sky visible against Mitsuba's render over its sky."""
    import mitsuba as mi

    from invrender.export.blender import relight_blend
    from invrender.export.scene_data import CameraData, EnvmapData
    from invrender.files import read_exr
    from invrender.run.folder import RunFolder
    from invrender.run.relight import (
        RelightOptions,
        load_sky,
        over,
        render_sky,
        sky_only_scene,
    )

    tmp, mitsuba, _ = both
    sky_data = load_sky(RelightOptions(sky, rotate=ROTATE, exposure=EXPOSURE))
    cameras = {name: cam for name, cam in RunFolder(run_dir).read_cameras() or []}
    views = mitsuba["per_view"]
    records = [
        CameraData(
            f"v{v['index']}",
            cameras[v["name"]].to_world,
            math.degrees(cameras[v["name"]].camera_angle_x),
            32,
            32,
        )
        for v in views
    ]
    envmap = EnvmapData(
        "s",
        sky_data.image,
        sky_data.scale,
        sky_data.to_world,
        mi.load_dict(sky_data.emitter_dict()),
    )
    images = relight_blend(
        RunFolder(run_dir).exported_blend,
        envmap,
        records,
        tmp / "sky_visible",
        samples=128,
        transparent=False,
    )
    sky_scene = sky_only_scene(sky_data)
    errors = []
    for v, image in zip(views, images, strict=True):
        ours = read_exr(tmp / "mitsuba" / v["exr"])
        full = over(ours, render_sky(sky_scene, cameras[v["name"]], spp=128))
        errors.append(np.abs(full - read_exr(image)[..., :3]).mean())
    print(f"relight MAE with the sky visible {np.mean(errors):.5f}")
    assert float(np.mean(errors)) < 0.01, errors


def test_targets_are_scored_per_view_and_on_average(both, run_dir, sky, tmp_path):
    """Cycles' relit views as photos (RGBA PNG, straight alpha, transforms.json: the layout
    of datasets/cycles_bench's relight/<hdri>/): high scores under the right sky, low under a
    wrong one; the mask PSNR ignores the background, the full-image PSNR does not."""
    from invrender.data.transforms import write_transforms
    from invrender.files import linear_to_srgb, write_png
    from invrender.run.folder import RunFolder
    from invrender.run.relight import unpremultiply

    tmp, _, cycles = both
    photos = tmp_path / "photos"
    cameras = dict(RunFolder(run_dir).read_cameras() or [])
    names = []
    for v, rgba in zip(cycles["per_view"], _exrs(tmp / "cycles", cycles), strict=True):
        straight = unpremultiply(rgba)
        encoded = np.concatenate([linear_to_srgb(straight[..., :3]), straight[..., 3:]], -1)
        write_png(photos / f"r_{v['index']:03d}.png", encoded, srgb=False)
        names.append(f"./r_{v['index']:03d}")
    write_transforms(
        photos / "transforms.json", [cameras[v["name"]] for v in cycles["per_view"]], names
    )
    args = ["--views", "all", "--exposure", EXPOSURE, "--targets", photos]
    good = relight(run_dir, sky, tmp_path / "good", "--rotate", ROTATE, *args)
    bad = relight(run_dir, sky, tmp_path / "bad", "--rotate", ROTATE + 180, *args)
    assert len(good["per_view"]) == 4 and all("psnr_mask" in v for v in good["per_view"])
    m, b = good["metrics"], bad["metrics"]
    assert m["psnr_mask"] > 30 and m["ssim_mask"] > 0.9 and m["psnr_full"] > 30
    print(f"scored against Cycles: {m}; sky turned 180 deg: {b}")
    assert b["psnr_mask"] < m["psnr_mask"] - 5
    assert 0.05 < m["mask_fraction"] < 0.5
