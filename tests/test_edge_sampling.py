"""edge_sampling against finite differences on scenes that each isolate one effect.

References: tests/data/edge_fd_refs.npz, central differences of the path-traced primal
(regenerate with scripts/make_edge_fd_refs.py). Errors are the relative L2 error of the
derivative image after a 3x3 box blur (per-pixel Monte Carlo noise of both estimates is
large at test spp; the blur keeps the comparison about bias), and the relative error of
the gradient of a fixed random-weight image loss, forward and reverse mode.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

DATA = os.path.join(os.path.dirname(__file__), "data", "edge_fd_refs.npz")

# case -> (scene builder kwargs, integrator overrides, spp, max blurred image error,
#          max loss-gradient error)
CASES = {
    "silhouette": ({}, {"edge_samples": 16, "crease_weight": 0.0}, 4, 0.08, 0.06),
    "scaling_envmap": ({}, {"edge_samples": 16}, 8, 0.16, 0.10),
    "shadow": ({}, {"shadow_edge_samples": 64}, 4, 0.22, 0.12),
    "shadow_receiver": ({}, {"shadow_edge_samples": 1024}, 4, 0.22, 0.15),
    "albedo": ({}, {}, 16, 0.06, 0.02),
    "light_intensity": ({}, {}, 16, 0.06, 0.02),
    "camera_translation": ({}, {"edge_samples": 16, "crease_weight": 0.0}, 4, 0.08, 0.06),
    "silhouette_gaussian_border": (
        {"rfilter": "gaussian", "sample_border": True},
        {"edge_samples": 16, "crease_weight": 0.0},
        4,
        0.08,
        0.08,
    ),
    # Issue 17: a black ball mesh between a one-sided rectangle light facing down and the
    # ground; box filter, sample_border (the scene's defaults); default sample counts.
    # The wide views put the penumbra on few pixels, so they get more shadow samples (still
    # far cheaper than direct_projective at the same spp).
    "ball_shadow": ({}, {}, 4, 0.25, 0.10),
    "ball_shadow_two_sided": ({"two_sided": True}, {"shadow_edge_samples": 64}, 4, 0.25, 0.12),
    "ball_shadow_light_visible": (
        {"light_visible": True},
        {"shadow_edge_samples": 256},
        4,
        0.25,
        0.15,
    ),
    "ball_shadow_blocker_visible": (
        {"blocker_visible": True},
        {"shadow_edge_samples": 256},
        4,
        0.25,
        0.15,
    ),
}
BALL_CASES = [c for c in CASES if c.startswith("ball_shadow")]


@pytest.fixture(scope="module")
def refs():
    data = np.load(DATA)
    return {k: data[k] for k in data.files}


def _load(case: str, kwargs: dict):
    from scripts.fixtures import fd, scenes

    name = case
    for prefix in ("silhouette", "ball_shadow"):
        if case.startswith(prefix):
            name = prefix
    return fd.load(scenes.build(name, res=32, **kwargs))


def _check(loaded, refs, case, integrator, spp, seed=3):
    from scripts.fixtures import fd

    ref = refs[case]
    weights = fd.loss_weights(ref.shape)
    fwd = fd.forward_derivative(loaded, integrator, spp=spp, seed=seed)
    rev = fd.reverse_gradient(loaded, integrator, weights, spp=spp, seed=seed)
    g_ref = fd.image_loss_gradient(ref, weights)
    return (
        fd.relative_error(fwd, ref, blur=1),
        fd.scalar_relative_error(fd.image_loss_gradient(fwd, weights), g_ref),
        fd.scalar_relative_error(rev, g_ref),
    )


@pytest.mark.parametrize("case", list(CASES))
def test_forward_and_reverse_match_finite_differences(variant, refs, case):
    kwargs, overrides, spp, img_tol, grad_tol = CASES[case]
    loaded = _load(case, kwargs)
    integrator = {"type": "edge_sampling", "max_depth": loaded.spec.max_depth, **overrides}
    img_err, fwd_err, rev_err = _check(loaded, refs, case, integrator, spp)
    assert img_err < img_tol, f"{case}: blurred derivative image error {img_err:.3f}"
    assert fwd_err < grad_tol, f"{case}: forward loss-gradient error {fwd_err:.3f}"
    assert rev_err < grad_tol, f"{case}: reverse loss-gradient error {rev_err:.3f}"


@pytest.mark.parametrize("case", ["silhouette", "shadow", "shadow_receiver"])
def test_prb_fails_the_same_check(variant, refs, case):
    """Plain prb misses visibility gradients: the check above must be able to fail."""
    kwargs, _, spp, img_tol, grad_tol = CASES[case]
    loaded = _load(case, kwargs)
    img_err, fwd_err, rev_err = _check(
        loaded, refs, case, {"type": "prb", "max_depth": loaded.spec.max_depth}, spp
    )
    assert img_err > 3 * img_tol and fwd_err > 3 * grad_tol and rev_err > 3 * grad_tol


def test_gaussian_border_not_overestimated(variant, refs):
    """Mitsuba's projective integrators scale this case by (W+2b)(H+2b)/(WH) = 1.27."""
    from scripts.fixtures import fd

    case = "silhouette_gaussian_border"
    kwargs, overrides, spp, _, _ = CASES[case]
    loaded = _load(case, kwargs)
    integrator = {"type": "edge_sampling", "max_depth": 2, **overrides}
    fwd = fd.forward_derivative(loaded, integrator, spp=spp, seed=5)
    ref = refs[case]
    ratio = float(np.sum(np.abs(fd.box_blur(fwd, 1))) / np.sum(np.abs(fd.box_blur(ref, 1))))
    assert abs(ratio - 1.0) < 0.08, f"|derivative| ratio to finite differences {ratio:.3f}"


