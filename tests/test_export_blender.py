"""Blender export, checked by real Blender: the bpy module in .bpy-venv, run as a subprocess.

Measured on this machine (48x32 px, box filter, path max_depth 4 = Cycles 2 bounces, Cycles
256 spp without denoising vs Mitsuba 512 spp): full scene MAE 0.0040 (scene mean 0.218),
PSNR 38.7 dB; lights only (point + area) MAE 0.00083 (mean 0.032), PSNR 41.2 dB. For scale,
the same scene with the World image mirrored gives MAE 0.017 / PSNR 22.6 dB, turned 90 degrees
0.026 / 22.0 dB, upside down 0.135 / 10.7 dB, so the thresholds below separate a right export
from a wrong one with a margin of about 2x on each side.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from export_helpers import make_mixed_scene, make_scene, require_or_skip


def _bpy_available() -> bool:
    from invrender.errors import SetupError
    from invrender.export.blender_env import blender_python

    try:
        blender_python()
    except SetupError:
        return False
    return True


@pytest.fixture(scope="module")
def bpy_env():
    require_or_skip(
        _bpy_available(), "Blender's bpy module (.bpy-venv)", "bash scripts/setup_blender_env.sh"
    )


@pytest.fixture(scope="module")
def blend_export(variant, bpy_env, tmp_path_factory):
    import mitsuba as mi

    from invrender.export import export_scene
    from invrender.export.blender import inspect_blend

    scene = make_scene(mi, width=48, height=32, spp=64)
    out = tmp_path_factory.mktemp("blender_export")
    written = export_scene(scene, out, ["blender"])
    blend = out / "blender" / "scene.blend"
    assert blend in written["blender"]
    summary = inspect_blend(blend, out / "summary.json", out / "from_blender.json")
    return scene, out, summary


def test_missing_bpy_environment_names_the_setup_script(monkeypatch, tmp_path):
    from invrender.errors import SetupError
    from invrender.export.blender_env import blender_python

    monkeypatch.setenv("INVRENDER_BLENDER_PYTHON", str(tmp_path / "nope" / "python"))
    with pytest.raises(SetupError, match="scripts/setup_blender_env.sh"):
        blender_python()


def test_blend_has_objects_principled_materials_world_lights_cameras(blend_export):
    from invrender.export.lighting import blender_point_power

    _, out, summary = blend_export
    objects = summary["objects"]
    assert {name: o["type"] for name, o in objects.items()} == {
        "cube": "MESH",
        "ground": "MESH",
        "panel": "LIGHT",
        "bulb": "LIGHT",
        "camera_front": "CAMERA",
        "camera_side": "CAMERA",
    }
    assert objects["cube"]["polygons"] == 12 and objects["cube"]["uv_layers"] == ["UVMap"]
    cube = summary["materials"]["cube"]
    assert cube["principled"]
    base = cube["inputs"]["Base Color"]
    assert base["linked"] == "ShaderNodeTexImage" and base["colorspace"] == "Linear Rec.709"
    assert base["image"].endswith("cube_base_color.exr")
    assert cube["inputs"]["Roughness"] == pytest.approx(1.0)
    assert cube["inputs"]["Metallic"] == pytest.approx(0.0)
    assert cube["inputs"]["Specular IOR Level"] == pytest.approx(0.0)  # Mitsuba diffuse
    ground = summary["materials"]["ground"]["inputs"]["Base Color"]
    np.testing.assert_allclose(ground[:3], [0.45, 0.42, 0.38], atol=1e-6)
    world = summary["world"]
    assert "ShaderNodeTexEnvironment->ShaderNodeBackground" in world["links"]
    assert "ShaderNodeBackground->ShaderNodeOutputWorld" in world["links"]
    assert world["strength"] == pytest.approx(0.8)
    assert world["image"].endswith("sky_world.exr") and world["image_size"] == [64, 32]
    bulb = objects["bulb"]
    power, colour = blender_point_power(np.array([2.0, 1.6, 1.2]))
    assert bulb["light_type"] == "POINT" and bulb["energy"] == pytest.approx(power, rel=1e-5)
    np.testing.assert_allclose(bulb["color"], colour, atol=1e-6)
    np.testing.assert_allclose(np.array(bulb["matrix_world"])[:3, 3], [1.0, -1.5, 2.0], atol=1e-6)
    panel = objects["panel"]
    assert panel["light_type"] == "AREA"
    assert panel["size"] == pytest.approx(0.8) and panel["size_y"] == pytest.approx(0.6)
    assert panel["energy"] == pytest.approx(math.pi * 0.8 * 0.6 * 6.0, rel=1e-5)
    assert summary["render"]["engine"] == "CYCLES" and not summary["render"]["denoising"]
    assert (out / "blender" / "build_scene.py").is_file()


def test_camera_round_trip_mitsuba_blender_transforms_mitsuba(blend_export):
    """Mitsuba sensor -> Blender camera (read back from the .blend by bpy) -> transforms.json
    written from Blender's matrix_world and angle_x -> Mitsuba sensor: exact to 1e-5."""
    import mitsuba as mi

    from invrender.export.cameras import cameras_from_transforms_json, mitsuba_sensor_dict
    from invrender.export.scene_data import camera_record

    scene, out, summary = blend_export
    cameras = {c.name: c for c in cameras_from_transforms_json(out / "from_blender.json")}
    assert set(cameras) == {"camera_front", "camera_side"}
    for sensor in scene.sensors():
        original = camera_record(sensor, sensor.id())
        back = camera_record(mi.load_dict(mitsuba_sensor_dict(cameras[sensor.id()])), "b")
        np.testing.assert_allclose(back.to_world, original.to_world, atol=1e-5)
        assert back.fov_x_deg == pytest.approx(original.fov_x_deg, abs=1e-5)
        assert (back.width, back.height) == (original.width, original.height)
        assert summary["objects"][sensor.id()]["sensor_fit"] == "HORIZONTAL"


