"""Export formats that need no Blender: GLB (Khronos validator), PLY, OBJ, scene.xml, cameras."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from export_helpers import (
    gltf_validator_installed,
    khronos_report,
    make_scene,
    procedural_envmap,
)


@pytest.fixture(scope="module")
def scene(variant):
    import mitsuba as mi

    return make_scene(mi, width=32, height=24, spp=16)


@pytest.fixture(scope="module")
def exported(scene, tmp_path_factory):
    from invrender.export import export_scene

    out = tmp_path_factory.mktemp("export")
    return out, export_scene(scene, out, ["mitsuba", "ply", "obj", "gltf", "cameras"])


def _shape(scene, name):
    return next(s for s in scene.shapes() if s.id() == name)


def test_unknown_format_is_a_clear_error():
    from invrender.errors import InvrenderError
    from invrender.export import FORMATS, expand_formats

    assert expand_formats(["all"]) == list(FORMATS)
    assert expand_formats(["GLTF", "ply"]) == ["ply", "gltf"]
    with pytest.raises(InvrenderError, match="unknown export format.*fbx.*choose from"):
        expand_formats(["fbx"])


def test_every_listed_file_exists_and_no_partial_files_remain(exported):
    out, written = exported
    files = [p for paths in written.values() for p in paths]
    assert files and all(p.is_file() and p.stat().st_size > 0 for p in files)
    assert not [p for p in out.rglob("*") if ".partial" in p.name]


def test_glb_passes_khronos_validator(exported):
    report, returncode = khronos_report(exported[0] / "gltf" / "scene.glb")
    assert report["numErrors"] == 0, report["messages"]
    assert report["numWarnings"] == 0, report["messages"]
    assert report["info"]["hasTextures"]
    assert returncode == 0


def test_glb_content_matches_the_scene(scene, exported):
    """Read the GLB back (trimesh) and compare geometry, UVs, texture and PBR factors."""
    import trimesh

    from invrender.files import linear_to_srgb

    loaded = trimesh.load(exported[0] / "gltf" / "scene.glb", force="scene")
    cube = _shape(scene, "cube")
    glb_cube = loaded.geometry["cube"]
    positions = np.array(cube.vertex_positions_buffer()).reshape(-1, 3)
    np.testing.assert_allclose(glb_cube.vertices, positions, atol=1e-6)
    uvs = np.array(cube.vertex_texcoords_buffer()).reshape(-1, 2)
    # trimesh flips v back to bottom-origin on load; glTF itself stores Mitsuba's v.
    np.testing.assert_allclose(glb_cube.visual.uv[:, 0], uvs[:, 0], atol=1e-6)
    np.testing.assert_allclose(1.0 - glb_cube.visual.uv[:, 1], uvs[:, 1], atol=1e-6)
    material = glb_cube.visual.material
    texture = np.asarray(material.baseColorTexture.convert("RGB"), dtype=np.float64) / 255
    data = np.array(_bitmap_data(cube.bsdf(), "reflectance"))
    np.testing.assert_allclose(texture, linear_to_srgb(data), atol=0.5 / 255 + 1e-6)
    assert material.metallicFactor == 0.0 and material.roughnessFactor == 1.0
    ground = loaded.geometry["ground"].visual.material
    np.testing.assert_allclose(
        np.asarray(ground.baseColorFactor[:3], dtype=float) / 255,
        np.round(np.array([0.45, 0.42, 0.38]) * 255) / 255,
        atol=1 / 255,
    )


def _bitmap_data(bsdf, key):
    from invrender.export.mitsuba_access import children, to_numpy

    return to_numpy(children(children(bsdf)[key])["data"])


def test_glb_tangents_reproduce_mitsubas_normal_map_frame(variant, tmp_path):
    """The TANGENT we write equals Mitsuba's normalmap frame axis s (dp/du off n), w = +1."""
    import mitsuba as mi
    import trimesh

    from invrender.export.meshes import vertex_tangents
    from invrender.export.scene_data import read_scene

    scene = mi.load_dict(
        {
            "type": "scene",
            "cube": {
                "type": "cube",
                "to_world": mi.ScalarTransform4f().rotate([1, 1, 0], 30),
                "bsdf": {
                    "type": "normalmap",
                    "normalmap": {
                        "type": "bitmap",
                        "raw": True,
                        "data": mi.TensorXf(np.full((4, 4, 3), 0.5)),
                    },
                    "bsdf": {"type": "diffuse"},
                },
            },
        }
    )
    mesh = read_scene(scene).meshes[0]
    tangents = vertex_tangents(mesh)
    # Mitsuba's frame at the centre of each face (flat faces: constant per face).
    centres = mesh.positions[mesh.faces].mean(axis=1)
    normals = mesh.normals[mesh.faces[:, 0]]
    origins = centres + normals * 0.5
    ray = mi.Ray3f(mi.Point3f(*origins.T), mi.Vector3f(*(-normals).T))
    si = scene.ray_intersect(ray)
    dp_du = np.array(si.dp_du).T
    n = np.array(si.sh_frame.n).T
    s_axis = dp_du - n * np.sum(dp_du * n, 1, keepdims=True)
    s_axis /= np.linalg.norm(s_axis, axis=1, keepdims=True)
    np.testing.assert_allclose(tangents[mesh.faces[:, 0], :3], s_axis, atol=1e-5)
    assert np.all(tangents[:, 3] == 1.0)
    from invrender.export.meshes import write_glb

    glb = write_glb(tmp_path / "nm.glb", [mesh])
    loaded = trimesh.load(glb, force="scene")
    assert loaded.geometry  # readable
    raw = glb.read_bytes()
    length = int.from_bytes(raw[12:16], "little")
    document = json.loads(raw[20 : 20 + length])
    attributes = document["meshes"][0]["primitives"][0]["attributes"]
    assert "TANGENT" in attributes and "_TANGENT" not in attributes
    assert "normalTexture" in document["materials"][0]