def test_primal_matches_path(variant):
    import mitsuba as mi

    from scripts.fixtures import fd, scenes

    for name in ("shadow", "scaling_envmap"):
        loaded = fd.load(scenes.build(name, res=32))
        ours = np.array(
            mi.render(loaded.scene, integrator=mi.load_dict({"type": "edge_sampling"}), spp=256)
        )
        path = np.array(
            mi.render(loaded.scene, integrator=mi.load_dict({"type": "path"}), spp=256, seed=9)
        )
        assert abs(ours.mean() - path.mean()) < 0.02 * path.mean()
        assert fd.relative_error(fd.box_blur(ours, 1), fd.box_blur(path, 1)) < 0.05


def test_registered_after_variant_switch(variant):
    import mitsuba as mi

    import invrender.integrators as integrators

    assert "edge_sampling" in integrators.register()
    integrator = mi.load_dict({"type": "edge_sampling", "edge_samples": 2, "max_depth": 3})
    assert integrator.edge_samples == 2 and integrator.max_depth == 3
    assert "EdgeSamplingIntegrator" in str(integrator)


def test_edge_topology_of_a_tetrahedron_and_an_open_quad():
    from invrender.integrators.silhouette import edge_topology_arrays

    tetra = np.array([[0, 1, 2], [0, 3, 1], [1, 3, 2], [2, 3, 0]])
    edges, adj = edge_topology_arrays(tetra)
    assert len(edges) == 6 and (adj[:, 1] >= 0).all()
    for (a, b), (f0, f1) in zip(edges, adj, strict=True):
        assert {a, b} <= set(tetra[f0]) and {a, b} <= set(tetra[f1]) and f0 != f1
    edges, adj = edge_topology_arrays(np.array([[0, 1, 2], [0, 2, 3]]))
    assert len(edges) == 5 and (adj[:, 1] < 0).sum() == 4


def test_silhouette_ring_and_projection(variant):
    import drjit as dr
    import mitsuba as mi

    from invrender.integrators import silhouette as sil
    from scripts.fixtures import fd, scenes

    loaded = fd.load(scenes.build("silhouette", res=32))
    sensor = loaded.scene.sensors()[0]
    mesh = next(s for s in loaded.scene.shapes() if s.id() == "object")
    edges = sil.mesh_edges(mesh)
    eye = mi.Point3f(sensor.world_transform() @ mi.ScalarPoint3f(0.0))
    # The UV sphere's poles face the camera: its outline is the 24-edge equator.
    assert int(dr.count(sil.silhouette_mask(mesh, edges, [eye]))[0]) == 24
    camera = sil.Pinhole.from_sensor(sensor)
    points = mi.Point3f([0.3, -0.2, 0.1], [0.2, 0.4, -0.5], [0.0, 0.2, 0.3])
    it = dr.zeros(mi.Interaction3f, 3)
    it.p = points
    ds, _ = sensor.sample_direction(it, mi.Point2f(0))
    ours, valid = camera.project(points)
    assert np.allclose(np.array(ours), np.array(ds.uv), atol=1e-3) and np.all(np.array(valid))


