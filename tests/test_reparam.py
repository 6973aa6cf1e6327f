"""The `reparam` integrator against cached finite differences (scripts/make_reparam_refs.py).

Scenes come from scripts.fixtures.scenes (16 px, gaussian filter). Errors are relative
L2 errors of the derivative image after a 1-pixel box blur (compares below per-pixel
noise) and relative errors of the gradient of a fixed weighted-sum loss; tolerances are
about twice the errors measured at these spp and seeds (printed with -s; the loss gradient
of a translation is a near-cancelling sum, so single-seed errors spread from 0.02 to 0.2),
while plain `prb` scores >= 0.9 on the same checks. The analytic sphere's forward mode goes
through ``dr.forward_from(theta)``: Dr.Jit refuses ``dr.forward_to(image)`` from a perturbed
``to_world`` into the render op (Mitsuba's prb fails the same).
"""

from __future__ import annotations

import os

import numpy as np
import pytest

REFS = os.path.join(os.path.dirname(__file__), "data", "reparam_fd_refs.npz")
SPP = 128
# The glossy reflection's loss gradient is the noisiest check (single-seed errors from 0.04
# to 0.5 at 128 spp); twice the samples keep it well inside its tolerance.
SPP_OVERRIDE = {"glossy_reflection": 256}

# scene -> (tolerance on blurred image error, tolerance on loss-gradient error)
TOLERANCES = {
    "silhouette": (0.25, 0.3),
    "shadow": (0.25, 0.15),
    "glossy_reflection": (0.2, 0.5),
    "analytic_sphere": (0.25, 0.25),
    "albedo": (0.03, 0.02),
    "light_intensity": (0.03, 0.02),
}
REVERSE_TOLERANCE = 0.35
VISIBILITY = ["silhouette", "shadow", "glossy_reflection", "analytic_sphere"]
# A perturbed analytic shape's to_world reaches the render op through values the shape derives
# outside it; Dr.Jit propagates those only from the parameter (dr.forward_from), not back from
# the image (dr.forward_to), for Mitsuba's integrators as for ours (see fd.forward_derivative).
PROPAGATE = {"analytic_sphere": "from"}


@pytest.fixture(scope="module")
def refs(variant: str) -> dict[str, np.ndarray]:
    data = np.load(REFS)
    return {k: data[k] for k in data.files}


def _loaded(name: str, res: int):
    from scripts.fixtures import fd, scenes

    return fd.load(scenes.build(name, res=res, rfilter="gaussian"))


def _reparam(max_depth: int, **overrides) -> dict:
    """The integrator with its default warp settings (what users get).

    ``reparam_moving_shadows: estimate``: the shadow scenes measure the estimator where
    users get a refusal by default (test_moving_shadows_are_refused).
    """
    return {
        "type": "reparam",
        "max_depth": max_depth,
        "reparam_moving_shadows": "estimate",
        **overrides,
    }


def _forward(loaded, integrator: dict, spp: int, seed: int = 0) -> np.ndarray:
    from scripts.fixtures import fd

    propagate = PROPAGATE.get(loaded.spec.name, "to")
    return fd.forward_derivative(loaded, integrator, spp=spp, seed=seed, propagate=propagate)


def _errors(estimate: np.ndarray, reference: np.ndarray) -> tuple[float, float]:
    from scripts.fixtures import fd

    weights = fd.loss_weights(reference.shape)
    image_err = fd.relative_error(estimate, reference, blur=1)
    loss_err = fd.scalar_relative_error(
        fd.image_loss_gradient(estimate, weights), fd.image_loss_gradient(reference, weights)
    )
    return image_err, loss_err


def test_registered_and_configurable(variant: str) -> None:
    import mitsuba as mi

    integ = mi.load_dict(
        {"type": "reparam", "reparam_rays": 4, "reparam_kappa": 500.0, "reparam_shadow_rays": 2}
    )
    assert "reparam_max_depth=2" in integ.to_string()
    assert integ.warp.rays == 4 and integ.warp.kappa == 500.0
    assert integ.shadow_warp.rays == 2 and integ.shadow_field == "outline"
    assert integ.bsdf_field == "outline"


