"""UV atlas (xatlas) of a remeshed surface and baking a volume texture into it."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture(scope="module")
def remeshed():
    """A lobed blob, remeshed as the geometry pipeline does (Botsch-Kobbelt)."""
    from invrender.geometry.remesh import edge_length_for_triangles, remesh_isotropic
    from scripts.fixtures.procedural import lobed_blob

    vertices, faces = lobed_blob(subdivisions=3, scale=0.8)
    length = edge_length_for_triangles(vertices, faces, 2000)
    return remesh_isotropic(vertices, faces, length, 3)


def test_atlas_splits_seams_and_keeps_the_surface(remeshed):
    from invrender.texturing.atlas import unwrap

    vertices, faces = remeshed
    atlas = unwrap(vertices, faces, resolution=128, padding=2)
    assert len(atlas.faces) == len(faces)
    np.testing.assert_array_equal(atlas.vmapping[atlas.faces], faces)  # same triangles
    np.testing.assert_array_equal(atlas.vertices, vertices[atlas.vmapping])
    assert atlas.seam_vertices > 0 and len(atlas.vertices) > len(vertices)
    assert atlas.uvs.min() >= 0.0 and atlas.uvs.max() <= 1.0
    # Charts do not overlap: the UV triangles' areas add up to at most the unit square, and
    # every triangle has positive area (no collapsed charts).
    a, b, c = (atlas.uvs[atlas.faces[:, i]] for i in range(3))
    area = 0.5 * np.abs((b - a)[:, 0] * (c - a)[:, 1] - (b - a)[:, 1] * (c - a)[:, 0])
    assert area.min() > 0 and 0.3 < area.sum() <= 1.0


def test_rasterized_texels_lie_on_their_triangles(remeshed):
    """Barycentrics of each covered texel reproduce its centre's UV (v = 0 at row 0)."""
    from invrender.texturing.atlas import unwrap
    from invrender.texturing.bake import rasterize

    atlas = unwrap(*remeshed, resolution=64)
    face_of, bary = rasterize(atlas.uvs, atlas.faces, 64)
    rows, cols = np.nonzero(face_of >= 0)
    assert len(rows) > 0.3 * 64 * 64
    corners = atlas.uvs[atlas.faces[face_of[rows, cols]]]  # (k, 3, 2)
    uv = np.einsum("kc,kcd->kd", bary[rows, cols], corners)
    np.testing.assert_allclose(uv[:, 0], (cols + 0.5) / 64, atol=1e-9)
    np.testing.assert_allclose(uv[:, 1], (rows + 0.5) / 64, atol=1e-9)


def _grid_albedo(mi):
    """A 16^3 colour grid (a volume texture, as configs/joint.yaml's albedo) over [-1, 1]^3."""
    g = (np.arange(16) + 0.5) / 16
    z, y, x = np.meshgrid(g, g, g, indexing="ij")
    data = np.stack([0.2 + 0.7 * x, 0.2 + 0.6 * y * (1 - z), 0.15 + 0.7 * z], -1)
    return {
        "type": "volume",
        "volume": {
            "type": "gridvolume",
            "grid": mi.VolumeGrid(data.astype(np.float32)),
            "to_world": mi.ScalarTransform4f().translate([-1.0, -1.0, -1.0]).scale(2.0),
        },
    }


def test_baked_texture_renders_like_the_volume(variant, remeshed):
    """The same mesh with the volume albedo and with its baked UV map: the same picture."""
    import mitsuba as mi

    from invrender.texturing.atlas import unwrap
    from invrender.texturing.bake import bake_texture, texel_surface

    vertices, faces = remeshed
    atlas = unwrap(vertices, faces, resolution=256)
    volume = mi.load_dict(_grid_albedo(mi))
    baked = bake_texture(volume, texel_surface(atlas, 256), 3)
    assert baked.shape == (256, 256, 3) and 0.1 < baked.min() and baked.max() < 0.95

    def bitmap():  # load_dict takes the tensor over: a fresh one per scene
        return {"type": "diffuse", "reflectance": {"type": "bitmap", "data": mi.TensorXf(baked)}}

    volume_image = _render(
        mi, {"type": "diffuse", "reflectance": _grid_albedo(mi)}, vertices, faces
    )
    baked_image = _render(mi, bitmap(), atlas.vertices, atlas.faces, atlas.uvs)
    assert volume_image.mean() > 0.05
    # Same sample paths (same seed and geometry): only the texture lookup differs.
    assert np.mean(np.abs(baked_image - volume_image)) < 0.004
    # For scale: a v flip of the map is far off.
    flipped = atlas.uvs.copy()
    flipped[:, 1] = 1 - flipped[:, 1]
    wrong = _render(mi, bitmap(), atlas.vertices, atlas.faces, flipped)
    assert np.mean(np.abs(wrong - volume_image)) > 0.02


def test_a_constant_roughness_bakes_into_a_full_map(variant, remeshed):
    """A principled material's scalar roughness is a constant texture: one value, every texel.

    (``scene.object.material: principled`` in a joint run crashed at the texture stage.)"""
    import mitsuba as mi

    from invrender.export.mitsuba_access import children
    from invrender.texturing.atlas import unwrap
    from invrender.texturing.bake import bake_texture, texel_surface

    vertices, faces = remeshed
    atlas = unwrap(vertices, faces, resolution=64)
    bsdf = mi.load_dict(
        {
            "type": "principled",
            "roughness": 0.27,
            "base_color": {"type": "rgb", "value": [0.2, 0.4, 0.6]},
        }
    )
    surface = texel_surface(atlas, 64)
    rough = bake_texture(children(bsdf)["roughness"], surface, 1)
    colour = bake_texture(children(bsdf)["base_color"], surface, 3)
    assert rough.shape == (64, 64, 1) and np.allclose(rough, 0.27)
    assert colour.shape == (64, 64, 3) and np.allclose(colour, [0.2, 0.4, 0.6], atol=1e-6)


def _render(mi, bsdf, vertices, faces, uvs=None):
    props = mi.Properties()
    props["bsdf"] = mi.load_dict(bsdf)
    mesh = mi.Mesh("m", len(vertices), len(faces), props, False, uvs is not None)
    params = mi.traverse(mesh)
    params["vertex_positions"] = mi.Float(vertices.astype(np.float32).ravel())
    params["faces"] = mi.UInt(faces.astype(np.uint32).ravel())
    if uvs is not None:
        params["vertex_texcoords"] = mi.Float(uvs.astype(np.float32).ravel())
    params.update()
    scene = mi.load_dict(
        {
            "type": "scene",
            "integrator": {"type": "direct", "hide_emitters": True},
            "light": {"type": "constant", "radiance": 1.0},
            "mesh": mesh,
            "sensor": {
                "type": "perspective",
                "fov": 40,
                "to_world": mi.ScalarTransform4f().look_at([0.5, 1.0, 3.5], [0, 0, 0], [0, 1, 0]),
                "film": {"type": "hdrfilm", "width": 48, "height": 48},
                "sampler": {"type": "independent", "sample_count": 16},
            },
        }
    )
    return np.array(mi.render(scene, seed=5), dtype=np.float64)[..., :3]
