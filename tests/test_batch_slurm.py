"""Batches on a real one-node SLURM (scripts/setup_slurm.sh) and through submitit's local executor.

Never a mock: these submit with the real sbatch, pre-empt with a real ``scancel --signal=USR2``.
Without SLURM they skip, unless INVRENDER_REQUIRE_SLURM=1 (scripts/test.sh sets it as root)."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from invrender.batch.status import batch_states, slurm_states
from invrender.cli.main import main
from invrender.run import checkpoint
from tests.helpers import final_variables, tiny_example

TINY = {
    "optimize__iterations": 4,
    "optimize__eval_spp": 8,
    "output__preview_every": 2,
    "output__checkpoint_every": 0,
    "output__export": [],
}
PREEMPT_ITERATIONS = 100


def _slurm_up() -> bool:
    if shutil.which("sbatch") is None or shutil.which("sinfo") is None:
        return False
    out = subprocess.run(["sinfo", "-h", "-o", "%t"], capture_output=True, text=True)
    return out.returncode == 0 and any(s in out.stdout for s in ("idle", "mix", "alloc"))


@pytest.fixture(scope="module")
def slurm() -> None:
    if not _slurm_up():
        msg = "no running SLURM (run scripts/setup_slurm.sh as root)"
        if os.environ.get("INVRENDER_REQUIRE_SLURM") == "1":
            pytest.fail(msg)
        pytest.skip(msg)


@pytest.fixture(autouse=True)
def one_thread(monkeypatch) -> None:
    """Jobs inherit the submitting environment: one Dr.Jit thread makes their runs reproducible.

    With a thread pool, gradients are summed by atomics in a varying order; Adam turns that last-
    bit noise into steps of up to 1e-3 on texels whose gradient nearly cancels (measured: 1.2e-4
    with 8 threads on 2 cores after 40 iterations), so a resumed run could not be compared with
    an uninterrupted one on a machine with many cores."""
    monkeypatch.setenv("INVRENDER_THREADS", "1")


@pytest.fixture(scope="module")
def targets(tmp_path_factory, variant) -> Path:
    """A tiny material_texture config whose 32 px targets are rendered once, here."""
    from invrender.config.loader import load_config
    from invrender.run.session import ensure_targets

    folder = tmp_path_factory.mktemp("batch")
    cfg = tiny_example(folder, "material_texture", **TINY)
    ensure_targets(load_config(cfg), progress=False)
    return cfg


def batch(*args: str) -> str:
    result = CliRunner().invoke(main, ["batch", *args])
    assert result.exit_code == 0, result.output
    return result.output


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def wait_until(predicate, timeout: float, what: str, poll: float = 0.5) -> None:
    deadline = time.time() + timeout
    while not predicate():
        assert time.time() < deadline, f"timed out waiting for {what}"
        time.sleep(poll)


def test_sweep_as_slurm_array_completes_and_matches_the_local_executor(slurm, targets, tmp_path):
    sweep = ["--sweep", "optimize.spp=2,4,8"]
    out = tmp_path / "slurm"
    text = batch("run", str(targets), *sweep, "--executor", "slurm", "--out", str(out), "--wait")
    assert "3 completed" in text, text
    entries = json.loads((out / "batch.json").read_text())["runs"]
    ids = [e["job_id"] for e in entries]
    assert len({i.split("_")[0] for i in ids}) == 1 and all("_" in i for i in ids)  # one array
    states = slurm_states(ids)
    assert [states.get(i) for i in ids] == ["COMPLETED"] * 3, states
    batch("report", str(out))
    rows = read_csv(out / "results.csv")
    assert [r["run"] for r in rows] == [f"material_texture.spp-{n}" for n in (2, 4, 8)]
    assert all(r["state"] == "completed" and r["iterations"] == "4" for r in rows)
    html = (out / "report.html").read_text()
    assert html.count("loss.png") == 3 and html.count("previews/iter_") == 3

    local = tmp_path / "local"
    text = batch("run", str(targets), *sweep, "--executor", "local", "--out", str(local))
    assert "3 completed" in text, text
    batch("report", str(local))
    for a, b in zip(rows, read_csv(local / "results.csv"), strict=True):
        assert a["run"] == b["run"] and a["optimize.spp"] == b["optimize.spp"]
        for key in (
            "iterations",
            "final_loss",
            "psnr",
            "parameter_error.object.bsdf.reflectance.data.rmse",
        ):
            assert float(a[key]) == pytest.approx(float(b[key]), rel=1e-4), key

    # Idempotent: the same batch again submits nothing.
    again = batch("run", str(targets), *sweep, "--executor", "slurm", "--out", str(out))
    assert again.count("skip") == 3 and "submit" not in again


def test_broken_config_fails_alone_is_reported_and_retried_on_request(slurm, targets, tmp_path):
    # Valid for the schema (the integrator is a free-form Mitsuba dict), fails inside the job.
    broken = tmp_path / "broken.yaml"
    text = targets.read_text().replace("type: prb", "type: no_such_integrator")
    broken.write_text(text.replace("name: material_texture", "name: broken"))
    out = tmp_path / "b"
    text = batch(
        "run", str(targets), str(broken), "--executor", "slurm", "--out", str(out), "--wait"
    )
    status = batch("status", str(out))
    assert "1 completed, 1 failed" in status, status
    assert "--- broken failed" in status and "no_such_integrator" in status  # the log's tail
    states = {s.name: s.state for s in batch_states(out)}
    assert states == {"material_texture": "completed", "broken": "failed"}
    again = batch("run", str(targets), str(broken), "--executor", "slurm", "--out", str(out))
    assert "skip broken: failed (use --retry-failed" in again and "submit" not in again
    retry = batch(
        "run",
        str(targets),
        str(broken),
        "--executor",
        "slurm",
        "--out",
        str(out),
        "--retry-failed",
        "--wait",
    )
    assert "submit broken" in retry and "skip material_texture: completed" in retry


def release_held_job(job: str, tries: int = 10) -> None:
    """Ask SLURM to start a requeued job now. The controller can refuse the update for a moment
    while it is still processing the requeue; a job that is no longer pending needs nothing."""
    for _ in range(tries):
        done = subprocess.run(
            ["scontrol", "update", f"JobId={job}", "StartTime=now"], capture_output=True, text=True
        )
        if done.returncode == 0 or slurm_states([job]).get(job) != "PENDING":
            return
        time.sleep(2)
    raise AssertionError(f"scontrol could not release job {job}: {done.stderr.strip()}")


def test_preempted_job_resumes_from_its_checkpoint_and_ends_like_an_uninterrupted_run(
    slurm, targets, tmp_path
):
    # The same config three times: run 0 gets pre-emption's USR2 (submitit's checkpoint and
    # requeue), run 1 a plain `scontrol requeue` (SIGTERM), run 2 is the uninterrupted reference.
    # Long enough (~20 s) that the signals, sent after 2 iterations, land before the end even on
    # a loaded machine (40 iterations were sometimes over before the USR2 got through submitit).
    out = tmp_path / "pre"
    sets = ["--set", f"optimize.iterations={PREEMPT_ITERATIONS}", "--set", "output.preview_every=2"]
    cfg = str(targets)
    batch("run", cfg, cfg, cfg, *sets, "--executor", "slurm", "--out", str(out))
    entries = json.loads((out / "batch.json").read_text())["runs"]
    jobs = [e["job_id"] for e in entries]
    run_dirs = [out / "runs" / e["name"] for e in entries]
    logs = [out / "logs" / f"{e['name']}.log" for e in entries]

    def iterations_done(run_dir: Path) -> int:
        try:
            return len(read_csv(run_dir / "metrics.csv"))
        except OSError:
            return 0

    for i, cmd in enumerate((["scancel", "--signal=USR2"], ["scontrol", "requeue"])):
        wait_until(lambda i=i: iterations_done(run_dirs[i]) >= 2, 120, "the first iterations")
        subprocess.run([*cmd, jobs[i]], check=True)
    for i in range(2):
        wait_until(lambda i=i: "status: interrupted" in logs[i].read_text(), 60, "a checkpoint")
        stopped_at = checkpoint.load(checkpoint.latest(run_dirs[i] / "checkpoints")).iteration
        assert 2 <= stopped_at < PREEMPT_ITERATIONS
        wait_until(lambda i=i: slurm_states([jobs[i]]).get(jobs[i]) == "PENDING", 60, "requeue")
    # SLURM holds a requeued job ~2 min (Reason=BeginTime). Release both once the old job
    # credentials have expired (cred_expire=10 s on the test cluster): earlier, the relaunch
    # dies of a revoked credential.
    time.sleep(12)
    for job in jobs[:2]:
        release_held_job(job)
    wait_until(lambda: all(s.state == "completed" for s in batch_states(out)), 240, "all runs")
    reference = final_variables(run_dirs[2])
    for i in range(2):
        assert f"--resume {run_dirs[i]}" in logs[i].read_text()  # resumed, not restarted
        summary = json.loads((run_dirs[i] / "summary.json").read_text())
        assert summary["status"] == "completed" and summary["iterations"] == PREEMPT_ITERATIONS
        resumed = final_variables(run_dirs[i])
        assert resumed.keys() == reference.keys()
        for key in resumed:
            np.testing.assert_allclose(resumed[key], reference[key], atol=1e-5, err_msg=key)
    assert "status: interrupted" not in logs[2].read_text()
