"""``invrender batch run | status | report``. Imports only click here; the work loads lazily."""

from __future__ import annotations

import time
from pathlib import Path

import click

from invrender.cli.common import user_errors


@click.group()
def batch() -> None:
    """Many runs at once: configs x sweeps, on SLURM (job arrays), locally, or in-process."""


@batch.command("run")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--sweep",
    "sweeps",
    multiple=True,
    metavar="KEY.PATH=A,B",
    help="With run configs: sweep a config value over these values (grid product).",
)
@click.option("--set", "sets", multiple=True, metavar="KEY.PATH=VALUE", help="For every run.")
@click.option(
    "--executor",
    type=click.Choice(["local", "slurm", "debug"]),
    default=None,
    help="Where jobs run (default: the batch file's, else local).",
)
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), help="Batch folder.")
@click.option("--retry-failed", is_flag=True, help="Run failed runs again (resuming them).")
@click.option("--wait/--no-wait", default=None, help="Wait for the jobs (slurm default: no).")
@click.option("--dry-run", is_flag=True, help="Validate and list the runs; submit nothing.")
def run_cmd(
    files: tuple[Path, ...],
    sweeps: tuple[str, ...],
    sets: tuple[str, ...],
    executor: str | None,
    out: Path | None,
    retry_failed: bool,
    wait: bool | None,
    dry_run: bool,
) -> None:
    """Run BATCH.yaml, or the run configs given (with --sweep), one job per run."""
    user_errors(_run)(files, sweeps, sets, executor, out, retry_failed, wait, dry_run)


def _run(files, sweeps, sets, executor, out, retry_failed, wait, dry_run) -> None:
    from invrender.batch.spec import read_batch_file, shorthand_spec
    from invrender.batch.submit import default_batch_dir, plan_batch, submit
    from invrender.errors import ConfigError

    if len(files) == 1 and _is_batch_file(files[0]):
        if sweeps or sets:
            raise ConfigError(
                [f"{files[0]}: --sweep/--set go into the batch file (or give configs)"]
            )
        spec, base = read_batch_file(files[0])
        if executor:
            spec.executor = executor
    else:
        spec, base = shorthand_spec(list(files), list(sweeps), list(sets), executor), Path.cwd()
    runs = plan_batch(spec)  # every config validated before anything is written
    batch_dir = out or default_batch_dir(spec, base)
    click.echo(f"batch {batch_dir}: {len(runs)} runs, executor {spec.executor}")
    if dry_run:
        for r in runs:
            click.echo(f"  {r.name}: {r.config} {' '.join(r.overrides)}")
        return
    batch_dir.mkdir(parents=True, exist_ok=True)
    done, jobs = submit(spec, runs, batch_dir, spec.executor, retry_failed)
    for name, why in done.skipped.items():
        click.echo(f"  skip {name}: {why}")
    for name in done.submitted:
        click.echo(f"  submit {name}: job {done.job_ids.get(name)}")
    if wait is None:
        wait = spec.executor != "slurm"
    if wait and jobs:
        wait_for(batch_dir, jobs, spec.executor)
        _print_status(batch_dir)
    elif jobs:
        click.echo(f"watch with: invrender batch status {batch_dir}")


def _is_batch_file(path: Path) -> bool:
    """A batch file has a top-level ``configs`` list; a run config does not."""
    import yaml

    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError):
        return False
    return isinstance(data, dict) and "configs" in data


def wait_for(batch_dir: Path, jobs: list, executor: str, poll_s: float = 2.0) -> None:
    """Block until no run of the batch is queued or running (SLURM: by its states)."""
    from invrender.batch.status import ACTIVE, batch_states

    if executor != "slurm":
        for job in jobs:
            try:
                job.result()  # the debug executor runs the job here
            except Exception:  # noqa: BLE001 - a failed run is reported by status
                pass
        return
    from tqdm import tqdm

    with tqdm(total=len(jobs), unit="run", desc="batch", dynamic_ncols=True) as bar:
        while True:
            states = batch_states(batch_dir)
            # Ended for us and for SLURM (summary.json comes a moment before the job's end).
            ended = sum(
                s.state not in ("queued", "running") and s.slurm_state not in ACTIVE for s in states
            )
            bar.update(max(0, ended - (len(states) - len(jobs)) - bar.n))
            if ended == len(states):
                break
            time.sleep(poll_s)


def _print_status(batch_dir: Path) -> None:
    from invrender.batch.status import batch_states, format_table

    for line in format_table(batch_states(batch_dir)):
        click.echo(line)


@batch.command("status")
@click.argument("batch_dir", type=click.Path(file_okay=False, path_type=Path))
def status_cmd(batch_dir: Path) -> None:
    """A table of every run: state, iteration, loss, PSNR, time, job id, log; failures' logs."""
    user_errors(_print_status)(batch_dir)


@batch.command("report")
@click.argument("batch_dir", type=click.Path(file_okay=False, path_type=Path))
def report_cmd(batch_dir: Path) -> None:
    """Write BATCH_DIR/results.csv and BATCH_DIR/report.html."""

    def go() -> None:
        from invrender.batch.report import write_report

        for path in write_report(batch_dir):
            click.echo(f"wrote {path}")

    user_errors(go)()


__all__ = ["batch"]