def test_film_normalization(variant):
    import mitsuba as mi

    from invrender.integrators.film_filter import FilmFootprint

    sensor = mi.load_dict(
        {
            "type": "perspective",
            "film": {"type": "hdrfilm", "width": 8, "height": 6, "rfilter": {"type": "box"}},
        }
    )
    fp = FilmFootprint.from_film(sensor.film())
    assert np.allclose(np.array(fp.kx), 1.0) and np.allclose(np.array(fp.ky), 1.0)
    sensor = mi.load_dict(
        {
            "type": "perspective",
            "film": {
                "type": "hdrfilm",
                "width": 8,
                "height": 6,
                "rfilter": {"type": "gaussian"},
                "sample_border": False,
            },
        }
    )
    fp = FilmFootprint.from_film(sensor.film())
    kx = np.array(fp.kx)
    # Gaussian, sigma 0.5 px: a centre pixel sees all of it; the first pixel (centre 0.5 px
    # from the film edge) loses the part beyond -1 sigma, so Phi(4) - Phi(-1) of it remains.
    assert abs(kx[0] / kx[4] - 0.8413) < 0.01
    border = mi.load_dict(
        {
            "type": "perspective",
            "film": {
                "type": "hdrfilm",
                "width": 8,
                "height": 6,
                "rfilter": {"type": "gaussian"},
                "sample_border": True,
            },
        }
    )
    kb = np.array(FilmFootprint.from_film(border.film()).kx)
    assert np.allclose(kb, kb[4], rtol=1e-4)


def test_dr_forward_route_equals_forward_to(variant):
    """``dr.forward`` from the parameter and ``dr.forward_to`` the image give one answer."""
    import drjit as dr
    import mitsuba as mi

    from scripts.fixtures import fd, scenes

    loaded = fd.load(scenes.build("silhouette", res=16))
    integrator = mi.load_dict({"type": "edge_sampling", "max_depth": 2})
    results = []
    for route in ("forward", "forward_to"):
        theta = mi.Float(0.0)
        dr.enable_grad(theta)
        loaded.set_theta(theta)
        image = mi.render(loaded.scene, loaded.params, integrator=integrator, spp=4, seed=7)
        if route == "forward":
            dr.forward(theta)
        else:
            dr.set_grad(theta, 1.0)
            dr.forward_to(image)
        results.append(np.array(dr.grad(image)))
        loaded.reset()
    assert np.abs(results[0]).sum() > 0
    assert np.allclose(results[0], results[1], atol=1e-4)


def test_register_survives_variant_switches(variant):
    """In a fresh process: a non-AD variant is skipped, and register() works after switching."""
    import subprocess
    import sys

    code = (
        "from invrender.llvm import ensure_llvm; ensure_llvm()\n"
        "import mitsuba as mi\n"
        "mi.set_variant('scalar_rgb')\n"
        "import invrender.integrators as integrators\n"
        "integrators.register()\n"
        "mi.set_variant('llvm_ad_rgb')\n"
        "integrators.register()\n"
        "print(mi.load_dict({'type': 'edge_sampling', 'max_depth': 3}))\n"
    )
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, PYTHONPATH=root + os.pathsep + os.environ.get("PYTHONPATH", ""))
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert "EdgeSamplingIntegrator[max_depth=3" in out.stdout


def test_primary_and_shadow_terms_together_forward_equals_reverse(variant):
    """A blocker seen by the camera *and* casting a shadow gives two boundary terms from
    one mesh; forward mode must carry both (a second dr.forward_to would find the tangents
    already consumed). Same seed, same samples: the loss gradient of the forward-mode image
    equals the reverse-mode gradient, and the shadow term changes it.
    """
    import dataclasses

    from scripts.fixtures import fd, scenes

    spec = scenes.build("shadow", res=16)
    scene = {**spec.scene, "sensor": {**spec.scene["sensor"], "fov": 75.0}}  # sees the blocker
    loaded = fd.load(dataclasses.replace(spec, scene=scene))
    weights = fd.loss_weights((16, 16, 3))
    both = {"type": "edge_sampling", "max_depth": 2, "edge_samples": 8, "shadow_edge_samples": 8}
    fwd = fd.image_loss_gradient(fd.forward_derivative(loaded, both, spp=4, seed=5), weights)
    rev = fd.reverse_gradient(loaded, both, weights, spp=4, seed=5)
    no_shadow = fd.reverse_gradient(
        loaded, {**both, "shadow_edge_samples": 0}, weights, spp=4, seed=5
    )
    assert abs(fwd - rev) <= 1e-3 * abs(rev), (fwd, rev)
    assert abs(rev - no_shadow) > 0.05 * abs(rev), (rev, no_shadow)


