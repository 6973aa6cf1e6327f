#!/usr/bin/env bash
# Installs the Khronos glTF validator (npm package gltf-validator) into
# scripts/gltf_validator/node_modules for the export tests. Needs node >= 18 and npm; when
# they are missing and this runs as root, installs them with apt-get.
set -euo pipefail
cd "$(dirname "$0")/gltf_validator"
if ! command -v npm >/dev/null && [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi
npm install --no-audit --no-fund --loglevel=error
node -e "import('gltf-validator').then(v => console.log('gltf-validator', v.default.version()))"
