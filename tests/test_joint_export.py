"""A joint run ends as a textured asset: remeshed mesh, xatlas UVs, baked principled maps,
and every exporter (scene.xml, GLB, OBJ, .blend) writes it and reads back."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from export_helpers import khronos_report, require_or_skip
from test_geometry_joint import JOINT, tiny_overrides

from tests.helpers import runner_stopping_after

MAP_KEYS = [f"target.bsdf.{m}.data" for m in ("base_color", "roughness", "metallic")]


def textured_overrides(tmp: Path, formats: str = "[mitsuba, gltf, obj]") -> list[str]:
    skip = ("geometry.texture", "output.export", "optimize.iterations", "output.checkpoint_")
    return [o for o in tiny_overrides(tmp) if not o.startswith(skip)] + [
        "optimize.iterations=24",
        "geometry.texture={at: 14, resolution: 64}",  # after the remesh at 10
        f"output.export={formats}",
        "output.checkpoint_every=20",
    ]


@pytest.fixture(scope="module")
def run(variant, tmp_path_factory):
    from invrender.run.launch import run_optimization
    from invrender.run.runner import Runner

    tmp = tmp_path_factory.mktemp("joint_textured")
    seen: dict[str, object] = {}

    class Watch(Runner):
        def on_iteration_end(self, iteration: int) -> None:
            if iteration in (12, 13, 23):  # the stage starts after iteration 13
                seen[iteration] = {k: np.array(self.opt[k]).copy() for k in self.opt.keys()}
            if iteration == 23:
                seen["mesh"] = next(s for s in self.s.scene.shapes() if s.id() == "target")
                seen["session"] = self.s

    summary, run_dir = run_optimization(
        JOINT,
        textured_overrides(tmp),
        output=tmp / "run",
        variant=variant,
        progress=False,
        runner_cls=Watch,
    )
    return summary, run_dir, seen


def test_texture_stage_swaps_volume_and_vertices_for_uv_maps(run):
    summary, _, seen = run
    before, after, last = seen[12], seen[13], seen[23]
    assert "target.bsdf.reflectance.volume.data" in before and "target.vertex_positions" in before
    assert sorted(after) == sorted(["env.data", *MAP_KEYS])
    assert after["target.bsdf.base_color.data"].shape == (64, 64, 3)
    for key in MAP_KEYS[:2]:  # optimized in texture space from then on
        assert not np.allclose(after[key], last[key]), key
    mesh = seen["mesh"]
    assert mesh.has_vertex_texcoords() and mesh.bsdf().class_name() == "Principled"
    texture = summary["texture"]
    assert texture["vertices"] == mesh.vertex_count() and texture["seam_vertices"] > 0
    assert summary["geometry"]["watertight"] and summary["psnr"] > 10


def test_exported_scene_xml_rerenders_the_run(run):
    """scene.xml (mesh PLY with UVs, EXR maps, the run's integrator) renders the run's image."""
    import mitsuba as mi

    _, run_dir, seen = run
    session = seen["session"]
    scene = mi.load_file(str(run_dir / "export" / "mitsuba" / "scene.xml"))
    view = session.dataset.eval_views[0]
    sensor = session.sensors[view]
    ours = np.array(mi.render(session.scene, sensor=sensor, integrator=session.integrator, seed=4))
    again = np.array(mi.render(scene, sensor=sensor, seed=4))[..., :3]  # RGBA film
    assert ours.mean() > 0.01
    np.testing.assert_allclose(again, ours, atol=2e-4)
    xml = (run_dir / "export" / "mitsuba" / "scene.xml").read_text()
    assert 'name="hide_emitters" value="true"' in xml and 'type="principled"' in xml


def test_exported_glb_validates_and_reads_back(run):
    import trimesh

    _, run_dir, seen = run
    glb = run_dir / "export" / "gltf" / "scene.glb"
    loaded = trimesh.load(glb, force="scene").geometry["target"]
    mesh = seen["mesh"]
    assert len(loaded.vertices) == mesh.vertex_count()
    uvs = np.array(mesh.vertex_texcoords_buffer()).reshape(-1, 2)
    np.testing.assert_allclose(loaded.visual.uv[:, 0], uvs[:, 0], atol=1e-6)
    np.testing.assert_allclose(1.0 - loaded.visual.uv[:, 1], uvs[:, 1], atol=1e-6)
    material = loaded.visual.material
    assert material.baseColorTexture is not None and material.metallicRoughnessTexture is not None
    report, _ = khronos_report(glb)
    assert report["numErrors"] == 0 and report["numWarnings"] == 0, report["messages"]
    document = _gltf_json(glb)
    pbr = document["materials"][0]["pbrMetallicRoughness"]
    assert "baseColorTexture" in pbr and "metallicRoughnessTexture" in pbr


def _gltf_json(glb: Path) -> dict:
    data = glb.read_bytes()
    length = int.from_bytes(data[12:16], "little")
    return json.loads(data[20 : 20 + length])


def test_exported_obj_has_uvs_and_principled_maps(variant, run):
    import mitsuba as mi

    _, run_dir, seen = run
    folder = run_dir / "export" / "obj"
    obj = mi.load_dict({"type": "obj", "filename": str(folder / "target.obj")})
    mesh = seen["mesh"]
    assert obj.vertex_count() == mesh.vertex_count()

    def corner_uvs(shape):  # Mitsuba's OBJ reader renumbers vertices; corners keep order
        uvs = np.array(shape.vertex_texcoords_buffer()).reshape(-1, 2)
        return uvs[np.array(shape.faces_buffer()).reshape(-1, 3)]

    np.testing.assert_allclose(corner_uvs(obj), corner_uvs(mesh), atol=1e-6)
    mtl = (folder / "target.mtl").read_text()
    for line in ("map_Kd textures/target_base_color.png", "map_Pr", "map_Pm"):
        assert line in mtl
    assert all((folder / "textures" / f"target_{m}.png").is_file() for m in ("base_color",))


def test_export_from_the_run_folder_rebuilds_the_textured_scene(variant, run, tmp_path):
    """`invrender export RUN` restores the atlas and maps from the last checkpoint."""
    import mitsuba as mi

    from invrender.run.export import export_run

    _, run_dir, seen = run
    written = export_run(run_dir, ["mitsuba"], out=tmp_path / "again", variant=variant)
    assert written["mitsuba"]
    session = seen["session"]
    sensor = session.sensors[session.dataset.eval_views[0]]
    first = mi.load_file(str(run_dir / "export" / "mitsuba" / "scene.xml"))
    second = mi.load_file(str(tmp_path / "again" / "mitsuba" / "scene.xml"))
    a = np.array(mi.render(first, sensor=sensor, seed=2))
    b = np.array(mi.render(second, sensor=sensor, seed=2))
    np.testing.assert_allclose(b, a, atol=1e-5)


def test_exported_blend_has_principled_maps_world_and_cameras(variant, run, tmp_path):
    """The .blend (built by real Blender): textured mesh, three image maps, sky, cameras."""
    from test_export_blender import _bpy_available

    from invrender.export.blender import inspect_blend
    from invrender.run.export import export_run

    require_or_skip(
        _bpy_available(), "Blender's bpy module (.bpy-venv)", "bash scripts/setup_blender_env.sh"
    )
    _, run_dir, seen = run
    export_run(run_dir, ["blender"], out=tmp_path, variant=variant)
    summary = inspect_blend(tmp_path / "blender" / "scene.blend", tmp_path / "summary.json")
    target = summary["objects"]["target"]
    mesh = seen["mesh"]
    assert target["polygons"] == mesh.face_count() and target["uv_layers"] == ["UVMap"]
    inputs = summary["materials"][target["materials"][0]]["inputs"]
    for name, colorspace in (
        ("Base Color", "Linear Rec.709"),
        ("Roughness", "Non-Color"),
        ("Metallic", "Non-Color"),
    ):
        assert inputs[name]["linked"] == "ShaderNodeTexImage", name
        assert inputs[name]["colorspace"] == colorspace, name
    assert inputs["Specular IOR Level"] == pytest.approx(0.5)  # principled, specular 0.5
    world = summary["world"]
    assert "ShaderNodeTexEnvironment->ShaderNodeBackground" in world["links"]
    assert "ShaderNodeLightPath->ShaderNodeMixShader" in world["links"]  # hide_emitters
    cameras = [o for o in summary["objects"].values() if o["type"] == "CAMERA"]
    assert len(cameras) == len(seen["session"].sensors)


def test_run_interrupted_in_the_texture_stage_resumes_to_the_same_maps(
    variant, tmp_path, monkeypatch
):
    from invrender.run.launch import run_optimization
    from invrender.run.runner import Runner

    # One Dr.Jit thread: gradient scatter-adds then sum in a fixed order, so the reference and
    # the resumed run differ only by what a lost map or Adam state would change (see runner.py).
    monkeypatch.setenv("INVRENDER_THREADS", "1")

    overrides = textured_overrides(tmp_path, "[]")
    first, run_dir = run_optimization(
        JOINT,
        overrides,
        output=tmp_path / "run",
        variant=variant,
        progress=False,
        runner_cls=runner_stopping_after(18),
    )
    assert first["status"] == "interrupted" and first["texture"]["vertices"] > 0
    captured = {}

    def capture_into(into: dict) -> type[Runner]:
        class Capture(Runner):
            def on_iteration_end(self, iteration: int) -> None:
                if iteration == 23:
                    into.update({k: np.array(self.opt[k]) for k in self.opt.keys()})

        return Capture

    run_optimization(
        JOINT,
        overrides,
        resume=run_dir,
        variant=variant,
        progress=False,
        runner_cls=capture_into(captured),
    )
    uninterrupted: dict = {}
    run_optimization(
        JOINT,
        overrides,
        output=tmp_path / "reference",
        variant=variant,
        progress=False,
        runner_cls=capture_into(uninterrupted),
    )
    assert sorted(captured) == sorted(uninterrupted)
    # On one thread the maps come out identical (measured: 0.0). The tolerance is what the
    # default thread pool's unordered gradient sums give (Adam amplifies near-zero gradients'
    # noise, up to ~2e-3 on a few texels); a lost map or Adam state moves every texel by ~lr.
    for key, value in captured.items():
        diff = np.abs(value - uninterrupted[key])
        assert diff.mean() < 1e-4 and diff.max() < 5e-3, (key, diff.mean(), diff.max())


def test_texture_stage_before_the_last_remesh_is_a_config_error(variant, tmp_path):
    from invrender.config.loader import load_config
    from invrender.errors import ConfigError
    from invrender.run.session import prepare

    overrides = textured_overrides(tmp_path) + ["geometry.texture={at: 5}"]
    with pytest.raises(ConfigError, match=r"geometry.texture.at: 5 is before the last remesh"):
        prepare(load_config(JOINT, overrides), variant, progress=False)
