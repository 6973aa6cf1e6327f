"""Where each run of a batch stands: from its run folder, the state its job reported, and SLURM.

SLURM's view comes from ``sacct`` where the cluster keeps accounting, else from ``squeue -t all``
(the controller remembers ended jobs for MinJobAge seconds). The run folder has the last word: a
summary with status ``completed`` is a finished run whatever the scheduler says.
"""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from invrender.batch.layout import paths, read_batch
from invrender.run.folder import RunFolder

ACTIVE = {"PENDING", "RUNNING", "REQUEUED", "COMPLETING", "CONFIGURING", "SUSPENDED", "RESIZING"}
ACTIVE |= {"REQUEUE_HOLD", "REQUEUE_FED", "SIGNALING", "STAGE_OUT", "PREEMPTED"}


@dataclass
class RunState:
    name: str
    state: str  # not started | queued | running | interrupted | failed | completed
    iteration: int | None
    iterations: int | None
    loss: float | None
    psnr: float | None
    wall_time_s: float | None
    job_id: str | None
    slurm_state: str | None
    log: Path
    error: str | None = None


def slurm_states(job_ids: list[str]) -> dict[str, str]:
    """SLURM state of each job id (``123`` or array task ``123_4``); ids SLURM forgot are absent."""
    ids = sorted({j.split("_")[0] for j in job_ids if j and j[0].isdigit()})
    if not ids or shutil.which("squeue") is None:
        return {}
    states: dict[str, str] = {}
    sacct = _run(["sacct", "-n", "-X", "-P", "-o", "JobID,State", "-j", ",".join(ids)])
    for line in (sacct or "").splitlines():
        job, _, state = line.partition("|")
        if job and state:
            states[job.strip()] = state.split()[0]
    squeue = _run(["squeue", "-h", "-r", "-t", "all", "-o", "%i|%T", "-j", ",".join(ids)])
    for line in (squeue or "").splitlines():
        job, _, state = line.partition("|")
        if job and state:
            states[job.strip()] = state.strip()  # the controller's current view wins
    return states


def _run(cmd: list[str]) -> str | None:
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout if out.returncode == 0 else None


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _progress(run_dir: Path) -> tuple[int | None, float | None]:
    """Iterations done and the last loss, from metrics.csv (written at each checkpoint)."""
    try:
        with open(RunFolder(run_dir).metrics, newline="") as f:
            rows = list(csv.DictReader(f))
    except OSError:
        return None, None
    if not rows:
        return 0, None
    return int(rows[-1]["iteration"]) + 1, float(rows[-1]["loss"])


def run_state(
    batch_dir: Path, entry: dict[str, Any], executor: str, slurm: dict[str, str] | None = None
) -> RunState:
    """The state of one run of ``batch.json`` (``entry``); ``slurm`` caches SLURM's states."""
    name = entry.get("name", "")
    p = paths(batch_dir, name)
    run = RunFolder(p["run"])
    summary = run.read_summary()
    job = _read_json(p["state"]) or {}
    job_id = entry.get("job_id")
    sl = None
    if job_id and entry.get("executor", executor) == "slurm":
        sl = (slurm if slurm is not None else slurm_states([job_id])).get(job_id)
    iteration, loss = _progress(p["run"])
    total = None
    if summary:
        iteration, loss = summary.get("iterations"), summary.get("final_loss")
    cfg = run.config
    if cfg.is_file():
        import yaml

        total = (yaml.safe_load(cfg.read_text()).get("optimize") or {}).get("iterations")
    reported = job.get("state")
    on_slurm = entry.get("executor", executor) == "slurm"
    error = job.get("error")
    if summary and summary.get("status") == "completed":
        state = "completed"
    elif sl in ACTIVE:
        state = "running" if sl in ("RUNNING", "COMPLETING") else "queued"
    elif not job_id:
        state = "not started"
    elif reported in ("failed", "interrupted"):
        state = reported
    elif reported == "running":
        alive = sl is None if on_slurm else _pid_alive(job.get("pid"))
        state = "running" if alive else "failed"
        if not alive:
            error = f"the job ended without reporting (killed?{f' SLURM: {sl}' if sl else ''})"
    elif on_slurm and sl is None:
        state = "queued"  # just submitted: SLURM may not list it yet
    elif sl:
        state, error = "failed", f"SLURM state {sl} before the run started"
    else:
        state = "not started"
    if state == "failed" and not error and sl:
        error = f"SLURM state {sl}"
    return RunState(
        name=name,
        state=state,
        iteration=iteration,
        iterations=total,
        loss=loss,
        psnr=summary.get("psnr") if summary else None,
        wall_time_s=summary.get("wall_time_s") if summary else None,
        job_id=job_id,
        slurm_state=sl,
        log=p["log"],
        error=error,
    )


def batch_states(batch_dir: Path) -> list[RunState]:

    batch = read_batch(batch_dir)
    entries = batch.get("runs", [])
    ids = [e["job_id"] for e in entries if e.get("job_id") and e.get("executor") == "slurm"]
    slurm = slurm_states(ids) if ids else {}
    return [run_state(batch_dir, e, e.get("executor", batch["executor"]), slurm) for e in entries]


def _pid_alive(pid: Any) -> bool:
    import os

    try:
        os.kill(int(pid), 0)
    except (TypeError, ValueError, OSError):
        return False
    return True


def log_tail(path: Path, lines: int = 8) -> list[str]:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return []
    return [line for line in text.splitlines() if line.strip()][-lines:]


def format_table(states: list[RunState]) -> list[str]:
    """The rows of ``invrender batch status``: one per run, then each failure's log tail."""

    def num(v: float | None, fmt: str) -> str:
        return "-" if v is None else format(v, fmt)

    header = ("run", "state", "iter", "loss", "PSNR", "time_s", "job", "log")
    rows = [header]
    for s in states:
        it = "-" if s.iteration is None else f"{s.iteration}/{s.iterations or '?'}"
        state = s.state if not s.slurm_state else f"{s.state} ({s.slurm_state})"
        rows.append(
            (
                s.name,
                state,
                it,
                num(s.loss, ".4g"),
                num(s.psnr, ".2f"),
                num(s.wall_time_s, ".1f"),
                s.job_id or "-",
                str(s.log),
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    out = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    counts: dict[str, int] = {}
    for s in states:
        counts[s.state] = counts.get(s.state, 0) + 1
    out.append(", ".join(f"{n} {k}" for k, n in counts.items()))
    for s in states:
        if s.state == "failed":
            out.append(f"--- {s.name} failed: {s.error or 'see its log'}")
            out += [f"    {line}" for line in log_tail(s.log)]
    return out
