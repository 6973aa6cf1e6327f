"""edge_sampling on smooth-normal meshes loaded as OBJ files load (issue 25).

A UV sphere with split seam vertices and vertex normals, emissive on black, seen directly:
translating, scaling, and under a moving camera (differentiated as the opposite motion of
the sphere; finite differences move the real camera). Before the seams were welded and
the shading horizon sampled, edge_sampling was off by the same amount on every seed (a
relative error of 0.39 translating and 0.26 scaling at 64 px), so each check averages many
seeds and asks for an error within the noise of the reference and of that average.
References: tests/data/edge_fd_refs.npz (scripts/make_edge_fd_refs.py), with their noise.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

DATA = os.path.join(os.path.dirname(__file__), "data", "edge_fd_refs.npz")
# The flat quad, half out of the view, is Mitsuba's rectangle emitter on black (reported
# biased in issue 25; not so here).
CASES = ["emitter_sphere", "emitter_sphere_scale", "emitter_sphere_camera", "emitter_quad"]
SEEDS = 8
SPP = 4


@pytest.fixture(scope="module")
def refs():
    data = np.load(DATA)
    return {k: data[k] for k in data.files}


def test_split_seams_are_welded(variant):
    """The seam copies share edges: no boundary edge, as many edges as the unsplit sphere."""
    import drjit as dr
    import mitsuba as mi

    from invrender.geometry.shapes import make_mesh
    from invrender.integrators import silhouette as sil
    from scripts.fixtures.scenes import uv_sphere_arrays

    counts = []
    for split in (False, True):
        v, f, n = uv_sphere_arrays((0.0, 0.0, 0.0), 1.0, 6, 8, split_seam=split)
        mesh = make_mesh(f"sphere{split}", v, f, n)
        edges = sil.mesh_edges(mesh)
        counts.append(edges.count)
        assert int(dr.count(edges.boundary)[0]) == 0
    assert counts[0] == counts[1]
    # Pull one seam copy away: the weld no longer holds, the seam opens.
    params = mi.traverse(mesh)
    pos = np.array(params["vertex_positions"]).reshape(-1, 3)
    pos[8 + 8] += 0.1  # the first ring's copy of its phi = 0 vertex
    params["vertex_positions"] = mi.Float(pos.ravel())
    params.update()
    assert int(dr.count(sil.mesh_edges(mesh).boundary)[0]) > 0


def test_horizon_crossing_is_the_root_of_g(variant):
    """crossing() finds where n_s . (eye - x) changes sign along an edge."""
    import mitsuba as mi

    from invrender.integrators.shading_horizon import crossing

    rng = np.random.default_rng(3)
    p_u, p_w = rng.normal(size=(2, 64, 3))
    n_u, n_w = rng.normal(size=(2, 64, 3))
    eye = rng.normal(size=(64, 3)) * 4.0

    def g(t: np.ndarray) -> np.ndarray:
        n = n_u + t[:, None] * (n_w - n_u)
        x = p_u + t[:, None] * (p_w - p_u)
        return np.sum(n * (eye - x), axis=1)

    change = np.sign(g(np.zeros(64))) != np.sign(g(np.ones(64)))
    t = np.array(
        crossing(*(mi.Point3f(np.asarray(a, np.float32).T) for a in (p_u, p_w, n_u, n_w, eye)))
    )
    assert change.sum() > 10
    assert np.all((t >= 0) & (t <= 1))
    # g at the root is zero relative to g's scale along the edge.
    scale = np.abs(g(np.zeros(64))) + np.abs(g(np.ones(64)))
    assert np.all(np.abs(g(t)[change]) < 1e-4 * scale[change])


@pytest.mark.parametrize("case", CASES)
def test_mean_over_seeds_matches_finite_differences(variant, refs, case):
    from scripts.fixtures import fd, scenes

    loaded = fd.load(scenes.build(case, res=32))
    ref = refs[case]
    integrator = fd.make_integrator({"type": "edge_sampling", "max_depth": 2})
    images = [fd.forward_derivative(loaded, integrator, spp=SPP, seed=s) for s in range(SEEDS)]
    mean = np.mean(images, axis=0)
    norm = np.linalg.norm(ref)
    # Noise of the mean (per-seed spread / sqrt(seeds)) and of the reference.
    own = np.sqrt(np.sum(np.var(images, axis=0, ddof=1)) / SEEDS) / norm
    noise = float(np.hypot(own, refs["noise_" + case]))
    err = fd.relative_error(mean, ref)
    assert err < 3.0 * noise + 0.01, f"{case}: error {err:.3f}, noise {noise:.3f}"
    scale = float(np.sum(mean * ref) / np.sum(ref * ref))
    assert abs(scale - 1.0) < 0.03, f"{case}: derivative scaled by {scale:.3f}"

    weights = fd.loss_weights(ref.shape)
    g_ref = fd.image_loss_gradient(ref, weights)
    rev = [fd.reverse_gradient(loaded, integrator, weights, spp=SPP, seed=s) for s in range(4)]
    assert fd.scalar_relative_error(float(np.mean(rev)), g_ref) < 0.03
