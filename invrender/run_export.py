"""Export a run's optimized scene in the formats its config names."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def export_outputs(session: Any, out_dir: Path) -> dict[str, list[str]]:
    """Write ``output.export`` formats of the session's scene into ``out_dir``; paths written."""
    try:  # TODO(merge): the export package lands from the export branch
        from invrender.export import export_scene
    except ModuleNotFoundError:
        return {}

    formats = list(session.config.output.export)
    written = export_scene(session.scene, out_dir, formats, sensors=session.sensors)
    base = out_dir.parent
    return {fmt: [str(Path(p).relative_to(base)) for p in paths] for fmt, paths in written.items()}
