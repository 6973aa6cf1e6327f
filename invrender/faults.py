"""Test-only fault injection: make the process die (or a write fail) at a named point.

The tests in ``tests/test_faults*.py`` prove that a run survives ``kill -9`` anywhere, including
in the middle of a checkpoint write or an export, and a full disk. Random kill times alone rarely
land inside a write that takes a millisecond, so the code marks those places with
:func:`fault_point` and the tests pick one through the environment::

    INVRENDER_FAULT="POINT[@TEXT]:COUNT[:ACTION]"

The COUNT-th time the process reaches POINT (whose detail contains TEXT, when given) it performs
ACTION: ``kill`` (default, SIGKILL to itself: no cleanup, no ``finally``) or ``enospc`` (an
``OSError(ENOSPC)`` there and at every later matching point, as a full disk would). Unset, a
fault point costs one dict lookup.
"""

from __future__ import annotations

import errno
import os
import signal
from dataclasses import dataclass

ENV = "INVRENDER_FAULT"


@dataclass
class _Spec:
    point: str
    text: str
    count: int
    action: str
    seen: int = 0


_spec: _Spec | None = None
_parsed_from: str | None = None


def _current() -> _Spec | None:
    global _spec, _parsed_from
    raw = os.environ.get(ENV, "")
    if raw != _parsed_from:
        _parsed_from, _spec = raw, _parse(raw) if raw else None
    return _spec


def _parse(raw: str) -> _Spec:
    where, _, rest = raw.partition(":")
    count, _, action = rest.partition(":")
    point, _, text = where.partition("@")
    action = action or "kill"
    if action not in ("kill", "enospc") or not count.isdigit():
        raise ValueError(f"{ENV}={raw!r}: expected POINT[@TEXT]:COUNT[:kill|enospc]")
    return _Spec(point, text, int(count), action)


def fault_point(point: str, detail: str = "") -> None:
    """Die or fail here if ``INVRENDER_FAULT`` names this point (see the module docstring)."""
    spec = _current()
    if spec is None or spec.point != point or spec.text not in detail:
        return
    spec.seen += 1
    if spec.seen < spec.count:
        return
    if spec.action == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), detail or point)
