#!/usr/bin/env bash
# Installs the Khronos glTF validator (npm package gltf-validator) into
# scripts/gltf_validator/node_modules for the export tests. Needs node >= 18 and npm.
set -euo pipefail
cd "$(dirname "$0")/gltf_validator"
npm install --no-audit --no-fund --loglevel=error
node -e "import('gltf-validator').then(v => console.log('gltf-validator', v.default.version()))"
