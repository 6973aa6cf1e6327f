"""Differentiable silhouettes of an optimized mesh, for a mask loss against target masks.

A second, tiny scene holds a copy of the mesh with a black BSDF in front of a unit constant
background, so its image is 1 - coverage. Rendering it with the run's visibility-aware
integrator gives the coverage's derivative with respect to the vertex positions (the outline's
boundary term); the shading of the main render plays no part. Rebuild after every remesh.
"""

from __future__ import annotations

from typing import Any

import numpy as np


class SilhouetteRenderer:
    """Coverage images of one mesh whose positions come from the optimizer every iteration."""

    def __init__(self, integrator_spec: dict[str, Any]) -> None:
        import mitsuba as mi

        spec = {k: v for k, v in integrator_spec.items() if k != "hide_emitters"}
        self.integrator = mi.load_dict(spec)  # the background must be visible: it is the signal
        self.scene: Any = None
        self.params: Any = None

    def set_mesh(self, vertices: np.ndarray, faces: np.ndarray) -> None:
        import mitsuba as mi

        from invrender.geometry.shapes import make_mesh

        black = {"type": "diffuse", "reflectance": {"type": "rgb", "value": 0.0}}
        mesh = make_mesh("silhouette", vertices, faces, bsdf=black)
        self.scene = mi.load_dict(
            {
                "type": "scene",
                "background": {"type": "constant", "radiance": {"type": "rgb", "value": 1.0}},
                "mesh": mesh,
            }
        )
        self.params = mi.traverse(self.scene)

    def coverage(self, positions: Any, sensor: Any, spp: int, seed: int) -> Any:
        """(H, W, 3) coverage image in [0, 1], differentiable w.r.t. ``positions`` (flat xyz)."""
        import mitsuba as mi

        self.params["mesh.vertex_positions"] = positions
        self.params.update()
        image = mi.render(
            self.scene,
            self.params,
            sensor=sensor,
            integrator=self.integrator,
            spp=spp,
            seed=seed,  # type: ignore[arg-type]  # mitsuba stubs: seed takes an int
            seed_grad=seed + 1,
        )
        return 1.0 - image


def mask_loss(coverage: Any, mask: Any) -> Any:
    """Mean squared difference between a coverage image and a target mask of the same shape."""
    import drjit as dr

    return dr.mean(dr.square(coverage - mask), axis=None)