@pytest.mark.parametrize(
    "props, key",
    [
        ({"reparam_shadow_field": "edges"}, "reparam_shadow_field"),
        ({"reparam_shadow_rays": 3}, "reparam_shadow_rays"),
        ({"reparam_bsdf_field": "edges"}, "reparam_bsdf_field"),
    ],
)
def test_bad_settings_name_the_key(variant: str, props: dict, key: str) -> None:
    import mitsuba as mi

    with pytest.raises(Exception, match=key):
        mi.load_dict({"type": "reparam", **props})


def test_box_filter_gets_the_pixel_border_term(variant: str) -> None:
    """Box-filtered films (issue 17): the pixel-border flux term carries what a smooth
    filter's gradient would; without it the silhouette derivative is lost (error ~1)."""
    from scripts.fixtures import fd, scenes

    ref = np.load(os.path.join(os.path.dirname(__file__), "data", "edge_fd_refs.npz"))
    ref = ref["silhouette"]  # 32 px, box filter
    loaded = fd.load(scenes.build("silhouette", res=32, rfilter="box"))
    weights = fd.loss_weights(ref.shape)
    g_ref = fd.image_loss_gradient(ref, weights)
    errors = {}
    for border in (-1, 0):
        integrator = {**_reparam(2), "reparam_border_samples": border}
        fwd = fd.forward_derivative(loaded, integrator, spp=32, seed=1)
        rev = fd.reverse_gradient(loaded, integrator, weights, spp=32, seed=1)
        errors[border] = (
            fd.relative_error(fwd, ref, blur=1),
            fd.scalar_relative_error(fd.image_loss_gradient(fwd, weights), g_ref),
            fd.scalar_relative_error(rev, g_ref),
        )
    print("box filter, with / without border term:", errors)
    assert all(e < 0.25 for e in errors[-1]), errors[-1]
    assert errors[0][0] > 0.9, errors[0]


@pytest.mark.parametrize("name", ["albedo", "light_intensity"])
def test_material_only_box_film_both_modes(variant: str, name: str) -> None:
    """Nothing moves (issue 25): a material or light parameter on a box-filtered film.

    Reverse mode used to crash here (``drjit.backward(): the argument does not depend on
    the input variable(s)``): the pixel-border term backpropagated through a warp that no
    differentiated parameter moves. Both modes must match the finite differences (the
    32 px box-film references of tests/test_edge_sampling.py) and each other.
    """
    from scripts.fixtures import fd, scenes

    reference = np.load(os.path.join(os.path.dirname(__file__), "data", "edge_fd_refs.npz"))[name]
    loaded = fd.load(scenes.build(name, res=32, rfilter="box"))
    weights = fd.loss_weights(reference.shape)
    expected = fd.image_loss_gradient(reference, weights)
    integrator = _reparam(loaded.spec.max_depth)
    fwd = fd.forward_derivative(loaded, integrator, spp=16, seed=2)
    rev = fd.reverse_gradient(loaded, integrator, weights, spp=16, seed=2)
    image_err = fd.relative_error(fwd, reference, blur=1)
    fwd_err = fd.scalar_relative_error(fd.image_loss_gradient(fwd, weights), expected)
    rev_err = fd.scalar_relative_error(rev, expected)
    print(f"{name} box film: image {image_err:.4f}, forward {fwd_err:.4f}, reverse {rev_err:.4f}")
    assert image_err < 0.05 and fwd_err < 0.02 and rev_err < 0.02, (image_err, fwd_err, rev_err)
    assert rev == pytest.approx(fd.image_loss_gradient(fwd, weights), rel=1e-4)


