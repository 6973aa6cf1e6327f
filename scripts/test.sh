#!/usr/bin/env bash
# The README's test command: install invrender with its test extras into the active Python
# environment, then run the suite.
set -euo pipefail
cd "$(dirname "$0")/.."
python -m pip install -q -e ".[llvm,dev]"
python -m pytest -q "$@"
