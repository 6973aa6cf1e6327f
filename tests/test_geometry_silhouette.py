"""Mask (silhouette) loss: coverage images are right, their gradients grow a too-small sphere to
match the target masks, and the pipeline uses it only with masks."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import numpy as np
import pytest

from invrender.errors import ConfigError

sys.path.insert(0, str(Path(__file__).parent))
from test_geometry_pipeline import SHAPE, tiny_overrides  # noqa: E402


def sensors(mi):
    origins = ([0, 0, 4], [4, 0, 0], [0, 4, 0.01])
    return [
        mi.load_dict(
            {
                "type": "perspective",
                "fov": 40,
                "to_world": mi.ScalarTransform4f().look_at(o, [0, 0, 0], [0, 1, 0]),
                "film": {
                    "type": "hdrfilm",
                    "width": 32,
                    "height": 32,
                    "rfilter": {"type": "box"},
                    "sample_border": True,
                },
            }
        )
        for o in origins
    ]


def test_silhouette_loss_grows_a_small_sphere_to_the_masks(variant):
    import drjit as dr
    import mitsuba as mi

    from invrender.geometry.largesteps import LargeStepsParameterization
    from invrender.geometry.optimizer import SelectiveUniformAdam
    from invrender.geometry.shapes import icosphere
    from invrender.geometry.silhouette import SilhouetteRenderer, mask_loss

    cams = sensors(mi)
    renderer = SilhouetteRenderer({"type": "direct_projective", "sppi": 0, "hide_emitters": True})
    target_v, target_f = icosphere(3, radius=1.0)
    renderer.set_mesh(target_v, target_f)
    flat = mi.Float(target_v.astype(np.float32).ravel())
    masks = [dr.detach(renderer.coverage(flat, s, 64, 0)) for s in cams]
    # A unit sphere at distance 4 seen with a 40° fov: disc of radius 1/sqrt(15) in view units.
    disc = np.pi * (1 / np.sqrt(15)) ** 2 / (2 * np.tan(np.radians(20))) ** 2
    for m in masks:
        assert float(dr.mean(m, axis=None).array[0]) == pytest.approx(disc, rel=0.05)

    start_v, start_f = icosphere(2, radius=0.7)
    renderer.set_mesh(start_v, start_f)
    ls = LargeStepsParameterization(start_v, start_f, 10.0)
    opt = SelectiveUniformAdam(0.02, uniform_keys=["u"])
    opt["u"] = ls.latent
    losses = []
    for it in range(25):
        positions = ls.positions(opt["u"])
        loss = sum(
            mask_loss(renderer.coverage(positions, s, 4, 7 * it + i), m)
            for i, (s, m) in enumerate(zip(cams, masks, strict=True))
        )
        losses.append(float(loss.array[0]))
        dr.backward(loss)
        opt.step()
    radii = np.linalg.norm(ls.positions(opt["u"]).numpy().reshape(-1, 3), axis=1)
    assert radii.mean() > 0.77  # grew toward the unit sphere from 0.7
    assert losses[-1] < 0.7 * losses[0]


def test_mask_weight_needs_masks(variant, tmp_path):
    from invrender.config.loader import load_config
    from invrender.run.session import prepare

    loaded = load_config(SHAPE, tiny_overrides(tmp_path) + ["geometry.mask_weight=1"])
    with pytest.raises(ConfigError, match=r"geometry\.mask_weight.*targets\.masks"):
        prepare(loaded, variant, progress=False)


def test_shape_run_with_mask_loss_reduces_chamfer(variant, tmp_path):
    from invrender.run.launch import run_optimization

    overrides = tiny_overrides(tmp_path, iterations=10) + [
        "targets.masks=alpha",
        "geometry.mask_weight=1.0",
        "geometry.remesh.at=[]",
        "geometry.remesh.triangles=[]",
    ]
    summary, run_dir = run_optimization(
        SHAPE, overrides, output=tmp_path / "run", variant=variant, progress=False
    )
    with open(run_dir / "metrics.csv", newline="") as f:
        chamfer = [float(r["chamfer"]) for r in csv.DictReader(f)]
    assert chamfer[-1] < 0.9 * chamfer[0], chamfer
    assert summary["geometry"]["watertight"]