def test_moving_shadows_are_refused(variant: str) -> None:
    """Issue 25's soft-shadow case (``ball_shadow``: a black ball between a one-sided
    rectangle light facing down and the ground, the camera sees only the ground, box film):
    reparam's default refuses it in both modes, in one line that names the fix, and
    ``invrender check``'s test (the shapes the optimized keys move) refuses it too."""
    import mitsuba as mi

    from invrender.integrators.refusals import (
        IntegratorRefusal,
        check_integrator,
        shapes_moved_by,
    )
    from scripts.fixtures import fd, scenes

    loaded = fd.load(scenes.build("ball_shadow", res=16))
    integrator = {"type": "reparam", "max_depth": 2}
    weights = fd.loss_weights((16, 16, 3))
    for run in (
        lambda: fd.forward_derivative(loaded, integrator, spp=4),
        lambda: fd.reverse_gradient(loaded, integrator, weights, spp=4),
    ):
        with pytest.raises(IntegratorRefusal) as info:
            run()
        message = str(info.value)
        assert "\n" not in message and "'blocker' moves" in message
        assert "edge_sampling" in message and "direct_projective" in message
        loaded.reset()
    moving = shapes_moved_by(loaded.params, ["blocker.vertex_positions", "ground.bsdf"])
    assert [s.id() for s in moving] == ["blocker"]
    with pytest.raises(IntegratorRefusal):
        check_integrator(mi.load_dict(integrator), loaded.scene, moving)
    # Not refused: shadow rays not warped, or nothing that moves casts a shadow.
    check_integrator(mi.load_dict({**integrator, "reparam_max_depth": 1}), loaded.scene, moving)
    check_integrator(mi.load_dict(integrator), loaded.scene, [])


def test_moving_shadows_spread_justifies_the_refusal(variant: str) -> None:
    """What ``reparam_moving_shadows: estimate`` gives on that case: reverse-mode loss
    gradients across 8 seeds spread 15x wider than direct_projective's (stored with the
    references), while edge_sampling's spread is below direct_projective's. Measured
    (32 px, 4 spp): reparam 3.03 of the reference (mean 0.71 of it), edge_sampling 0.13,
    direct_projective 0.19."""
    from scripts.fixtures import fd, scenes

    data = np.load(os.path.join(os.path.dirname(__file__), "data", "edge_fd_refs.npz"))
    reference, dp_spread = data["ball_shadow"], float(data["dp_spread_ball_shadow"])
    weights = fd.loss_weights(reference.shape)
    g_ref = fd.image_loss_gradient(reference, weights)
    loaded = fd.load(scenes.build("ball_shadow", res=32))
    spreads = {}
    for name, integrator in (
        ("reparam", _reparam(2)),
        ("edge_sampling", {"type": "edge_sampling", "max_depth": 2}),
    ):
        grads = [fd.reverse_gradient(loaded, integrator, weights, spp=4, seed=s) for s in range(8)]
        spreads[name] = float(np.std(grads) / abs(g_ref))
    print(f"ball_shadow reverse spread: {spreads}, direct_projective {dp_spread:.3f}")
    assert spreads["reparam"] > 5 * dp_spread, spreads
    assert spreads["edge_sampling"] < 2 * dp_spread, spreads


def test_primal_equals_prb(variant: str) -> None:
    """The primal pass is PRB's path tracer: same seed, same image."""
    import mitsuba as mi

    loaded = _loaded("shadow", 16)
    a = np.array(mi.render(loaded.scene, integrator=mi.load_dict(_reparam(2)), spp=8, seed=3))
    b = np.array(
        mi.render(
            loaded.scene, integrator=mi.load_dict({"type": "prb", "max_depth": 2}), spp=8, seed=3
        )
    )
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", list(TOLERANCES))
def test_forward_matches_finite_differences(variant: str, refs, name: str) -> None:
    from scripts.fixtures import scenes

    spec_depth = scenes.build(name, res=16, rfilter="gaussian").max_depth
    loaded = _loaded(name, 16)
    estimate = _forward(loaded, _reparam(spec_depth), SPP_OVERRIDE.get(name, SPP))
    image_err, loss_err = _errors(estimate, refs[name])
    print(f"{name}: image error {image_err:.3f}, loss-gradient error {loss_err:.3f}")
    tol_image, tol_loss = TOLERANCES[name]
    assert image_err < tol_image, (name, image_err, loss_err)
    assert loss_err < tol_loss, (name, image_err, loss_err)


