"""Finite-difference references and AD derivatives on the reference scenes, plus error metrics.

All derivatives are d(image)/d(theta) at theta = 0 for a :class:`~.scenes.ReferenceScene`.
Central differences use the same seed on both sides (correlated noise cancels) and are
accumulated over several passes to reach high spp without large kernels. Forward mode goes
through ``mi.render`` + ``dr.forward_to``; reverse mode through ``mi.render`` + ``dr.backward``
on a fixed random-weight image loss, exactly as a user would call them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from invrender.integrators.scenes import ReferenceScene


@dataclass
class LoadedScene:
    """A reference scene loaded into Mitsuba, with the values theta perturbs from."""

    spec: ReferenceScene
    scene: Any
    params: Any
    base: dict
    primal_base: dict

    def set_theta(self, theta: Any, primal: bool = False) -> None:
        """Apply ``theta`` (float or AD-attached ``mi.Float``) and update the scene."""
        pert = self.spec.fd_perturbation if primal else self.spec.perturbation
        pert.apply(self.params, self.primal_base if primal else self.base, theta)
        self.params.update()

    def reset(self) -> None:
        """Back to theta = 0 for both perturbations, detached."""
        self.set_theta(0.0, primal=True)
        self.set_theta(0.0, primal=False)


def load(spec: ReferenceScene) -> LoadedScene:
    """Load ``spec.scene`` and capture the unperturbed parameter values."""
    import mitsuba as mi

    scene = mi.load_dict(spec.scene)
    params = mi.traverse(scene)
    base = spec.perturbation.capture(params)
    primal_base = spec.fd_perturbation.capture(params)
    return LoadedScene(spec, scene, params, base, primal_base)


def make_integrator(kind: str | dict | Any, **overrides: Any) -> Any:
    """An integrator from a plugin name, a dict, or an ``mi.Integrator`` (returned as is)."""
    import mitsuba as mi

    if isinstance(kind, str):
        return mi.load_dict({"type": kind, **overrides})
    if isinstance(kind, dict):
        return mi.load_dict({**kind, **overrides})
    return kind


def _seeds(seed: int, passes: int) -> list[int]:
    return [seed * 7919 + k for k in range(passes)]


def _mean_over_seeds(seed: int, passes: int, one_pass: Callable[[int], Any]) -> Any:
    """Mean of ``one_pass(s)`` (an image or a scalar) over the ``passes`` seeds of ``seed``."""
    return sum(one_pass(s) for s in _seeds(seed, passes)) / passes


def _to_numpy(img: Any) -> np.ndarray:
    return np.array(img, dtype=np.float64)


def render_primal(
    loaded: LoadedScene,
    integrator: Any = "path",
    theta: float = 0.0,
    spp: int = 64,
    seed: int = 0,
    passes: int = 1,
) -> np.ndarray:
    """Primal image (H, W, C) at ``theta``, averaged over ``passes`` seeds."""
    import drjit as dr
    import mitsuba as mi

    integ = make_integrator(integrator, max_depth=loaded.spec.max_depth)
    loaded.set_theta(theta, primal=True)

    def one_pass(s: int) -> np.ndarray:
        with dr.suspend_grad():
            return _to_numpy(mi.render(loaded.scene, integrator=integ, spp=spp, seed=s))

    image = _mean_over_seeds(seed, passes, one_pass)
    loaded.reset()
    return image


def fd_derivative(
    loaded: LoadedScene,
    h: float,
    spp: int = 256,
    seed: int = 0,
    passes: int = 1,
    integrator: Any = "path",
) -> np.ndarray:
    """Central finite difference (I(h) - I(-h)) / 2h with the same seeds on both sides."""
    plus = render_primal(loaded, integrator, h, spp, seed, passes)
    minus = render_primal(loaded, integrator, -h, spp, seed, passes)
    return (plus - minus) / (2.0 * h)


def forward_derivative(
    loaded: LoadedScene,
    integrator: Any,
    spp: int = 64,
    seed: int = 0,
    passes: int = 1,
    propagate: str = "to",
) -> np.ndarray:
    """Forward-mode derivative image via ``mi.render`` and ``dr.forward_to`` (``propagate="to"``)
    or ``dr.forward_from(theta)`` (``"from"``).

    Both are forward mode and agree on meshes. A perturbed analytic shape's ``to_world`` needs
    ``"from"``: the shape derives its centre and radius from ``to_world`` outside the render op,
    and Dr.Jit refuses to cross that edge from inside the op when the traversal starts at the
    image (``dr.forward_to``), for Mitsuba's own integrators as for ours.
    """
    if propagate not in ("to", "from"):
        raise ValueError(f"propagate must be 'to' or 'from', not {propagate!r}")
    import drjit as dr
    import mitsuba as mi

    integ = make_integrator(integrator)

    def one_pass(s: int) -> np.ndarray:
        theta = mi.Float(0.0)
        dr.enable_grad(theta)
        loaded.set_theta(theta)
        dr.set_grad(theta, 1.0)
        img = mi.render(loaded.scene, loaded.params, integrator=integ, spp=spp, seed=s)
        if propagate == "to":
            dr.forward_to(img)
        else:
            dr.forward_from(theta)
        grad = _to_numpy(dr.grad(img))
        loaded.reset()
        return grad

    return _mean_over_seeds(seed, passes, one_pass)


def reverse_gradient(
    loaded: LoadedScene,
    integrator: Any,
    weights: np.ndarray,
    spp: int = 64,
    seed: int = 0,
    passes: int = 1,
) -> float:
    """d/dtheta of ``sum(weights * image)`` via ``mi.render`` and ``dr.backward``."""
    import drjit as dr
    import mitsuba as mi

    integ = make_integrator(integrator)
    w = mi.TensorXf(np.asarray(weights, np.float32))

    def one_pass(s: int) -> float:
        theta = mi.Float(0.0)
        dr.enable_grad(theta)
        loaded.set_theta(theta)
        img = mi.render(loaded.scene, loaded.params, integrator=integ, spp=spp, seed=s)
        dr.backward(dr.sum(img * w, axis=None))
        grad = float(dr.grad(theta)[0])
        loaded.reset()
        return grad

    return float(_mean_over_seeds(seed, passes, one_pass))


def loss_weights(shape: tuple[int, ...], seed: int = 1) -> np.ndarray:
    """Fixed weights for a linear image loss sum(w * I): random in [0, 1) plus x and y ramps.

    The ramps keep the loss gradient of a translation or scaling well away from zero (a
    translation barely changes the image's plain sum), so relative errors stay meaningful.
    """
    h, w = shape[0], shape[1]
    ys, xs = np.meshgrid(np.linspace(0, 1, h), np.linspace(0, 1, w), indexing="ij")
    ramp = (1.5 * xs + 0.7 * ys).reshape(h, w, *([1] * (len(shape) - 2)))
    rand = np.random.default_rng(seed).uniform(0.0, 1.0, size=shape)
    return (rand + ramp).astype(np.float32)


def image_loss_gradient(derivative_image: np.ndarray, weights: np.ndarray) -> float:
    """The scalar gradient of sum(w * I) implied by a derivative image."""
    return float(np.sum(derivative_image * weights))


def box_blur(img: np.ndarray, radius: int) -> np.ndarray:
    """Mean over a (2r+1)^2 window (edge-clamped): compares images below per-pixel noise."""
    if radius <= 0:
        return img
    pad = np.pad(img, ((radius, radius), (radius, radius), (0, 0)), mode="edge")
    out = np.zeros_like(img)
    k = 2 * radius + 1
    for dy in range(k):
        for dx in range(k):
            out += pad[dy : dy + img.shape[0], dx : dx + img.shape[1]]
    return out / (k * k)


def relative_error(estimate: np.ndarray, reference: np.ndarray, blur: int = 0) -> float:
    """Relative L2 error ||e - r|| / ||r|| of derivative images, optionally after a box blur."""
    e, r = box_blur(np.asarray(estimate), blur), box_blur(np.asarray(reference), blur)
    return float(np.linalg.norm(e - r) / max(np.linalg.norm(r), 1e-12))


def noise_corrected_error(estimate: np.ndarray, half_a: np.ndarray, half_b: np.ndarray) -> float:
    """Relative L2 error against the mean of two independent references, less their noise.

    With r = (a + b) / 2, E||e - r||^2 = ||e - r_true||^2 + E||r - r_true||^2 for an estimate
    e independent of the references, and ||a - b||^2 / 4 is an unbiased estimate of the
    second term; subtracting it keeps a noisy reference from hiding differences between
    estimators whose errors are near the reference's own noise.
    """
    ref = 0.5 * (np.asarray(half_a, np.float64) + np.asarray(half_b, np.float64))
    noise2 = float(np.sum((np.asarray(half_a) - np.asarray(half_b)) ** 2)) / 4.0
    err2 = float(np.sum((np.asarray(estimate, np.float64) - ref) ** 2)) - noise2
    return float(np.sqrt(max(err2, 0.0)) / max(np.linalg.norm(ref), 1e-12))


def relative_error_l1(estimate: np.ndarray, reference: np.ndarray, blur: int = 0) -> float:
    """Relative L1 error sum|e - r| / sum|r|."""
    e, r = box_blur(np.asarray(estimate), blur), box_blur(np.asarray(reference), blur)
    return float(np.abs(e - r).sum() / max(np.abs(r).sum(), 1e-12))


def scalar_relative_error(estimate: float, reference: float) -> float:
    """|g - g_ref| / |g_ref| for scalar gradients."""
    return abs(estimate - reference) / max(abs(reference), 1e-12)
