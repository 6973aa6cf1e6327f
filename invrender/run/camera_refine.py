"""Camera refinement: a small rigid correction per training view, optimized with the scene.

Structure from motion leaves pose errors of a fraction of a degree; the reconstruction would
otherwise take them as exact, and textures blur and edges double. Mitsuba's sensor parameters are
not differentiable, but a camera's motion is the opposite motion of the scene: the image of the
scene from the corrected camera ``Δ·C`` is the image of the scene moved by ``Δ⁻¹`` from ``C``.
So each view's render moves every mesh's vertices (and normals) by ``Δ⁻¹`` (differentiable: the
integrator's gradients with respect to vertex positions, visibility included for the projective
and edge-sampling integrators, reach ``Δ``) and every emitter and analytic shape's ``to_world``
(not differentiable: it keeps the scene consistent), renders, back-propagates that view's loss,
and puts the scene back. ``Δ`` is a rotation vector ω (radians, Rodrigues) and a translation t
(scene units) in world space; the reference view keeps ``Δ = I``, which fixes the gauge.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from invrender.config.schema import CameraRefinement
from invrender.data.cameras import Camera
from invrender.data.dataset import Dataset
from invrender.errors import ConfigError
from invrender.pipelines.geometry import VISIBILITY_INTEGRATORS

PREFIX = "camera."
POSITIONS = ".vertex_positions"
NORMALS = ".vertex_normals"


def rotation_matrix(omega: np.ndarray) -> np.ndarray:
    """Rodrigues: the rotation by |ω| radians about ω (numpy, exact)."""
    theta = float(np.linalg.norm(omega))
    if theta < 1e-12:
        return np.eye(3)
    k = np.asarray(omega, dtype=np.float64) / theta
    kx = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    return np.eye(3) + math.sin(theta) * kx + (1 - math.cos(theta)) * kx @ kx


def _rotation_jit(w: list[Any]) -> list[list[Any]]:
    """Rodrigues on Dr.Jit scalars, differentiable: R = I + a·K + b·K² with a = sin θ/θ and
    b = (1 − cos θ)/θ² by their Taylor series (exact to 1e-9 below 0.1 rad; no 0/0 at θ = 0)."""
    t2 = w[0] * w[0] + w[1] * w[1] + w[2] * w[2]
    a = 1.0 - t2 / 6.0 + t2 * t2 / 120.0
    b = 0.5 - t2 / 24.0 + t2 * t2 / 720.0
    k = [[0.0, -w[2], w[1]], [w[2], 0.0, -w[0]], [-w[1], w[0], 0.0]]
    rows = []
    for i in range(3):
        row = []
        for j in range(3):
            k2 = sum(k[i][m] * k[m][j] for m in range(3))
            row.append((1.0 if i == j else 0.0) + a * k[i][j] + b * k2)
        rows.append(row)
    return rows


class CameraCorrections:
    """The corrections' optimizer variables (``camera.view_<index>``: ω then t, 6 floats)."""

    def __init__(
        self, spec: CameraRefinement, dataset: Dataset, config_name: str, integrator: str
    ) -> None:
        if integrator not in VISIBILITY_INTEGRATORS:
            raise ConfigError(
                [
                    f"{config_name}: optimize.cameras.refine: integrator '{integrator}' ignores "
                    "visibility, so a camera's (the scene's) motion gets wrong gradients; use one "
                    "of " + ", ".join(VISIBILITY_INTEGRATORS)
                ]
            )
        self.spec = spec
        self.reference = dataset.reference_view(
            spec.reference, f"{config_name}: optimize.cameras.reference"
        )
        self.dataset = dataset
        # Translations are optimized in units of the cameras' mean distance to the origin, so one
        # step moves the image about as much as one step of rotation (radians).
        centres = [np.asarray(v.camera.to_world, dtype=np.float64)[:3, 3] for v in dataset.views]
        self.scale = float(np.mean([np.linalg.norm(c) for c in centres])) or 1.0
        self.keys = {v: f"{PREFIX}view_{v:04d}" for v in dataset.train if v != self.reference}

    def variables(self) -> dict[str, Any]:
        import mitsuba as mi

        return {key: mi.Float([0.0] * 6) for key in self.keys.values()}

    def learning_rates(self, iteration: int, total: int) -> dict[str, float]:
        """``lr`` falling linearly to a tenth by the end: Adam's steps are about ``lr`` whatever
        the gradient, so a constant rate would leave the cameras jittering by that much."""
        lr = self.spec.lr * (1.0 - 0.9 * min(1.0, iteration / max(1, total)))
        return {key: lr for key in self.keys.values()}

    def prior(self, opt: Any) -> Any | None:
        """``prior_weight · Σ |ω|² + |t|²`` over the views: keeps corrections small."""
        import drjit as dr

        if self.spec.prior_weight <= 0 or not self.keys:
            return None
        total = None
        for key in self.keys.values():
            term = dr.sum(dr.square(opt[key]))
            total = term if total is None else total + term
        assert total is not None
        return self.spec.prior_weight * total

    @contextmanager
    def moved(self, scene_params: Any, view: int, opt: Any) -> Iterator[None]:
        """The scene moved by the view's ``Δ⁻¹`` for the duration of the block (then restored)."""
        key = self.keys.get(view)
        if key is None:
            yield
            return
        import drjit as dr
        import mitsuba as mi

        d = opt[key]
        w = [dr.gather(mi.Float, d, i) for i in range(3)]
        t = [dr.gather(mi.Float, d, i) * self.scale for i in range(3, 6)]
        r = _rotation_jit(w)
        # Copies, not references: Mitsuba may write a new value into the object it handed out.
        saved: dict[str, Any] = {}
        omega, shift = self._delta(d)
        inverse = np.eye(4)
        rot = rotation_matrix(omega)
        inverse[:3, :3] = rot.T
        inverse[:3, 3] = -rot.T @ shift
        for name in list(scene_params.keys()):
            node = scene_params.properties[name][2]
            if isinstance(node, mi.Mesh) and name.endswith(POSITIONS):
                saved[name] = type(scene_params[name])(scene_params[name])
                p = dr.unravel(mi.Point3f, saved[name])
                q = [p.x - t[0], p.y - t[1], p.z - t[2]]
                scene_params[name] = dr.ravel(mi.Point3f(*_transposed_times(r, q)))
            elif isinstance(node, mi.Mesh) and name.endswith(NORMALS):
                if dr.width(scene_params[name]) == 0:
                    continue
                saved[name] = type(scene_params[name])(scene_params[name])
                n = dr.unravel(mi.Normal3f, saved[name])
                scene_params[name] = dr.ravel(mi.Normal3f(*_transposed_times(r, [n.x, n.y, n.z])))
            elif name.endswith(".to_world") and isinstance(node, mi.Emitter | mi.Shape):
                if isinstance(node, mi.Mesh):
                    continue
                saved[name] = type(scene_params[name])(scene_params[name])
                old = np.array(saved[name].matrix, dtype=np.float64).reshape(4, 4)
                scene_params[name] = type(saved[name])((inverse @ old).tolist())
        scene_params.update()
        try:
            yield
        finally:
            for name, value in saved.items():
                scene_params[name] = value
            scene_params.update()

    def corrected(self, view: int, camera: Camera, opt: Any) -> Camera:
        """The view's camera with its correction applied: ``Δ·C`` (Mitsuba axes)."""
        key = self.keys.get(view)
        if key is None:
            return camera
        omega, shift = self._delta(opt[key])
        delta = np.eye(4)
        delta[:3, :3] = rotation_matrix(omega)
        delta[:3, 3] = shift
        to_world = delta @ np.asarray(camera.to_world, dtype=np.float64)
        return Camera(
            to_world,
            camera.fov,
            camera.width,
            camera.height,
            camera.fov_axis,
            camera.principal_point,
        )

    def _delta(self, value: Any) -> tuple[np.ndarray, np.ndarray]:
        """(ω in radians, t in scene units) of a correction variable."""
        arr = np.array(value, dtype=np.float64).ravel()
        return arr[:3], arr[3:6] * self.scale

    def summary(self, opt: Any) -> dict[str, Any]:
        """Per view: the rotation (degrees) and the centre's shift (scene units and % of the
        camera's distance to the origin), and the largest of each."""
        per_view: dict[str, Any] = {}
        for view, key in self.keys.items():
            omega, shift = self._delta(opt[key])
            camera = self.dataset.views[view].camera
            centre = np.asarray(camera.to_world, dtype=np.float64)[:3, 3]
            moved = rotation_matrix(omega) @ centre + shift
            distance = float(np.linalg.norm(centre)) or 1.0
            per_view[self.dataset.views[view].name] = {
                "rotation_deg": round(math.degrees(float(np.linalg.norm(omega))), 4),
                "centre_shift": round(float(np.linalg.norm(moved - centre)), 5),
                "centre_shift_pct": round(
                    100 * float(np.linalg.norm(moved - centre)) / distance, 3
                ),
            }
        return {
            "reference": self.dataset.views[self.reference].name,
            "per_view": per_view,
            "max_rotation_deg": max((v["rotation_deg"] for v in per_view.values()), default=0.0),
            "max_centre_shift_pct": max(
                (v["centre_shift_pct"] for v in per_view.values()), default=0.0
            ),
        }


def _transposed_times(r: list[list[Any]], v: list[Any]) -> list[Any]:
    """Rᵀ·v with R as nested lists of Dr.Jit scalars."""
    return [r[0][i] * v[0] + r[1][i] * v[1] + r[2][i] * v[2] for i in range(3)]
