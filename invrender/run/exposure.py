"""Per-view exposure and white balance: an RGB gain in EV for each training photo but one.

Auto-exposure and auto white balance make photos of one object disagree in brightness and tint;
a single albedo and sky cannot match them all, and the loss then blurs the difference into the
materials. Each training view gets three log2 gains (R, G, B), optimized with the scene; the
render of that view is multiplied by ``2**gain`` before the loss. One reference view keeps 0 EV,
which fixes the scale shared by albedo, lighting and gains, so the recovered materials are in the
reference photo's exposure. Held-out views (never trained) are compared at 0 EV.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from invrender.config.schema import Exposure
from invrender.data.dataset import Dataset

PREFIX = "exposure."


class ViewGains:
    """The gains' optimizer variables (``exposure.view_<index>``) and how they scale renders."""

    def __init__(self, spec: Exposure, dataset: Dataset, config_name: str) -> None:
        self.spec = spec
        train = dataset.train
        reference = dataset.reference_view(
            spec.reference, f"{config_name}: optimize.exposure.reference"
        )
        self.reference = reference
        self.names = {v: dataset.views[v].name for v in train}
        self.keys = {v: f"{PREFIX}view_{v:04d}" for v in train if v != reference}

    def variables(self) -> dict[str, Any]:
        """0 EV for every gain: the start assumes the photos agree."""
        import mitsuba as mi

        return {key: mi.Float([0.0, 0.0, 0.0]) for key in self.keys.values()}

    def learning_rates(self) -> dict[str, float]:
        return {key: self.spec.lr for key in self.keys.values()}

    def apply(self, image: Any, view: int, opt: Any) -> Any:
        """``image`` (H, W, C) scaled by the view's gain (the reference view: unchanged)."""
        key = self.keys.get(view)
        if key is None:
            return image
        import drjit as dr
        import mitsuba as mi

        gain = dr.exp2(opt[key])
        channels = image.shape[2]
        if channels > 3:  # alpha (coverage) is not exposed
            gain = dr.concat([gain, dr.ones(mi.Float, channels - 3)])
        return image * mi.TensorXf(gain, shape=(1, 1, channels))

    def values(self, opt: Any) -> dict[str, list[float]]:
        """Each training view's gain in EV (R, G, B), by view name; the reference at 0."""
        out = {self.names[self.reference]: [0.0, 0.0, 0.0]}
        for view, key in self.keys.items():
            out[self.names[view]] = [round(float(x), 4) for x in np.array(opt[key])]
        return out

    def summary(self, opt: Any) -> dict[str, Any]:
        """For summary.json: the reference, every view's gains and the largest correction."""
        values = self.values(opt)
        largest = max((abs(x) for v in values.values() for x in v), default=0.0)
        return {
            "reference": self.names[self.reference],
            "ev_per_view": values,
            "max_abs_ev": round(largest, 4),
        }
