"""The acceptance runs of the geometry examples, end to end (minutes each: `pytest -m slow`)."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_shape_example_reaches_one_percent_chamfer(variant, tmp_path):
    from invrender.run.launch import run_optimization

    summary, _ = run_optimization(
        ROOT / "configs" / "shape.yaml",
        [f"targets.transforms={tmp_path}/targets/transforms.json"],
        output=tmp_path / "run",
        variant=variant,
        progress=False,
    )
    geometry = summary["geometry"]
    assert geometry["chamfer"] <= 0.01, geometry  # fraction of the GT bbox diagonal
    assert geometry["watertight"] and geometry["self_intersections"] == 0


@pytest.mark.slow
def test_joint_example_reaches_30_db(variant, tmp_path):
    from invrender.run.launch import run_optimization

    summary, _ = run_optimization(
        ROOT / "configs" / "joint.yaml",
        [f"targets.transforms={tmp_path}/targets/transforms.json"],
        output=tmp_path / "run",
        variant=variant,
        progress=False,
    )
    assert summary["psnr_views"].startswith("held-out") and summary["psnr"] >= 30.0, summary["psnr"]
    assert summary["geometry"]["watertight"]
