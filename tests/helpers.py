"""Small builders shared by the spine's tests."""

from __future__ import annotations

from pathlib import Path

from scripts.fixtures.examples import tiny_example  # noqa: F401 - the tests' import

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = ROOT / "configs"


def runner_stopping_after(iterations: int) -> type:
    """A Runner that stops as Ctrl-C does once ``iterations`` iterations are done (for resume
    tests); imported lazily so that importing this module loads no Mitsuba."""
    from invrender.run.runner import Runner

    class StopAfter(Runner):
        def on_iteration_end(self, iteration: int) -> None:
            if iteration + 1 == iterations:
                self.stop_requested = True

    return StopAfter


def final_variables(run_dir: Path) -> dict:
    """The optimized variables in a run folder's latest checkpoint."""
    from invrender.run import checkpoint

    return checkpoint.load(checkpoint.latest(run_dir / "checkpoints")).variables
