"""Convex-mesh detection, and the shadow-term lanes it lets edge_sampling skip."""

from __future__ import annotations

import numpy as np
import pytest
import trimesh

from invrender.integrators import convex_mesh, scenes, shadow_edges


def _shape(vertices: np.ndarray, faces: np.ndarray):
    import mitsuba as mi

    mesh = scenes.make_mesh(
        "m",
        np.asarray(vertices, np.float32),
        np.ascontiguousarray(faces, dtype=np.uint32),
        None,
        bsdf={"type": "diffuse"},
    )
    return mi.load_dict({"type": "scene", "m": mesh}).shapes()[0]


def test_sphere_topology_of_closed_open_flipped_and_torus_meshes():
    box = trimesh.creation.box()
    assert convex_mesh.sphere_topology(box.faces)
    assert convex_mesh.sphere_topology(box.faces[:, ::-1])  # inward winding: same topology
    assert not convex_mesh.sphere_topology(box.faces[1:])  # one face missing: open
    flipped = box.faces.copy()
    flipped[0] = flipped[0, ::-1]
    assert not convex_mesh.sphere_topology(flipped)  # one face against its neighbours
    assert not convex_mesh.sphere_topology(trimesh.creation.torus(1.0, 0.3).faces)  # genus 1
    two = np.concatenate([box.faces, box.faces + len(box.vertices)])
    assert not convex_mesh.sphere_topology(two)  # two spheres: Euler characteristic 4


def test_is_convex_follows_the_vertex_positions(variant):
    ball = trimesh.creation.icosphere(subdivisions=2)
    assert convex_mesh.is_convex(_shape(ball.vertices, ball.faces))
    assert not convex_mesh.is_convex(_shape(ball.vertices, ball.faces[:, ::-1]))  # inside out
    dented = ball.vertices.copy()
    dented[0] *= 0.9
    assert not convex_mesh.is_convex(_shape(dented, ball.faces))
    capsule = trimesh.creation.capsule()  # flat-ish rings along the cylinder
    assert convex_mesh.is_convex(_shape(capsule.vertices, capsule.faces))


@pytest.mark.parametrize("name", ["smooth_silhouette", "glossy_scaling"])
def test_skipped_shadow_lanes_carried_nothing(variant, monkeypatch, name):
    """The lanes edge_sampling's shadow term skips (the convex object's own surface, the
    black backdrop) add nothing when they are not skipped: the derivative images agree."""
    from invrender.integrators import fd

    spec = scenes.build(name, res=24)
    loaded = fd.load(spec)
    integrator = fd.make_integrator({"type": "edge_sampling", "max_depth": spec.max_depth})
    (obj,) = [s for s in loaded.scene.shapes() if s.id() == "object"]
    assert convex_mesh.is_convex(obj)  # so the pruned run does skip the object's lanes
    pruned = fd.forward_derivative(loaded, integrator, spp=8, seed=3)
    monkeypatch.setattr(convex_mesh, "is_convex", lambda mesh: False)
    monkeypatch.setattr(shadow_edges, "reflects_nothing", lambda bsdf, si, active: active & False)
    unpruned = fd.forward_derivative(loaded, integrator, spp=8, seed=3)
    difference = np.linalg.norm(unpruned - pruned)
    assert difference <= 1e-3 * np.linalg.norm(pruned), difference