def test_edges_outside_the_sampled_region_add_nothing(variant):
    """Without sample_border the film samples no position beyond the crop window, so a
    silhouette just outside it (inside the gaussian's reach) moves no pixel: with shadow
    edges off, edge_sampling must equal prb on a sphere that is out of view.
    """
    from scripts.fixtures import fd, scenes

    loaded = fd.load(scenes.build("glossy_reflection", res=16, rfilter="gaussian"))
    es = fd.forward_derivative(
        loaded, {"type": "edge_sampling", "max_depth": 3, "shadow_edge_samples": 0}, spp=8
    )
    prb = fd.forward_derivative(loaded, {"type": "prb", "max_depth": 3}, spp=8)
    assert np.allclose(es, prb, atol=1e-5), np.abs(es - prb).max()


@pytest.mark.parametrize("case", BALL_CASES)
def test_ball_shadow_reverse_spread_across_seeds(variant, refs, case):
    """Reverse-mode loss gradients over 8 seeds: unbiased on average, and their spread at
    most twice direct_projective's (recorded by scripts/make_edge_fd_refs.py at the same spp).
    """
    from scripts.fixtures import fd

    kwargs, overrides, spp, _, grad_tol = CASES[case]
    loaded = _load(case, kwargs)
    ref = refs[case]
    weights = fd.loss_weights(ref.shape)
    g_ref = fd.image_loss_gradient(ref, weights)
    integrator = fd.make_integrator({"type": "edge_sampling", "max_depth": 2, **overrides})
    grads = [fd.reverse_gradient(loaded, integrator, weights, spp=spp, seed=s) for s in range(8)]
    spread = float(np.std(grads) / abs(g_ref))
    dp_spread = float(refs["dp_spread_" + case])
    assert spread <= 2.0 * dp_spread, (
        f"{case}: spread {spread:.3f} vs direct_projective {dp_spread:.3f}"
    )
    assert fd.scalar_relative_error(float(np.mean(grads)), g_ref) < grad_tol


def test_ball_shadow_forward_cosine(variant, refs):
    """The issue's failing measurement: forward-mode derivative image of the ball's soft
    shadow (camera sees only the ground) against finite differences, per pixel (no blur)."""
    from scripts.fixtures import fd

    loaded = _load("ball_shadow", {})
    fwd = fd.forward_derivative(loaded, {"type": "edge_sampling", "max_depth": 2}, spp=16, seed=2)
    ref = refs["ball_shadow"]
    cos = float(np.sum(fwd * ref) / (np.linalg.norm(fwd) * np.linalg.norm(ref)))
    assert cos > 0.9, f"cosine {cos:.3f}"


def test_moving_analytic_shape_is_refused(variant: str) -> None:
    """Issue 25: a moving analytic shape has no mesh edges to sample, so its boundary term
    used to be silently zero (an all-zero derivative image for a translating disk emitter).
    Both modes now refuse in one line that names the fix; a static analytic light is fine."""
    import mitsuba as mi

    from invrender.integrators.refusals import IntegratorRefusal, check_integrator
    from scripts.fixtures import fd, scenes

    loaded = fd.load(scenes.build("analytic_sphere", res=16))
    integrator = {"type": "edge_sampling", "max_depth": 2}
    weights = fd.loss_weights((16, 16, 3))
    for run in (
        lambda: fd.forward_derivative(loaded, integrator, spp=4, propagate="from"),
        lambda: fd.reverse_gradient(loaded, integrator, weights, spp=4),
    ):
        with pytest.raises(IntegratorRefusal) as info:
            run()
        message = str(info.value)
        assert "\n" not in message and "'ball' is an analytic sphere that moves" in message
        assert "mesh" in message and "direct_projective" in message
        loaded.reset()
    # The shadow scene's light is an analytic rectangle that does not move: accepted.
    shadow = fd.load(scenes.build("shadow", res=16))
    check_integrator(mi.load_dict(integrator), shadow.scene, [])
