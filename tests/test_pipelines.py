"""Pipeline tier: the bundled examples learn at 32 px, and resuming equals not stopping."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from invrender import checkpoint
from invrender.optimize import run_optimization
from invrender.runner import Runner
from tests.helpers import tiny_example

QUIET = {"output__preview_every": 0, "output__checkpoint_every": 0, "output__export": []}


def losses_of(run_dir) -> list[float]:
    with open(run_dir / "metrics.csv") as f:
        return [float(r["loss"]) for r in csv.DictReader(f)]


@pytest.mark.parametrize("name, iterations", [("material_texture", 40), ("envmap", 40)])
def test_example_cuts_the_loss_at_least_in_half(tmp_path, variant, name, iterations):
    cfg = tiny_example(tmp_path, name, optimize__iterations=iterations, **QUIET)
    summary, run_dir = run_optimization(cfg, progress=False)
    losses = losses_of(run_dir)
    assert len(losses) == iterations
    first, last = np.mean(losses[:3]), np.mean(losses[-5:])
    assert last <= 0.5 * first, f"{name}: loss {first:.4g} -> {last:.4g}"
    assert summary["parameter_error"], "ground truth is known, so the error is reported"


class StopAfterThird(Runner):
    def on_iteration_end(self, iteration: int) -> None:
        if iteration == 2:
            self.stop_requested = True  # what Ctrl-C does


def final_variables(run_dir) -> dict[str, np.ndarray]:
    return checkpoint.load(checkpoint.latest(run_dir / "checkpoints")).variables


def test_resume_ends_where_an_uninterrupted_run_does(tmp_path, variant):
    # Texture upsampling at iterations 2 and 4 makes the resumed Adam state change shape too.
    cfg = tiny_example(
        tmp_path,
        "material_texture",
        optimize__iterations=6,
        optimize__params__0__upsample={"at": [2, 4], "factor": 2},
        **QUIET,
    )
    full, _ = run_optimization(cfg, output=tmp_path / "full", progress=False)
    part, part_dir = run_optimization(
        cfg, output=tmp_path / "part", progress=False, runner_cls=StopAfterThird
    )
    assert part["status"] == "interrupted" and part["iterations"] == 3
    resumed, _ = run_optimization(None, resume=part_dir, progress=False)
    assert resumed["status"] == "completed" and resumed["iterations"] == 6
    a, b = final_variables(tmp_path / "full"), final_variables(part_dir)
    assert a.keys() == b.keys()
    for key in a:
        assert a[key].shape == b[key].shape == (64, 64, 3)
        np.testing.assert_allclose(b[key], a[key], atol=1e-5, err_msg=key)
    assert losses_of(part_dir) == pytest.approx(losses_of(tmp_path / "full"), rel=1e-4)
