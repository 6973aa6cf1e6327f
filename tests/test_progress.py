"""Progress for machines: when stderr is a log file, plain lines every N % or M seconds, never
carriage-return redraws, so a 500-iteration run under nohup stays well under 10 kB."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from invrender.progress import DEFAULT_SECONDS, Progress, intervals_from_env, resolve_mode
from tests.helpers import tiny_example

BUDGET = 10_000  # bytes of progress text for a 500-iteration run
LINE = re.compile(r"^optimize \d+/\d+ \(\d+%\)  loss \S+  \S+ s/it  elapsed [\d:]+(  ETA [\d:]+)?$")


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize("seconds_per_it", [0.05, 0.4, 2.0, 10.0])
def test_500_iterations_of_plain_progress_fit_the_budget(seconds_per_it):
    """shape.yaml runs 500 iterations at ~0.4 s/it here; a big scene at 10 s/it runs 83 min."""
    clock, out = FakeClock(), io.StringIO()
    bar = Progress(500, mode="plain", stream=out, clock=clock, every_percent=5, every_seconds=120)
    for it in range(1, 501):
        clock.now += seconds_per_it
        bar.update(it, 0.0123456 / it)
    bar.close()
    text = out.getvalue()
    assert "\r" not in text and len(text.encode()) < BUDGET, len(text)
    lines = text.splitlines()
    assert all(LINE.match(line) for line in lines), lines[:3]
    assert lines[-1].startswith("optimize 500/500 (100%)")
    assert len(lines) <= 21 + 500 * seconds_per_it / 120 + 1


def test_progress_lines_resume_and_interrupts():
    clock, out = FakeClock(), io.StringIO()
    bar = Progress(100, initial=40, mode="plain", stream=out, clock=clock, every_percent=25)
    for it in range(41, 58):  # resumed at 40, stopped by Ctrl-C at 57
        clock.now += 1.0
        bar.update(it, 0.5)
    bar.close()
    lines = out.getvalue().splitlines()
    assert [line.split()[1] for line in lines] == ["41/100", "50/100", "57/100"]
    assert "ETA 0:43" in lines[-1]  # 43 left at 1 s/it


def test_modes_follow_the_terminal_and_the_flags(monkeypatch):
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert resolve_mode("auto", Tty()) == "bar" and resolve_mode(True, Tty()) == "bar"
    assert resolve_mode("auto", io.StringIO()) == "plain"
    assert resolve_mode(False, Tty()) == "none" and resolve_mode("plain", Tty()) == "plain"
    with pytest.raises(ValueError):
        resolve_mode("fancy")
    out = io.StringIO()
    bar = Progress(10, mode="none", stream=out)
    bar.update(10, 1.0)
    bar.close()
    assert out.getvalue() == ""
    assert intervals_from_env("2%,30s") == (2.0, 30.0)
    assert intervals_from_env("") == (5.0, DEFAULT_SECONDS)
    with pytest.raises(ValueError):
        intervals_from_env("often")


@pytest.fixture(scope="module")
def config(tmp_path_factory, variant) -> Path:
    from invrender.config.loader import load_config
    from invrender.run.session import ensure_targets

    tmp = tmp_path_factory.mktemp("progress")
    cfg = tiny_example(
        tmp,
        "material_texture",
        optimize__spp=2,
        optimize__eval_spp=4,
        output__preview_every=0,
        output__checkpoint_every=0,
        output__export=[],
    )
    ensure_targets(load_config(cfg), progress=False)
    return cfg


def optimize(config: Path, out: Path, *args: str, env: dict[str, str] | None = None) -> str:
    """``invrender optimize`` in a child with stderr into a file, as under nohup; its stderr."""
    log = out.with_suffix(".log")
    with open(log, "wb") as stderr:
        done = subprocess.run(
            [sys.executable, "-m", "invrender.cli", "optimize", str(config)]
            + ["--output", str(out), *args],
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            env={**os.environ, **(env or {})},
            timeout=600,
        )
    text = log.read_text()
    assert done.returncode == 0, text
    return text


def test_a_run_logging_to_a_file_writes_plain_lines_within_the_budget(config, tmp_path):
    """50 iterations standing in for 500: the time interval scaled by 50/500, so the run writes
    the lines a 500-iteration run would (the percent steps do not depend on the length)."""
    scaled = {"INVRENDER_PROGRESS_EVERY": f"5%,{DEFAULT_SECONDS * 50 / 500:g}s"}
    text = optimize(config, tmp_path / "run", "--set", "optimize.iterations=50", env=scaled)
    assert "\r" not in text
    lines = [line for line in text.splitlines() if line.startswith("optimize ")]
    assert all(LINE.match(line) for line in lines), lines
    assert 20 <= len(lines) <= 40, lines
    assert lines[-1].startswith("optimize 50/50 (100%)")
    # At 500 iterations each line holds at most 2 more digits ("500/500" for "50/50").
    assert len("\n".join(lines).encode()) + 3 * len(lines) < BUDGET


def test_quiet_and_none_write_no_progress(config, tmp_path):
    for flag in (("--quiet",), ("--progress", "none")):
        text = optimize(config, tmp_path / flag[-1], "--set", "optimize.iterations=3", *flag)
        assert "optimize " not in text and "\r" not in text, text
