"""Joint pipeline: shape + volume albedo + envmap in one run, delegating to the other pipelines."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from invrender.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]
JOINT = ROOT / "configs" / "joint.yaml"


def tiny_overrides(tmp: Path) -> list[str]:
    return [
        f"targets.transforms={tmp}/targets/transforms.json",
        "targets.synth.views=8",
        "targets.synth.resolution=32",
        "targets.synth.spp=64",
        "targets.holdout=[3]",
        "optimize.iterations=20",
        "optimize.eval_spp=16",
        "geometry.init.subdivisions=2",
        "geometry.remesh.at=[10]",
        "geometry.remesh.triangles=[1500]",
        "geometry.coarse_to_fine.until=[4]",
        "geometry.stages={geometry: 2}",
        "geometry.eval_every=1",
        "geometry.eval_samples=20000",
        "output.preview_every=0",
        "output.checkpoint_every=0",
        "output.export=[]",
        "geometry.texture=null",
    ]


def test_joint_example_moves_all_groups_and_reduces_chamfer(variant, tmp_path):
    from invrender.run.launch import run_optimization
    from invrender.run.runner import Runner

    seen: dict[str, np.ndarray] = {}

    class Watch(Runner):
        def on_iteration_end(self, iteration: int) -> None:
            if iteration in (0, 1, 19):
                for key in self.opt.keys():
                    seen[f"{key}@{iteration}"] = np.array(self.opt[key]).copy()

    summary, run_dir = run_optimization(
        JOINT,
        tiny_overrides(tmp_path),
        output=tmp_path / "run",
        variant=variant,
        progress=False,
        runner_cls=Watch,
    )
    with open(run_dir / "metrics.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    chamfer = [float(r["chamfer"]) for r in rows]
    assert chamfer[-1] < 0.95 * chamfer[0], chamfer
    # Stage schedule: the shape holds still until iteration 2, albedo and sky move at once.
    geo = "target.vertex_positions"
    assert np.array_equal(seen[f"{geo}@0"], seen[f"{geo}@1"])
    assert [float(r["lr_0"]) for r in rows[:2]] == [0.0, 0.0] and float(rows[2]["lr_0"]) > 0
    for key in ("target.bsdf.reflectance.volume.data", "env.data"):
        assert not np.allclose(seen[f"{key}@0"], seen[f"{key}@19"])
    assert summary["geometry"]["watertight"] and summary["psnr"] > 10


def test_joint_rejects_a_group_spanning_kinds(variant, tmp_path):
    from invrender.config.loader import load_config
    from invrender.run.session import prepare

    overrides = tiny_overrides(tmp_path) + [
        "optimize.params=[{key: '*.data', lr: 0.01}]",  # albedo grid + sky
    ]
    with pytest.raises(ConfigError, match="several kinds"):
        prepare(load_config(JOINT, overrides), variant, progress=False)