@pytest.mark.parametrize("name", ["shadow", "analytic_sphere"])
def test_reverse_matches_finite_differences(variant: str, refs, name: str) -> None:
    from scripts.fixtures import fd

    loaded = _loaded(name, 16)
    reference = refs[name]
    weights = fd.loss_weights(reference.shape)
    grad = fd.reverse_gradient(loaded, _reparam(loaded.spec.max_depth), weights, spp=SPP)
    expected = fd.image_loss_gradient(reference, weights)
    err = fd.scalar_relative_error(grad, expected)
    print(f"{name} reverse: {grad:.4g} vs FD {expected:.4g}, error {err:.3f}")
    assert err < REVERSE_TOLERANCE, (grad, expected)


@pytest.mark.parametrize("name", VISIBILITY)
def test_prb_misses_visibility(variant: str, refs, name: str) -> None:
    """The same check fails for plain PRB: the tests can tell right from wrong."""
    loaded = _loaded(name, 16)
    estimate = _forward(loaded, {"type": "prb", "max_depth": loaded.spec.max_depth}, 16)
    image_err, loss_err = _errors(estimate, refs[name])
    assert image_err > 0.9 and loss_err > 0.5, (image_err, loss_err)


def test_divergence_formula_matches_finite_differences(variant: str) -> None:
    """div V from the weights' analytic gradient equals central differences of V on the sphere.

    Fixed auxiliary directions y_i (drawn around w0, with their fixed 1/p), boundary tests
    and velocities; V(w) = sum a_i(w) V_i / sum a_i(w) is evaluated at w0 +- eps t_k.
    """
    import mitsuba as mi

    from invrender.integrators.reparam_warp import harmonic_weight

    rng = np.random.default_rng(3)
    kappa, gamma, n = 50.0, 2.0, 8
    w0 = rng.normal(size=3)
    w0 /= np.linalg.norm(w0)
    ys = w0 + 0.15 * rng.normal(size=(n, 3))
    ys /= np.linalg.norm(ys, axis=1, keepdims=True)
    boundary = rng.uniform(0.02, 1.0, size=n)
    velocity = rng.normal(size=(n, 3))
    inv_pdf = np.exp(kappa * (1.0 - ys @ w0))

    def weights(w: np.ndarray, slope: bool = False) -> np.ndarray:
        exp_term = np.exp(kappa * (1.0 - ys @ w))
        a, da = harmonic_weight(
            mi.Float(inv_pdf), mi.Float(exp_term), mi.Float(boundary), kappa, gamma
        )
        return np.array(da if slope else a, dtype=np.float64)

    def field(w: np.ndarray) -> np.ndarray:
        a = weights(w / np.linalg.norm(w))
        return (a[:, None] * velocity).sum(0) / a.sum()

    a = weights(w0)
    grad_a = weights(w0, slope=True)[:, None] * (ys - (ys @ w0)[:, None] * w0)
    v0 = field(w0)
    div_formula = ((grad_a * velocity).sum() - v0 @ grad_a.sum(0)) / a.sum()

    t1 = np.cross(w0, [0.0, 0.0, 1.0])
    t1 /= np.linalg.norm(t1)
    t2 = np.cross(w0, t1)
    eps = 1e-3
    div_fd = sum((field(w0 + eps * t) - field(w0 - eps * t)) @ t / (2 * eps) for t in (t1, t2))
    assert abs(div_formula) > 1e-2  # not a trivially zero case
    assert div_formula == pytest.approx(div_fd, rel=2e-2), (div_formula, div_fd)


def test_half_edge_neighbours() -> None:
    """Two triangles sharing one edge: that edge knows the other face, the rest are open."""
    from invrender.integrators.mesh_neighbours import NO_NEIGHBOUR, half_edge_neighbours

    faces = np.array([[0, 1, 2], [2, 1, 3]])
    table = half_edge_neighbours(faces).reshape(2, 3)
    # Face 0's edge 1 (vertex 1 -> 2) and face 1's edge 0 (vertex 2 -> 1) are shared.
    assert table[0, 1] == 1 and table[1, 0] == 0
    assert {table[0, 0], table[0, 2], table[1, 1], table[1, 2]} == {NO_NEIGHBOUR}


