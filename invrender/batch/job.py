"""The job that submitit runs for one run of a batch: ``invrender optimize`` as a child process.

Pre-emption and time limits follow submitit's checkpoint protocol: when SLURM sends USR2, submitit
calls :meth:`OptimizeJob.checkpoint`, which asks the child to stop after its current iteration
(the runner then writes a checkpoint and a summary with status ``interrupted``), waits for it, and
returns a resubmission of the same job; submitit requeues it, and the requeued job resumes from
the run folder's last checkpoint. A job killed outright (``scontrol requeue``: SIGTERM) stops the
same way, because the runner treats SIGTERM like SIGUSR2.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import submitit

from invrender.files import write_text
from invrender.run.folder import RunFolder

STOP_SIGNAL = signal.SIGUSR2
STOP_WAIT_S = 80.0  # less than submitit's default signal delay (90 s before the kill)
INTERRUPTED_EXIT = 130
POLL_S = 0.2


class RunFailed(RuntimeError):
    """The child ``invrender optimize`` ended in an error (its log says which)."""


def read_summary(run_dir: Path) -> dict[str, Any] | None:
    return RunFolder(run_dir).read_summary()


def _exited(proc: subprocess.Popen[bytes]) -> bool:
    """Whether the child ended, without waiting on it (the interrupted poll may hold its lock)."""
    if proc.returncode is not None:
        return True
    try:
        stat = Path(f"/proc/{proc.pid}/stat").read_text()
    except OSError:
        return proc.poll() is not None  # no /proc (macOS): ask Popen
    return stat.rsplit(")", 1)[1].split()[0] in ("Z", "X")  # a zombie has exited


def has_checkpoint(run_dir: Path) -> bool:
    return RunFolder(run_dir).has_checkpoint()


class OptimizeJob(submitit.helpers.Checkpointable):
    """One run: optimize ``config`` with ``overrides`` into ``run_dir`` (or resume it there)."""

    def __init__(
        self,
        name: str,
        config: str,
        overrides: list[str],
        run_dir: str,
        log_path: str,
        state_path: str,
        variant: str | None = None,
    ) -> None:
        self.name = name
        self.config = config
        self.overrides = list(overrides)
        self.run_dir = run_dir
        self.log_path = log_path
        self.state_path = state_path
        self.variant = variant
        self._proc: subprocess.Popen[bytes] | None = None

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_proc"] = None  # a process handle does not travel through a pickle
        return state

    def command(self) -> list[str]:
        run_dir = Path(self.run_dir)
        # Plain progress lines (every 5 % or 2 min): what `batch status` shows as the log's tail.
        cmd = [sys.executable, "-m", "invrender.cli.main", "optimize", "--progress", "plain"]
        if has_checkpoint(run_dir):
            cmd += ["--resume", str(run_dir)]  # config.resolved.yaml holds the overrides
        else:
            cmd += [self.config, "--output", str(run_dir)]
            for item in self.overrides:
                cmd += ["--set", item]
        if self.variant:
            cmd += ["--variant", self.variant]
        return cmd

    def __call__(self) -> dict[str, Any]:
        """Run the child; record the job's state where ``invrender batch status`` reads it."""
        self._mark("running")
        try:
            summary = self._run()
        except RunFailed as exc:
            self._mark("interrupted" if "stopped by a signal" in str(exc) else "failed", str(exc))
            raise
        self._mark("completed")
        return summary

    def _mark(self, state: str, error: str | None = None) -> None:
        env = os.environ
        job_id = env.get("SLURM_ARRAY_JOB_ID")
        job_id = f"{job_id}_{env['SLURM_ARRAY_TASK_ID']}" if job_id else env.get("SLURM_JOB_ID")
        record = {"state": state, "job_id": job_id, "pid": os.getpid(), "time": time.time()}
        if error:
            record["error"] = error
        write_text(Path(self.state_path), json.dumps(record) + "\n")

    def _run(self) -> dict[str, Any]:
        run_dir = Path(self.run_dir)
        summary = read_summary(run_dir)
        if summary and summary.get("status") == "completed":
            return summary
        if run_dir.exists() and not has_checkpoint(run_dir):
            shutil.rmtree(run_dir)  # stopped before its first checkpoint: start afresh
        cmd = self.command()
        log = Path(self.log_path)
        log.parent.mkdir(parents=True, exist_ok=True)
        with open(log, "ab") as out:
            stamp = time.strftime("%Y-%m-%d %H:%M:%S")
            job = os.environ.get("SLURM_JOB_ID", "local")
            out.write(f"\n== {stamp} job {job}: {' '.join(cmd)}\n".encode())
            out.flush()
            self._proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
            # Poll instead of a blocking wait(): submitit's signal handler runs checkpoint() inside
            # this frame, and a blocking wait() would hold the lock that its own wait needs.
            while (code := self._proc.poll()) is None:
                time.sleep(POLL_S)
        summary = read_summary(run_dir)
        if code == 0 and summary and summary.get("status") == "completed":
            return summary
        if code == INTERRUPTED_EXIT:
            raise RunFailed(f"{self.name}: stopped by a signal; run the batch again to resume")
        raise RunFailed(f"{self.name}: invrender optimize exited with {code}; see {log}")

    def checkpoint(self, *args: Any, **kwargs: Any) -> submitit.helpers.DelayedSubmission:
        """Called by submitit on pre-emption or near the time limit, in the job's process."""
        proc = self._proc
        if proc is not None and proc.poll() is None:
            proc.send_signal(STOP_SIGNAL)  # the runner stops after this iteration, checkpoints
            deadline = time.monotonic() + STOP_WAIT_S
            while not _exited(proc) and time.monotonic() < deadline:
                time.sleep(POLL_S)
            if not _exited(proc):
                proc.kill()  # the last periodic checkpoint is still there to resume from
        fresh = OptimizeJob(
            self.name,
            self.config,
            self.overrides,
            self.run_dir,
            self.log_path,
            self.state_path,
            self.variant,
        )
        return submitit.helpers.DelayedSubmission(fresh)