def test_ply_and_obj_read_back(scene, exported):
    """Mitsuba's own loaders read our PLY (v up, as other tools expect) and OBJ."""
    import mitsuba as mi

    out = exported[0]
    cube = _shape(scene, "cube")
    positions = np.array(cube.vertex_positions_buffer()).reshape(-1, 3)
    uvs = np.array(cube.vertex_texcoords_buffer()).reshape(-1, 2)
    normals = np.array(cube.vertex_normals_buffer()).reshape(-1, 3)
    ply = mi.load_dict({"type": "ply", "filename": str(out / "ply" / "cube.ply")})
    np.testing.assert_allclose(
        np.array(ply.vertex_positions_buffer()).reshape(-1, 3), positions, atol=1e-6
    )
    np.testing.assert_allclose(
        np.array(ply.vertex_normals_buffer()).reshape(-1, 3), normals, atol=1e-6
    )
    ply_uv = np.array(ply.vertex_texcoords_buffer()).reshape(-1, 2)
    np.testing.assert_allclose(ply_uv[:, 1], 1.0 - uvs[:, 1], atol=1e-6)
    # Mitsuba's OBJ reader flips v itself, so the OBJ round trip is the identity.
    obj = mi.load_dict({"type": "obj", "filename": str(out / "obj" / "cube.obj")})
    np.testing.assert_allclose(
        np.array(obj.vertex_texcoords_buffer()).reshape(-1, 2), uvs, atol=1e-6
    )
    mtl = (out / "obj" / "cube.mtl").read_text()
    assert "map_Kd textures/cube_base_color.png" in mtl and "Pr 1.000000" in mtl


def test_scene_xml_rerenders_the_optimized_scene(variant, tmp_path):
    """Change parameters as an optimizer would, export, reload, render: same image."""
    import drjit as dr
    import mitsuba as mi

    from invrender.export.mitsuba_xml import write_mitsuba_scene

    scene = make_scene(mi, width=32, height=24, spp=8, principled=True)
    params = mi.traverse(scene)
    key = "cube.bsdf.base_color.data"
    params[key] = dr.clip(params[key] * 0.5 + 0.3, 0, 1)
    params["cube.bsdf.roughness.value"] = 0.2
    params["sky.scale"] = 1.3
    params.update()
    files = write_mitsuba_scene(scene, tmp_path)
    reloaded = mi.load_file(str(files[0]))
    original = np.array(mi.render(scene, seed=3))
    again = np.array(mi.render(reloaded, seed=3))[..., :3]  # scene.xml films are RGBA
    assert original.shape == again.shape
    np.testing.assert_allclose(again, original, atol=1e-5)
    # A stale export (values before the update) would differ by far more than that.
    assert "0.2" in (tmp_path / "scene.xml").read_text()


def test_camera_round_trip_through_transforms_json(scene, exported):
    import mitsuba as mi

    from invrender.export.cameras import cameras_from_transforms_json, mitsuba_sensor_dict
    from invrender.export.scene_data import camera_record

    path = exported[0] / "cameras" / "transforms.json"
    document = json.loads(path.read_text())
    assert len(document["frames"]) == 2
    back = cameras_from_transforms_json(path)
    for sensor, camera in zip(scene.sensors(), back, strict=True):
        original = camera_record(sensor, "x")
        np.testing.assert_allclose(camera.to_world, original.to_world, atol=1e-5)
        assert math.isclose(camera.fov_x_deg, original.fov_x_deg, abs_tol=1e-5)
        assert (camera.width, camera.height) == (original.width, original.height)
        rebuilt = camera_record(mi.load_dict(mitsuba_sensor_dict(camera)), "y")
        np.testing.assert_allclose(rebuilt.to_world, original.to_world, atol=1e-5)
        assert math.isclose(rebuilt.fov_x_deg, original.fov_x_deg, abs_tol=1e-5)


