"""Loop progress for people and for machines.

On a terminal a tqdm bar redraws one line. In a log file (``nohup``, SLURM, a batch job) every
redraw is kept: a 500-iteration run wrote 87 kB of carriage returns. So when stderr is not a
terminal, progress is one plain line every ``N`` % of the run or every ``M`` seconds, whichever
comes first: a 500-iteration run writes about 2 kB however fast or slow it is.

``INVRENDER_PROGRESS_EVERY="5%,120s"`` (either part may be left out) changes the intervals; the
tests scale them to check the budget on short runs.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from typing import Any, TextIO

MODES = ("auto", "bar", "plain", "none")
ENV = "INVRENDER_PROGRESS_EVERY"
DEFAULT_PERCENT = 5.0
DEFAULT_SECONDS = 120.0


def resolve_mode(progress: bool | str, stream: TextIO | None = None) -> str:
    """``bar``, ``plain`` or ``none`` from a CLI choice (``auto``) or the old boolean flag."""
    if progress is True:
        progress = "auto"
    elif progress is False:
        progress = "none"
    if progress not in MODES:
        raise ValueError(f"progress must be one of {', '.join(MODES)}, not {progress!r}")
    if progress != "auto":
        return progress
    stream = stream or sys.stderr
    try:
        return "bar" if stream.isatty() else "plain"
    except (AttributeError, ValueError):  # a closed or odd stream: the safe choice for logs
        return "plain"


def intervals_from_env(text: str | None = None) -> tuple[float, float]:
    """(percent, seconds) from ``INVRENDER_PROGRESS_EVERY`` such as ``"5%,120s"``."""
    text = os.environ.get(ENV, "") if text is None else text
    percent, seconds = DEFAULT_PERCENT, DEFAULT_SECONDS
    for part in filter(None, (p.strip() for p in text.split(","))):
        try:
            if part.endswith("%"):
                percent = float(part[:-1])
            else:
                seconds = float(part.removesuffix("s"))
        except ValueError:
            raise ValueError(f"{ENV}={text!r}: expected e.g. '5%,120s'") from None
    return percent, seconds


def format_duration(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class Progress:
    """Progress of a loop of ``total`` iterations, drawn as a bar, plain lines, or not at all.

    ``update(iteration, loss)`` after each iteration (``iteration`` counts those done);
    ``close()`` at the end, also on errors. ``clock`` is injectable for tests."""

    def __init__(
        self,
        total: int,
        initial: int = 0,
        mode: bool | str = "auto",
        *,
        desc: str = "optimize",
        stream: TextIO | None = None,
        every_percent: float | None = None,
        every_seconds: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.total = max(0, int(total))
        self.desc = desc
        self.stream = stream
        self.mode = resolve_mode(mode, stream)
        env_percent, env_seconds = intervals_from_env()
        self.every_percent = env_percent if every_percent is None else every_percent
        self.every_seconds = env_seconds if every_seconds is None else every_seconds
        self.clock = clock
        self.start_iteration = self.last_iteration = self.done = initial
        self.start_time = self.last_time = clock()
        self.next_percent = self._next_step(initial)
        self.loss: float | None = None
        self.lines = 0
        self._bar: Any = None
        if self.mode == "bar":
            from tqdm import tqdm

            self._bar = tqdm(
                total=self.total,
                initial=initial,
                unit="it",
                desc=desc,
                dynamic_ncols=True,
                file=stream,
            )

    def _next_step(self, iteration: int) -> float:
        """The iteration count at which the next percent-step line is due."""
        if self.total <= 0 or self.every_percent <= 0:
            return float("inf")
        step = self.total * self.every_percent / 100.0
        return (int(iteration / step + 1e-9) + 1) * step

    def update(self, iteration: int, loss: float | None = None) -> None:
        """``iteration`` iterations are done; the latest loss was ``loss``."""
        self.done, self.loss = iteration, loss
        if self._bar is not None:
            if loss is not None:
                self._bar.set_postfix(loss=f"{loss:.4g}", refresh=False)
            self._bar.update(iteration - self._bar.n)
            return
        if self.mode != "plain":
            return
        now = self.clock()
        first = self.lines == 0 and iteration > self.start_iteration
        due_time = self.every_seconds > 0 and now - self.last_time >= self.every_seconds
        if first or iteration >= self.next_percent or due_time or iteration >= self.total:
            self._line(now)

    def _line(self, now: float) -> None:
        it = self.done
        span = it - self.last_iteration
        per_it = (now - self.last_time) / span if span > 0 else None
        parts = [f"{self.desc} {it}/{self.total}"]
        if self.total:
            parts[0] += f" ({100.0 * it / self.total:.0f}%)"
        if self.loss is not None:
            parts.append(f"loss {self.loss:.4g}")
        if per_it is not None:
            parts.append(f"{per_it:.3g} s/it")
        parts.append(f"elapsed {format_duration(now - self.start_time)}")
        if per_it is not None and it < self.total:
            parts.append(f"ETA {format_duration(per_it * (self.total - it))}")
        print("  ".join(parts), file=self.stream or sys.stderr, flush=True)
        self.lines += 1
        self.last_iteration, self.last_time = it, now
        self.next_percent = self._next_step(it)

    def close(self) -> None:
        """End the bar; in plain mode, a last line if the loop stopped between lines."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        elif self.mode == "plain" and self.done != self.last_iteration:
            self._line(self.clock())
