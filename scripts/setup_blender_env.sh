#!/usr/bin/env bash
# Creates .bpy-venv/ in the repo root with Blender-as-a-module (bpy) for `invrender export
# --format blender` and its tests. bpy pins numpy < 2, so it lives in its own virtual environment
# and invrender drives it as a subprocess. When run as root, installs the X11/GL libraries that
# bpy's shared object links against (headless use still needs them to load).
# Override the version with BPY_VERSION=5.0.1 (default: 4.5 LTS) and the interpreter with PYTHON.
set -euo pipefail
cd "$(dirname "$0")/.."
BPY_VERSION="${BPY_VERSION:-4.5.*}"
PYTHON="${PYTHON:-python3.11}"
command -v "$PYTHON" >/dev/null || PYTHON=python3

if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        libx11-6 libxrender1 libxfixes3 libxi6 libxext6 libxkbcommon0 libsm6 libice6 \
        libgl1 libegl1 libxxf86vm1 libglu1-mesa >/dev/null
fi

if [ ! -x .bpy-venv/bin/python ]; then
    "$PYTHON" -m venv .bpy-venv
fi
.bpy-venv/bin/python -m pip install -q --upgrade pip
.bpy-venv/bin/python -m pip install -q "bpy==${BPY_VERSION}" "numpy<2"
.bpy-venv/bin/python -c "import bpy; print('bpy', bpy.app.version_string)"