def test_outline_divergence_matches_finite_differences(variant: str) -> None:
    """div V of the shadow rays' outline field equals central differences of V.

    Shadow rays from floor points to light samples in the shadow scene; V and div V are the
    forward derivatives of the warped direction and of the determinant. V is continuous
    but not smooth where the ray's own hit changes primitive, so a few points differ; with
    the weights' gradient or the hits' velocity divergence left out, about half do.
    """
    import drjit as dr
    import mitsuba as mi

    from invrender.integrators.reparam_outline import warp_ray_outline
    from scripts.fixtures import fd, scenes

    loaded = fd.load(scenes.build("shadow", res=16, rfilter="gaussian"))
    scene, n, eps = loaded.scene, 8192, 3e-5
    rng = np.random.default_rng(0)
    uv = mi.Point2f(rng.uniform(size=n), rng.uniform(size=n))
    ray, _ = scene.sensors()[0].sample_ray(0.0, 0.5, uv, mi.Point2f(0.5))
    si = scene.ray_intersect(ray)
    ds, _ = scene.sample_emitter_direction(si, mi.Point2f(rng.uniform(size=(2, n))), False)
    origin = si.spawn_ray(ds.d).o
    lane = dr.arange(mi.UInt32, n)
    settings = mi.load_dict({"type": "reparam"}).shadow_warp  # the defaults users get

    def field(direction: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        theta = mi.Float(0.0)
        dr.enable_grad(theta)
        loaded.set_theta(theta)
        warped, det = warp_ray_outline(
            scene, origin, mi.Vector3f(direction), lane, 7, settings, si.is_valid()
        )
        dr.forward_from(theta)
        out = np.array(dr.grad(warped)), np.array(dr.grad(det))
        loaded.reset()
        return out

    x0 = np.array(ds.d)
    frame = mi.Frame3f(ds.d)
    _, div = field(x0)
    div_fd = 0.0
    for tangent in (np.array(frame.s), np.array(frame.t)):
        plus, _ = field(x0 + eps * tangent)
        minus, _ = field(x0 - eps * tangent)
        div_fd = div_fd + ((plus - minus) * tangent).sum(0) / (2 * eps)
    scale = 1e-2 * np.abs(div).max()
    near_edges = (np.abs(div) + np.abs(div_fd)) > scale
    rel = np.abs(div - div_fd)[near_edges] / (np.abs(div_fd)[near_edges] + scale)
    assert near_edges.sum() > 500  # rays close enough to an edge to have a divergence
    assert (rel > 0.1).mean() < 0.05, (rel > 0.1).mean()


@pytest.mark.parametrize("integrator", ["reparam", "edge_sampling"])
def test_moving_camera_is_refused(variant: str, integrator: str) -> None:
    """Issue 25: a differentiated ``sensor.to_world`` crashed reparam inside its loop
    (``dr.while_loop(): encountered an exception``); both integrators refuse it in one line."""
    import drjit as dr
    import mitsuba as mi

    from invrender.integrators.refusals import IntegratorRefusal
    from scripts.fixtures import scenes

    scene = mi.load_dict(scenes.build("silhouette", res=16).scene)
    params = mi.traverse(scene)
    theta = mi.Float(0.0)
    dr.enable_grad(theta)
    shift = mi.Transform4f().translate(mi.Vector3f(theta, 0.0, 0.0))
    params["sensor.to_world"] = shift @ mi.Transform4f(params["sensor.to_world"])
    params.update()
    dr.set_grad(theta, 1.0)
    integ = mi.load_dict({"type": integrator, "max_depth": 2})
    image = mi.render(scene, params, integrator=integ, spp=4)
    with pytest.raises(IntegratorRefusal, match="camera pose is differentiated"):
        dr.forward_to(image)
