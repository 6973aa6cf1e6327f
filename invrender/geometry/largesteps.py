"""Large-steps mesh parameterization (Nicolet et al. 2021) for stable vertex optimization.

Optimizing u = (I + λL) v instead of the vertex positions v diffuses each sparse silhouette
gradient over the surface (L is the combinatorial mesh Laplacian), so big steps stay smooth instead
of tangling the mesh. We use Mitsuba's `mi.ad.LargeSteps`, whose sparse Cholesky solve is a
`dr.CustomOp` backed by the `cholespy` package (CPU and CUDA), paired with Dr.Jit's Adam in its
`uniform` variant as the paper recommends.
"""

from __future__ import annotations

import numpy as np


class LargeStepsParameterization:
    """Latent coordinates for one mesh; rebuild after every remesh (the Laplacian changes).

    Usage::

        ls = LargeStepsParameterization(V, F, lambda_=20)
        opt = mi.ad.Adam(lr=0.05, uniform=True)
        opt["u"] = ls.latent                            # mi.Float, flat xyz
        ... each step:  params[key] = ls.positions(opt["u"]); params.update(); loss ...
    """

    def __init__(self, vertices: np.ndarray, faces: np.ndarray, lambda_: float = 20.0):
        import mitsuba as mi

        self.lambda_ = float(lambda_)
        self._vertices = mi.Float(np.asarray(vertices, dtype=np.float32).ravel())
        self._faces = mi.UInt(np.asarray(faces, dtype=np.uint32).ravel())
        self._solver = mi.ad.LargeSteps(self._vertices, self._faces, self.lambda_)
        self.latent = self._solver.to_differential(self._vertices)

    def positions(self, latent=None):
        """Vertex positions (flat mi.Float, differentiable w.r.t. `latent`) from latent coords."""
        return self._solver.from_differential(self.latent if latent is None else latent)

    def latent_of(self, vertices_flat):
        """Latent coordinates of given flat positions (u = (I + λL) v)."""
        return self._solver.to_differential(vertices_flat)
