"""Adam with UniformAdam normalization for chosen parameters only.

Large steps (Nicolet et al. 2021) pairs the latent vertex coordinates with *UniformAdam*: one
second-moment scale per parameter (the max) instead of one per element, so the smooth step that
the Laplacian solve produces is not re-sharpened element by element. Textures and lights in the
same run (the joint pipeline) want ordinary Adam, and Dr.Jit's ``uniform`` flag is global to an
optimizer, so this subclass switches it per parameter. The optimizer state layout is Adam's own,
so checkpoints save and restore it unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from drjit.opt import Adam


class SelectiveUniformAdam(Adam):
    """``Adam`` whose UniformAdam rule applies to the keys in ``uniform_keys``."""

    def __init__(self, lr: float, *, uniform_keys: Iterable[str] = (), **kwargs: Any) -> None:
        super().__init__(lr, **kwargs)
        self.uniform_keys = set(uniform_keys)
        self._pending_keys: list[str] = []

    def step(self, **kwargs: Any) -> None:
        # Optimizer.step() calls _step once per entry of self.state, in order, without the key.
        self._pending_keys = list(self.state.keys())
        self._pending_keys.reverse()
        try:
            super().step(**kwargs)
        finally:
            self.uniform = False
            self._pending_keys = []

    def _step(self, cache, value, grad, lr, extra):  # noqa: ANN001 (Dr.Jit's signature)
        key = self._pending_keys.pop() if self._pending_keys else None
        self.uniform = key in self.uniform_keys
        return super()._step(cache, value, grad, lr, extra)