def test_transforms_json_camera_looks_down_minus_z_in_z_up_world(variant):
    """A Mitsuba camera looking along world -Z (Y up) must look along Blender's +Y, Z up."""
    import mitsuba as mi

    from invrender.export.cameras import transforms_json
    from invrender.export.scene_data import camera_record

    sensor = mi.load_dict(
        {
            "type": "perspective",
            "fov": 60,
            "to_world": mi.ScalarTransform4f().look_at([0, 0, 5], [0, 0, 0], [0, 1, 0]),
        }
    )
    frame = transforms_json([camera_record(sensor, "c")])["frames"][0]
    c2w = np.array(frame["transform_matrix"])
    np.testing.assert_allclose(-c2w[:3, 2], [0, 1, 0], atol=1e-6)  # view direction
    np.testing.assert_allclose(c2w[:3, 1], [0, 0, 1], atol=1e-6)  # camera up = world up
    np.testing.assert_allclose(c2w[:3, 3], [0, -5, 0], atol=1e-6)  # position (x, -z, y)


def test_envmap_is_reoriented_for_blender(variant):
    """Blender-layout texels hold what Mitsuba's envmap emits in that texel's direction.

    The reference here is independent of Mitsuba's lookup: a smooth function of direction is
    sampled on Mitsuba's grid (rows on the poles), exported, and compared with the same
    function at each Blender texel's direction. Bilinear resampling bounds the error.
    """
    import mitsuba as mi

    from invrender.export.cameras import BLENDER_TO_MITSUBA
    from invrender.export.lighting import blender_equirect_directions, envmap_for_blender
    from invrender.export.scene_data import read_scene

    height, width = 64, 128

    def sky(d):  # Mitsuba world directions (N, 3) -> RGB
        return np.stack([1.2 + d[..., 0], 1.1 + 0.5 * d[..., 1], 1.3 + 0.8 * d[..., 2]], -1)

    theta = np.pi * np.arange(height) / (height - 1)
    u = (np.arange(width) + 0.5) / width
    t, uu = np.meshgrid(theta, u, indexing="ij")
    directions = np.stack(
        [np.sin(t) * np.sin(2 * np.pi * uu), np.cos(t), -np.sin(t) * np.cos(2 * np.pi * uu)], -1
    )
    scene = mi.load_dict(
        {
            "type": "scene",
            "sky": {
                "type": "envmap",
                "bitmap": mi.Bitmap(sky(directions).astype(np.float32)),
                "scale": 2.0,
            },
        }
    )
    envmap = read_scene(scene).envmap
    blender = envmap_for_blender(envmap)
    assert blender.shape == (height, width, 3)
    expected = sky(blender_equirect_directions(width, height) @ BLENDER_TO_MITSUBA[:3, :3].T)
    np.testing.assert_allclose(blender, expected, atol=2e-3)
    # Blender's image centre faces +X: Mitsuba's +X there, where our sky's red is largest.
    centre = blender[height // 2, width // 2]
    assert centre[0] == pytest.approx(2.2, abs=0.02)
    # Orientation sanity for the test sky too: it must not be symmetric.
    assert np.ptp(procedural_envmap()[..., 0]) > 0.5


def test_material_mapping_table(variant):
    import mitsuba as mi

    from invrender.export.materials import conductor_f0, ior_from_specular, material_from_bsdf

    rough = material_from_bsdf(
        mi.load_dict({"type": "roughconductor", "alpha": 0.09, "distribution": "ggx"}), "m"
    )
    assert rough.roughness[0] == pytest.approx(0.3) and rough.metallic[0] == 1.0
    assert not rough.notes
    np.testing.assert_allclose(rough.base_color, conductor_f0(0.0, 1.0) * np.ones(3))
    principled = material_from_bsdf(
        mi.load_dict(
            {
                "type": "principled",
                "roughness": 0.35,
                "metallic": 0.6,
                "base_color": {"type": "rgb", "value": [0.2, 0.4, 0.6]},
            }
        ),
        "p",
    )
    assert principled.roughness[0] == pytest.approx(0.35)
    assert principled.metallic[0] == pytest.approx(0.6)
    np.testing.assert_allclose(principled.base_color, [0.2, 0.4, 0.6], atol=1e-6)
    assert principled.ior == pytest.approx(1.5, abs=1e-3)  # specular 0.5 -> F0 0.04
    assert ior_from_specular(0.5) == pytest.approx(1.5, abs=1e-3)
    plastic = material_from_bsdf(
        mi.load_dict({"type": "roughplastic", "alpha": 0.25, "int_ior": 1.6}), "r"
    )
    assert plastic.roughness[0] == pytest.approx(0.5) and plastic.ior == pytest.approx(
        1.6 / 1.000277
    )
    diffuse = material_from_bsdf(
        mi.load_dict({"type": "twosided", "bsdf": {"type": "diffuse"}}), "d"
    )
    assert diffuse.double_sided and not diffuse.specular and diffuse.roughness[0] == 1.0
    beckmann = material_from_bsdf(mi.load_dict({"type": "roughconductor"}), "b")
    assert "beckmann" in beckmann.notes[0]


def test_sphere_tessellation_keeps_mitsubas_uv_convention(variant):
    """Tessellated sphere vertices carry the UVs Mitsuba's analytic sphere has there."""
    import mitsuba as mi

    from invrender.export.scene_data import read_scene

    scene = mi.load_dict(
        {
            "type": "scene",
            "ball": {
                "type": "sphere",
                "to_world": mi.ScalarTransform4f()
                .translate([0.3, -0.2, 0.5])
                .rotate([0.6, 0.0, 0.8], 40)
                .scale(0.7),
            },
        }
    )
    mesh = read_scene(scene).meshes[0]
    centre = np.array([0.3, -0.2, 0.5])
    outward = mesh.normals
    # Skip the poles and the u seam, where the UV is ambiguous.
    keep = (mesh.uvs[:, 1] > 0.05) & (mesh.uvs[:, 1] < 0.95)
    keep &= (mesh.uvs[:, 0] > 0.02) & (mesh.uvs[:, 0] < 0.98)
    origins = mesh.positions[keep] + outward[keep] * 0.5
    ray = mi.Ray3f(mi.Point3f(*origins.T), mi.Vector3f(*(-outward[keep]).T))
    si = scene.ray_intersect(ray)
    assert np.all(np.array(si.is_valid()))
    np.testing.assert_allclose(np.array(si.uv).T, mesh.uvs[keep], atol=2e-4)
    np.testing.assert_allclose(np.linalg.norm(mesh.positions - centre, axis=1), 0.7, atol=1e-6)


def test_glb_with_roughness_texture_and_normal_map_validates(variant, tmp_path):
    """Textured roughness goes to the G channel of the linear metallic-roughness image,
    constant metallic to B; with a normal map and tangents the file still validates."""
    import io

    import mitsuba as mi
    from PIL import Image

    from invrender.export.meshes import write_glb
    from invrender.export.scene_data import read_scene

    roughness = np.linspace(0.1, 0.9, 16, dtype=np.float32).reshape(4, 4, 1)
    scene = mi.load_dict(
        {
            "type": "scene",
            "cube": {
                "type": "cube",
                "bsdf": {
                    "type": "normalmap",
                    "normalmap": {
                        "type": "bitmap",
                        "raw": True,
                        "data": mi.TensorXf(np.full((4, 4, 3), [0.5, 0.6, 0.9], np.float32)),
                    },
                    "bsdf": {
                        "type": "principled",
                        "metallic": 0.25,
                        "roughness": {
                            "type": "bitmap",
                            "raw": True,
                            "data": mi.TensorXf(roughness),
                        },
                    },
                },
            },
        }
    )
    glb = write_glb(tmp_path / "rough.glb", read_scene(scene).meshes)
    raw = glb.read_bytes()
    length = int.from_bytes(raw[12:16], "little")
    document = json.loads(raw[20 : 20 + length])
    material = document["materials"][0]
    pbr = material["pbrMetallicRoughness"]
    assert "metallicRoughnessTexture" in pbr and "normalTexture" in material
    assert pbr.get("roughnessFactor", 1.0) == 1.0 and pbr.get("metallicFactor", 1.0) == 1.0
    image_index = document["textures"][pbr["metallicRoughnessTexture"]["index"]]["source"]
    view = document["bufferViews"][document["images"][image_index]["bufferView"]]
    binary = raw[20 + length + 8 :]
    start = view.get("byteOffset", 0)
    png = Image.open(io.BytesIO(binary[start : start + view["byteLength"]])).convert("RGB")
    pixels = np.asarray(png, dtype=np.float64) / 255
    np.testing.assert_allclose(pixels[..., 1], roughness[..., 0], atol=0.5 / 255 + 1e-6)
    np.testing.assert_allclose(pixels[..., 2], 0.25, atol=0.5 / 255 + 1e-6)
    if gltf_validator_installed():
        report, _ = khronos_report(glb)
        assert report["numErrors"] == 0 and report["numWarnings"] == 0, report["messages"]
