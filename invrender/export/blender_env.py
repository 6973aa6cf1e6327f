"""Find the Python interpreter that has Blender's ``bpy`` module and run scripts with it.

bpy pins numpy < 2 and is a 370 MB wheel, so it lives in its own virtual environment
(``.bpy-venv/``, made by ``scripts/setup_blender_env.sh``) and invrender drives it as a
subprocess instead of importing it.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from invrender.errors import SetupError

ENV_VAR = "INVRENDER_BLENDER_PYTHON"
REPO_ROOT = Path(__file__).resolve().parents[2]
SETUP_HINT = (
    f"run `bash scripts/setup_blender_env.sh` (creates .bpy-venv/ with bpy) or set {ENV_VAR} "
    "to a Python that can `import bpy`"
)


def blender_python() -> Path:
    """The interpreter with bpy: $INVRENDER_BLENDER_PYTHON, else .bpy-venv/bin/python."""
    configured = os.environ.get(ENV_VAR)
    if configured:
        path = Path(configured)
        if not path.exists():
            raise SetupError(f"{ENV_VAR}={configured} does not exist; {SETUP_HINT}")
        return path
    for root in (REPO_ROOT, Path.cwd()):
        candidate = root / ".bpy-venv" / "bin" / "python"
        if candidate.exists():
            return candidate
    raise SetupError(f"no Blender Python (bpy) environment found; {SETUP_HINT}")


def run_bpy_script(script: Path, args: list[str], timeout: float = 600.0) -> str:
    """Run ``script -- args`` under the bpy interpreter; return its output, raise on failure."""
    python = blender_python()
    command = [str(python), str(script), "--", *args]
    try:
        result = subprocess.run(
            command, capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired as error:
        raise SetupError(f"Blender script {script} timed out after {timeout:.0f} s") from error
    if result.returncode != 0:
        tail = (result.stdout + result.stderr).strip().splitlines()[-15:]
        raise SetupError(
            f"Blender script {script} failed (exit {result.returncode}):\n" + "\n".join(tail)
        )
    return result.stdout
