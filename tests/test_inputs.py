"""Other input routes: an inline scene dict with a GLB mesh (via trimesh), inline look-at cameras
with sRGB PNG photos, and camera conventions."""

from __future__ import annotations

import json

import numpy as np
import trimesh
import yaml

from invrender.data.cameras import look_at, mitsuba_to_opengl, opengl_to_mitsuba
from invrender.data.images import read_image, write_png
from invrender.files import linear_to_srgb, srgb_to_linear
from invrender.run.launch import run_optimization


def test_opengl_mitsuba_round_trip_and_axes():
    m = look_at([1.0, 2.0, 3.0], [0.0, 0.0, 0.0], [0.0, 1.0, 0.0])
    gl = mitsuba_to_opengl(m)
    np.testing.assert_allclose(opengl_to_mitsuba(gl), m, atol=1e-12)
    forward_gl = -gl[:3, 2]  # OpenGL cameras look down -Z
    np.testing.assert_allclose(forward_gl, -np.array([1, 2, 3]) / np.sqrt(14), atol=1e-12)
    np.testing.assert_allclose(gl[:3, 0], -m[:3, 0], atol=1e-12)  # +X right vs +X left


def test_srgb_png_is_read_as_linear(tmp_path):
    lin = np.linspace(0, 1, 48, dtype=np.float32).reshape(4, 4, 3)
    write_png(tmp_path / "a.png", lin)
    rgb, alpha = read_image(tmp_path / "a.png")
    assert alpha is None
    np.testing.assert_allclose(rgb, lin, atol=0.01)  # 8-bit quantisation
    np.testing.assert_allclose(srgb_to_linear(linear_to_srgb(lin)), lin, atol=1e-5)


def test_inline_scene_with_glb_mesh_and_inline_cameras(tmp_path, variant):
    import mitsuba as mi

    box = trimesh.creation.box(extents=[1.0, 1.0, 1.0])
    box.export(tmp_path / "box.glb")
    scene = {
        "light": {"type": "constant", "radiance": {"type": "rgb", "value": 1.0}},
        "box": {
            "type": "mesh",
            "filename": "box.glb",
            "to_world": {"rotate": {"axis": [0, 1, 0], "angle": 30}},
            "bsdf": {"type": "diffuse", "reflectance": {"type": "rgb", "value": [0.2, 0.6, 0.3]}},
        },
    }
    # Photos: render the true scene from two look-at cameras and save them as sRGB PNGs.
    from invrender.scene.loading import prepare_dict

    true_scene = mi.load_dict(
        {"type": "scene", "integrator": {"type": "path"}, **prepare_dict(scene, tmp_path)}
    )
    cams = []
    for i, origin in enumerate([[0, 1, 4], [3, 1, 2]]):
        sensor = mi.load_dict(
            {
                "type": "perspective",
                "fov": 40,
                "to_world": mi.ScalarTransform4f().look_at(origin, [0, 0, 0], [0, 1, 0]),
                "film": {
                    "type": "hdrfilm",
                    "width": 24,
                    "height": 24,
                    "rfilter": {"type": "gaussian"},
                },
            }
        )
        write_png(tmp_path / f"v{i}.png", np.array(mi.render(true_scene, sensor=sensor, spp=64)))
        cams.append({"image": f"v{i}.png", "look_at": {"origin": origin}, "fov": 40})
    config = {
        "targets": {"cameras": cams},
        "scene": {
            "dict": {
                **scene,
                "box": {
                    **scene["box"],
                    "bsdf": {"type": "diffuse", "reflectance": {"type": "rgb", "value": 0.5}},
                },
            }
        },
        "optimize": {
            "iterations": 30,
            "spp": 8,
            "params": [{"key": "box.bsdf.reflectance.value", "lr": 0.05, "bounds": [0, 1]}],
        },
        "output": {"dir": "run", "preview_every": 0, "checkpoint_every": 0, "export": []},
    }
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(config))
    summary, run_dir = run_optimization(tmp_path / "c.yaml", progress=False)
    assert summary["status"] == "completed"
    assert json.loads((run_dir / "summary.json").read_text())["psnr_views"].startswith("training")
    resolved = yaml.safe_load((run_dir / "config.resolved.yaml").read_text())
    assert resolved["scene"]["dict"]["box"]["filename"] == str(tmp_path / "box.glb")
    from invrender.run import checkpoint

    final = checkpoint.load(checkpoint.latest(run_dir / "checkpoints"))
    albedo = final.variables["box.bsdf.reflectance.value"].ravel()
    np.testing.assert_allclose(albedo, [0.2, 0.6, 0.3], atol=0.06)
