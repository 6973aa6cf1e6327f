"""Which views an iteration renders, and with which seeds: pure functions of (seed, iteration).

Shared by the loop and by pipelines whose own loss terms must see the same views (the geometry
pipeline's silhouette term), and replayed exactly by a resumed run.
"""

from __future__ import annotations

import numpy as np

SEED_STRIDE = 7919  # distinct render seeds per (iteration, view slot)


def pick_views(seed: int, iteration: int, train: list[int], count: int) -> list[int]:
    """The views of one iteration: a pure function of (seed, iteration), so resume replays it."""
    rng = np.random.default_rng([seed, iteration])
    count = min(count, len(train))
    return [train[i] for i in rng.choice(len(train), size=count, replace=False)]


def render_seed(seed: int, iteration: int, slot: int) -> int:
    return (seed * 1_000_003 + iteration * SEED_STRIDE + slot * 31) % (2**31)
