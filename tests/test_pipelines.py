"""Pipeline tier: the bundled examples learn at 32 px, and resuming equals not stopping."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from invrender.run import checkpoint
from invrender.run.launch import run_optimization
from invrender.run.runner import Runner
from tests.helpers import final_variables, runner_stopping_after, tiny_example

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


class KeepFinalImage(Runner):
    def finish(self, status):
        summary = super().finish(status)
        self.final_image = self.render_view(0, spp=16)
        return summary


def test_exported_scene_xml_rerenders_to_the_in_memory_result(tmp_path, variant):
    import mitsuba as mi

    from invrender.run.export import load_run

    cfg = tiny_example(
        tmp_path,
        "material_texture",
        optimize__iterations=5,
        output__preview_every=0,
        output__checkpoint_every=0,
        optimize__params__0__upsample={"at": [2], "factor": 2},
    )
    holder = {}

    class Capture(KeepFinalImage):
        def finish(self, status):
            out = super().finish(status)
            holder.update(
                image=self.final_image, sensor=self.s.sensors[0], integrator=self.s.integrator
            )
            return out

    summary, run_dir = run_optimization(cfg, progress=False, runner_cls=Capture)
    xml = run_dir / "export" / "mitsuba" / "scene.xml"
    assert summary["exported"]["mitsuba"] and xml.is_file()
    exported = mi.load_file(str(xml))
    kw = {"sensor": holder["sensor"], "integrator": holder["integrator"], "spp": 16, "seed": 12345}
    again = np.array(mi.render(exported, **kw))[..., :3]
    np.testing.assert_allclose(again, holder["image"], atol=1e-5)
    # The run folder alone rebuilds the same scene (config.resolved.yaml + last checkpoint).
    session = load_run(run_dir)
    rebuilt = np.array(mi.render(session.scene, **kw))
    np.testing.assert_allclose(rebuilt[..., :3], holder["image"], atol=1e-5)
    # `invrender export` takes the finished run to other formats, into --out.
    from click.testing import CliRunner

    from invrender.cli.main import main

    out = tmp_path / "exported"
    result = CliRunner().invoke(
        main, ["export", str(run_dir), "--format", "gltf", "--format", "cameras", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert (out / "gltf" / "scene.glb").stat().st_size > 1000
    import json

    frames = json.loads((out / "cameras" / "transforms.json").read_text())["frames"]
    assert len(frames) == 4


def test_resume_ends_where_an_uninterrupted_run_does(tmp_path, variant, monkeypatch):
    # Texture upsampling at iterations 2 and 4 makes the resumed Adam state change shape too.
    monkeypatch.setenv("INVRENDER_THREADS", "1")  # no atomics-order noise on many-core machines
    cfg = tiny_example(
        tmp_path,
        "material_texture",
        optimize__iterations=6,
        optimize__params__0__upsample={"at": [2, 4], "factor": 2},
        **QUIET,
    )
    full, _ = run_optimization(cfg, output=tmp_path / "full", progress=False)
    part, part_dir = run_optimization(
        cfg, output=tmp_path / "part", progress=False, runner_cls=runner_stopping_after(3)
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


def test_ctrl_c_stops_cleanly_with_checkpoint_and_summary(tmp_path, variant):
    import json
    import signal
    import subprocess
    import sys
    import time

    cfg = tiny_example(tmp_path, "material_texture", optimize__iterations=100000, **QUIET)
    run_dir = tmp_path / "run"
    cmd = [sys.executable, "-m", "invrender.cli.main", "optimize", str(cfg), "--quiet"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.time() + 120
        while not (run_dir / "config.resolved.yaml").exists() and time.time() < deadline:
            time.sleep(0.2)
        time.sleep(1.0)  # let a few iterations run
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 130, out
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "interrupted" and 0 < summary["iterations"] < 100000
    assert checkpoint.latest(run_dir / "checkpoints") is not None
    assert f"invrender optimize --resume {run_dir}" in out