def _compare_with_cycles(scene, folder, spp_mitsuba=512, spp_cycles=256):
    """Mitsuba's render vs Cycles rendering the saved .blend, both linear radiance."""
    import mitsuba as mi

    from invrender.export.blender import render_blend, write_blender_scene
    from invrender.export.scene_data import read_scene
    from invrender.files import read_exr

    reference = np.array(mi.render(scene, spp=spp_mitsuba, seed=7), dtype=np.float64)[..., :3]
    write_blender_scene(read_scene(scene), folder)  # builds scene.blend with bpy
    image = render_blend(
        folder / "scene.blend", folder / "cycles.exr", camera="camera_front", samples=spp_cycles
    )
    cycles = read_exr(image).astype(np.float64)[..., :3]
    assert cycles.shape == reference.shape
    mae = float(np.mean(np.abs(cycles - reference)))
    psnr = float(10 * np.log10(reference.max() ** 2 / np.mean((cycles - reference) ** 2)))
    return mae, psnr, float(reference.mean())


def test_cycles_render_matches_mitsuba(variant, bpy_env, tmp_path):
    """Sky + point + area light + textured diffuse cube: measured MAE 0.0040, PSNR 38.7 dB."""
    import mitsuba as mi

    mae, psnr, mean = _compare_with_cycles(make_scene(mi), tmp_path)
    assert mae < 0.008, (mae, psnr, mean)
    assert psnr > 33.0, (mae, psnr, mean)


def test_cycles_normal_map_matches_mitsuba(variant, bpy_env, tmp_path):
    """Normal-mapped cube: tangent frame and green-channel convention agree with Mitsuba's.

    Measured (cube, sky, point light only): MAE 0.0015 on a mean of 0.12. With the
    export's green channel flipped, Cycles differs from the correct Cycles render by MAE
    0.0075, and the normal map itself changes Mitsuba's image by MAE 0.009.
    """
    import mitsuba as mi

    scene = make_scene(mi, normal_map=True, area_light=False, ground=False)
    mae, psnr, mean = _compare_with_cycles(scene, tmp_path)
    assert mae < 0.0035, (mae, psnr, mean)
    assert psnr > 33.0, (mae, psnr, mean)


def test_cycles_light_power_matches_mitsuba(variant, bpy_env, tmp_path):
    """Point + area light only (no sky): light watts are right. Measured MAE 0.00083 on a
    mean of 0.032 (2.6 %), PSNR 41.2 dB; a power off by pi would be ~0.6x relative error."""
    import mitsuba as mi

    mae, psnr, mean = _compare_with_cycles(make_scene(mi, sky=False), tmp_path)
    assert mae / mean < 0.06, (mae, psnr, mean)
    assert psnr > 35.0, (mae, psnr, mean)


def test_cycles_mixed_materials_and_emitters_match_mitsuba(variant, bpy_env, tmp_path):
    """Emissive mesh (Principled emission), tessellated sphere in roughplastic, GGX
    roughconductor, constant background. Measured MAE 0.0025 on a mean of 0.28 (0.9 %)."""
    import mitsuba as mi

    mae, psnr, mean = _compare_with_cycles(make_mixed_scene(mi), tmp_path)
    assert mae / mean < 0.025, (mae, psnr, mean)


def test_cycles_sun_matches_mitsuba_directional(variant, bpy_env, tmp_path):
    """A directional light becomes a Blender sun of the same irradiance and direction (hard
    shadow of a cube on the ground), under a dim constant sky."""
    import mitsuba as mi

    scene = mi.load_dict(
        {
            "type": "scene",
            "integrator": {"type": "path", "max_depth": 3},
            "camera_front": {
                "type": "perspective",
                "fov": 45,
                "to_world": mi.ScalarTransform4f().look_at([0, 3, 5], [0, 0, 0], [0, 1, 0]),
                "film": {"type": "hdrfilm", "width": 48, "height": 32, "rfilter": {"type": "box"}},
            },
            "sky": {"type": "constant", "radiance": {"type": "rgb", "value": 0.1}},
            "sun": {
                "type": "directional",
                "direction": [-0.4, -1.0, -0.3],
                "irradiance": {"type": "rgb", "value": [2.0, 1.8, 1.5]},
            },
            "ground": {
                "type": "rectangle",
                "bsdf": {"type": "diffuse"},
                "to_world": mi.ScalarTransform4f()
                .translate([0, -0.5, 0])
                .rotate([1, 0, 0], -90)
                .scale(3),
            },
            "cube": {
                "type": "cube",
                "to_world": mi.ScalarTransform4f().scale(0.5),
                "bsdf": {"type": "diffuse", "reflectance": {"type": "rgb", "value": 0.6}},
            },
        }
    )
    mae, psnr, mean = _compare_with_cycles(scene, tmp_path)
    assert mae / mean < 0.05, (mae, psnr, mean)
    assert psnr > 30.0, (mae, psnr, mean)
