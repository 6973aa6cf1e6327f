"""Compare optimized parameters with the ground truth, when the targets were synthesized."""

from __future__ import annotations

from typing import Any

import numpy as np


def parameter_errors(session: Any) -> dict[str, dict[str, float]]:
    """RMSE / MAE of each optimized parameter against the ground-truth scene (textures resampled
    to the ground truth's resolution). Empty when no ground truth is known."""
    synth = session.config.targets.synth
    if synth is None:
        return {}
    import drjit as dr
    import mitsuba as mi

    gt_params = mi.traverse(mi.load_file(synth.scene))
    out = {}
    for g in session.pipeline.groups:
        for key in g.keys:
            if key not in gt_params or key not in session.params.keys():
                continue  # not in the scene any more (e.g. baked into UV maps)
            gt, cur = gt_params[key], session.params[key]
            if isinstance(cur, mi.TensorXf) and tuple(cur.shape) != tuple(gt.shape):
                if len(cur.shape) != 3 or cur.shape[2] != gt.shape[2]:
                    continue
                cur = dr.resample(cur, tuple(gt.shape))
            a, b = np.array(cur, dtype=np.float64), np.array(gt, dtype=np.float64)
            if a.shape != b.shape:
                continue
            out[key] = {
                "rmse": float(np.sqrt(np.mean((a - b) ** 2))),
                "mae": float(np.mean(np.abs(a - b))),
            }
    return out
