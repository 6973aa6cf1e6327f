"""``invrender optimize``: config -> validated session -> run folder -> loop -> summary."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from invrender.config.loader import load_config
from invrender.errors import DataError, RunStopped
from invrender.report.overrides import record_overrides
from invrender.run.folder import RunFolder
from invrender.run.runner import Runner, restore_threads
from invrender.run.session import default_run_dir, prepare


def run_optimization(
    config: Path | None,
    overrides: tuple[str, ...] = (),
    output: Path | None = None,
    resume: Path | None = None,
    variant: str | None = None,
    progress: bool | str = True,
    runner_cls: type[Runner] | None = None,
) -> tuple[dict[str, Any], Path]:
    """Run (or resume) one optimization; nothing is written before every input checks out.

    ``progress``: True (auto: a bar on a terminal, plain lines otherwise), False (quiet), or a
    mode of invrender.progress (``bar``, ``plain``, ``none``: no progress, other messages kept)."""
    if resume is not None:
        previous = RunFolder(resume)
        previous.require_run("--resume")
        if previous.latest_checkpoint() is None:
            # Killed before its first checkpoint: nothing to lose, it starts again (warned).
            print(f"invrender: warning: {resume}: no checkpoint yet; starting from iteration 0")
        config = config or previous.config
    if config is None:
        raise DataError("give a CONFIG file (or --resume RUN_DIR)")
    loaded = load_config(config, overrides)
    if resume is not None:
        RunFolder(resume).check_same_problem(loaded)
    session = prepare(loaded, variant, progress=progress is not False)
    run_dir = resume or output or default_run_dir(loaded)
    folder = RunFolder(run_dir).create(resume=resume is not None)
    if progress is not False:
        print(f"invrender: writing {run_dir} (previews/ and loss.png update during the run)")
    runner = (runner_cls or Runner)(session, run_dir, progress=progress)
    try:
        runner.start(resume=resume is not None)
        # After start: a resume refused there (no readable checkpoint) leaves the folder as it was.
        record_overrides(run_dir, config, overrides, resume is not None)  # for report.html
        return runner.run(), run_dir
    except OSError as exc:  # a full or failing disk: stop with one line, checkpoints intact
        raise RunStopped(folder.write_failure(exc, runner.iteration)) from None
    finally:
        restore_threads(runner._threads)  # also when the run stopped early
