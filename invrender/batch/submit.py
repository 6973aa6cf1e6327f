"""Submit a batch through submitit: one job per run, a SLURM job array on a cluster.

The batch folder keeps everything: ``batch.json`` (the plan and each run's job ids),
``runs/<name>/`` (each ``invrender optimize`` run folder), ``logs/<name>.log``,
``jobs/<name>.json`` (the state a job reports) and ``submitit/`` (submitit's pickles and SLURM
output). Running the same batch again skips completed runs and runs still queued, resumes
interrupted ones, and leaves failed ones alone unless asked to retry them.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from invrender.batch.layout import BATCH_FILE, paths, read_batch
from invrender.batch.plan import RunPlan, expand
from invrender.batch.spec import BatchSpec, SlurmSettings
from invrender.batch.status import run_state
from invrender.files import write_text


@dataclass
class Submitted:
    submitted: list[str]
    skipped: dict[str, str]  # run name -> why
    job_ids: dict[str, str]


def default_batch_dir(spec: BatchSpec, base: Path) -> Path:
    if spec.out:
        return Path(spec.out)
    name = spec.name or "-".join(Path(c).stem for c in spec.configs[:3])
    return base / "batches" / name


def make_executor(spec: BatchSpec, batch_dir: Path, executor: str) -> Any:
    """A submitit executor: SLURM (job arrays), local processes, or in-process (debug)."""
    import submitit

    folder = batch_dir / "submitit" / "%j"
    if executor == "debug":
        return submitit.DebugExecutor(folder=folder)
    if executor == "local":
        local = submitit.LocalExecutor(folder=folder)
        local.update_parameters(timeout_min=spec.slurm.timeout_min)
        return local
    slurm = submitit.SlurmExecutor(folder=folder)
    slurm.update_parameters(**slurm_parameters(spec.slurm, spec.name or batch_dir.name))
    return slurm


def slurm_parameters(s: SlurmSettings, job_name: str) -> dict[str, Any]:
    """Our SLURM settings as submitit's SlurmExecutor parameters (each an #SBATCH line)."""
    params: dict[str, Any] = {
        "job_name": f"invrender-{job_name}",
        "time": s.timeout_min,
        "cpus_per_task": s.cpus_per_job,
        "ntasks_per_node": 1,
        "nodes": 1,
        "array_parallelism": s.array_parallelism,
        "signal_delay_s": s.signal_delay_s,
    }
    if s.partition:
        params["partition"] = s.partition
    if s.gpus_per_job:
        params["gpus_per_node"] = s.gpus_per_job
    if s.mem_gb:
        params["mem"] = f"{int(s.mem_gb * 1024)}MB"
    if s.sbatch:
        params["additional_parameters"] = dict(s.sbatch)
    return params


def plan_batch(spec: BatchSpec) -> list[RunPlan]:
    """Validate every run before anything is written or submitted (raises ConfigError)."""
    return expand(spec)


def submit(
    spec: BatchSpec,
    runs: list[RunPlan],
    batch_dir: Path,
    executor: str,
    retry_failed: bool = False,
) -> tuple[Submitted, list[Any]]:
    """Submit the runs that need a job; return what was done and submitit's job handles."""
    from invrender.batch.job import OptimizeJob

    previous = read_batch(batch_dir) if (batch_dir / BATCH_FILE).is_file() else {}
    old_runs = {r["name"]: r for r in previous.get("runs", [])}
    todo: list[RunPlan] = []
    skipped: dict[str, str] = {}
    for run in runs:
        current = run_state(batch_dir, old_runs.get(run.name, {}), executor).state
        if current == "completed":
            skipped[run.name] = "completed"
        elif current in ("queued", "running"):
            skipped[run.name] = f"already {current}"
        elif current == "failed" and not retry_failed:
            skipped[run.name] = "failed (use --retry-failed to run it again)"
        else:
            todo.append(run)
    fns = []
    for run in todo:
        p = paths(batch_dir, run.name)
        fns.append(
            OptimizeJob(
                run.name,
                run.config,
                run.overrides,
                str(p["run"]),
                str(p["log"]),
                str(p["state"]),
                spec.variant,
            )
        )
        if p["state"].exists():
            p["state"].unlink()  # the new job reports afresh
    ex = make_executor(spec, batch_dir, executor)
    jobs = ex.submit_array(fns) if fns else []
    job_ids = {run.name: str(job.job_id) for run, job in zip(todo, jobs, strict=True)}
    record = []
    for run in runs:
        entry = {**old_runs.get(run.name, {}), **run.to_json()}
        if run.name in job_ids:
            entry["job_id"] = job_ids[run.name]
            entry["submitted_at"] = time.time()
            entry["executor"] = executor
        record.append(entry)
    state: dict[str, Any] = {
        "name": spec.name or batch_dir.name,
        "executor": executor,
        "spec": spec.model_dump(mode="json"),
        "runs": record,
    }
    write_text(batch_dir / BATCH_FILE, json.dumps(state, indent=2) + "\n")
    return Submitted([r.name for r in todo], skipped, job_ids), jobs


def wait(jobs: list[Any]) -> None:
    """Block until every job has ended (a failed one raises nothing here)."""
    for job in jobs:
        try:
            job.wait()
        except Exception:  # noqa: BLE001 - a failed run is reported by status, never fatal here
            pass
