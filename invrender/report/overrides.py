"""What ``--set`` changed: recorded in ``RUN/overrides.json`` so report.html can show it.

``config.resolved.yaml`` holds the values after the overrides, but not which ones were given on
the command line; a run made by a batch sweep, say, differs from its config only there. Every
start and resume of a run appends one entry, so a resume with new ``--set`` values shows too.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from invrender.files import write_text
from invrender.run.folder import RunFolder

OVERRIDES_NAME = RunFolder.OVERRIDES


def read_overrides(run_dir: Path) -> list[dict[str, Any]] | None:
    """The recorded invocations, oldest first; None for runs made before they were recorded."""
    try:
        data = json.loads((run_dir / OVERRIDES_NAME).read_text())
    except (OSError, ValueError):
        return None
    entries = data.get("invocations") if isinstance(data, dict) else None
    return [e for e in entries if isinstance(e, dict)] if isinstance(entries, list) else None


def record_overrides(
    run_dir: Path, config: Path | None, overrides: Sequence[str], resume: bool
) -> None:
    """Append this invocation (config file, ``--set`` items) to ``RUN/overrides.json``.

    A fresh run starts the list anew. The record is for people only: a failed write warns and
    the run goes on (a full disk stops the run at its next checkpoint anyway)."""
    entries = (read_overrides(run_dir) or []) if resume else []
    entries.append(
        {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "config": str(Path(config).resolve()) if config is not None else None,
            "set": list(overrides),
            "resume": resume,
        }
    )
    try:
        write_text(run_dir / OVERRIDES_NAME, json.dumps({"invocations": entries}, indent=2) + "\n")
    except OSError as exc:
        print(
            f"invrender: warning: {run_dir / OVERRIDES_NAME}: not written ({exc})", file=sys.stderr
        )
