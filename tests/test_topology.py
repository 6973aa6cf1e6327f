"""Mesh topology counts (Euler characteristic, genus, components, boundary loops) and the remesh
that must keep them."""

from __future__ import annotations

import numpy as np
import pytest
import trimesh

from invrender.geometry.remesh import RemeshError
from invrender.geometry.shapes import icosphere
from invrender.geometry.topology import largest_component, mesh_topology, signed_volume
from invrender.geometry.visual_hull import remesh_keeping_topology
from scripts.fixtures.procedural import signet_ring


def test_genus_of_sphere_ring_and_double_torus():
    _, sphere = icosphere(2)
    assert mesh_topology(sphere).genus == 0 and mesh_topology(sphere).euler == 2
    ring_v, ring_f = signet_ring(48, 16)
    ring = mesh_topology(ring_f)
    assert (ring.genus, ring.components, ring.euler, ring.closed_manifold) == (1, 1, 0, True)
    # Two disjoint rings: chi = 0, two components, genus 2 in total.
    two = np.concatenate([ring_f, ring_f + len(ring_v)])
    assert (mesh_topology(two).components, mesh_topology(two).genus) == (2, 2)
    # A genus-2 surface from a signed-distance grid: two overlapping tori (a double torus).
    from skimage.measure import marching_cubes

    axis = np.linspace(-2.6, 2.6, 80)
    x, y, z = np.meshgrid(axis, axis, axis, indexing="ij")

    def torus(cx):
        return np.sqrt((np.sqrt((x - cx) ** 2 + z**2) - 1.0) ** 2 + y**2) - 0.35

    _, faces, _, _ = marching_cubes(np.minimum(torus(-0.9), torus(0.9)), 0.0)
    assert mesh_topology(faces).genus == 2 and mesh_topology(faces).closed_manifold


def test_open_mesh_counts_its_boundary():
    vertices, faces = icosphere(2)
    topology = mesh_topology(faces[1:])  # one triangle removed: a disc
    assert (topology.boundary_loops, topology.genus, topology.closed_manifold) == (1, 0, False)


def test_largest_component_and_orientation():
    a_v, a_f = icosphere(2, radius=1.0)
    b_v, b_f = icosphere(1, center=(5, 0, 0), radius=0.2)
    v = np.concatenate([a_v, b_v])
    f = np.concatenate([a_f, b_f + len(a_v)])
    kept_v, kept_f = largest_component(v, f)
    assert len(kept_f) == len(a_f) and np.allclose(kept_v.mean(axis=0), 0, atol=1e-9)
    assert signed_volume(a_v, a_f) > 0 > signed_volume(a_v, a_f[:, ::-1])


def test_remesh_keeps_genus_and_refuses_a_mismatch():
    mesh = trimesh.creation.torus(1.0, 0.05, major_sections=64, minor_sections=16)
    v, f = np.asarray(mesh.vertices), np.asarray(mesh.faces, dtype=np.int32)
    new_v, new_f = remesh_keeping_topology(v, f, 200, 5)
    assert mesh_topology(new_f).genus == 1 and mesh_topology(new_f).closed_manifold
    _, sphere = icosphere(2)
    with pytest.raises(RemeshError, match="changes the topology.*genus 0.*genus 1"):
        remesh_keeping_topology(v, f, 200, 5, expected=mesh_topology(sphere), attempts=2)
