#!/usr/bin/env bash
# The README's test command: install invrender with its test extras into the active Python
# environment, set up the export tools the tests drive (Blender as a module in its own venv,
# the Khronos glTF validator, headless Chromium for report.html) and, as root, a one-node SLURM
# for the batch tests; then run the suite.
set -euo pipefail
cd "$(dirname "$0")/.."
python -m pip install -q -e ".[llvm,dev]"
bash scripts/setup_blender_env.sh
bash scripts/setup_gltf_validator.sh
# Headless Chromium for the report tests (as root it installs Debian's package; otherwise those
# tests fail below, naming this script, rather than skip).
bash scripts/setup_chromium.sh || true
export INVRENDER_REQUIRE_EXPORT_TOOLS=1  # a missing tool fails the export tests, never skips them
# The batch tests submit to a real one-node SLURM on localhost (needs root to install and start).
if [ "$(id -u)" = 0 ]; then
    bash scripts/setup_slurm.sh
    export INVRENDER_REQUIRE_SLURM=1  # then a missing SLURM fails the batch tests, never skips
fi
# Lint, format and types first: seconds, and a type error is cheaper to read than a test failure.
python -m ruff check invrender tests scripts
python -m ruff format --check invrender tests scripts
python -m mypy  # invrender/, configured in pyproject.toml (pydantic plugin)
python -m pytest -q "$@"
