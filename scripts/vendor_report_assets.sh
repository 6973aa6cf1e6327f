#!/usr/bin/env bash
# Vendors the JavaScript of report.html's 3D viewer into invrender/report/assets/, so reports
# work offline and nothing is fetched from a CDN: @google/model-viewer's UMD build (a classic
# script, which browsers load from file:// pages, unlike ES modules; it bundles three.js and
# lit) with the licences of model-viewer and of what it bundles. Needs npm and the npm registry;
# the result is committed, so installing invrender needs neither.
#
#   bash scripts/vendor_report_assets.sh [MODEL_VIEWER_VERSION]   (default: the one in VENDOR.md)
set -euo pipefail
cd "$(dirname "$0")/.."
ASSETS=invrender/report/assets
VERSION="${1:-$(sed -n 's/^model-viewer version: //p' "$ASSETS/VENDOR.md" 2>/dev/null || true)}"
VERSION="${VERSION:-4.4.0}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

fetch() {  # fetch NAME@VERSION into $WORK/NAME (the package's files)
    local spec="$1" dir="$WORK/$2"
    mkdir -p "$dir"
    (cd "$WORK" && npm pack --silent "$spec" >"$dir.tgz.name")
    tar -xzf "$WORK/$(cat "$dir.tgz.name")" -C "$dir" --strip-components=1
}

fetch "@google/model-viewer@$VERSION" model-viewer
MV="$WORK/model-viewer"
# The bundled libraries' versions, as model-viewer's package.json asks for them.
dep() { node -e "const p=require('$MV/package.json');const d={...p.dependencies,...p.peerDependencies};process.stdout.write(d['$1'])"; }
THREE="$(dep three)"
LIT="$(dep lit)"
GAINMAP="$(dep @monogrid/gainmap-js)"
fetch "three@$THREE" three
fetch "lit@$LIT" lit
fetch "@monogrid/gainmap-js@$GAINMAP" gainmap-js

mkdir -p "$ASSETS"
cp "$MV/dist/model-viewer-umd.min.js" "$ASSETS/model-viewer-umd.min.js"
cp "$MV/LICENSE" "$ASSETS/LICENSE.model-viewer"
cp "$WORK/three/LICENSE" "$ASSETS/LICENSE.three"
cp "$WORK/lit/LICENSE" "$ASSETS/LICENSE.lit"
cp "$WORK/gainmap-js/LICENSE" "$ASSETS/LICENSE.gainmap-js"
cat >"$ASSETS/VENDOR.md" <<MD
# Vendored JavaScript for report.html

Reproduce with \`bash scripts/vendor_report_assets.sh\` (npm registry needed once).

model-viewer version: $VERSION
file: model-viewer-umd.min.js = @google/model-viewer $VERSION, dist/model-viewer-umd.min.js
bundled (model-viewer's ranges; licence files from the versions npm resolved them to):
three $THREE -> $(node -e "console.log(require('$WORK/three/package.json').version)") (LICENSE.three, MIT),
lit $LIT -> $(node -e "console.log(require('$WORK/lit/package.json').version)") (LICENSE.lit, BSD-3-Clause),
@monogrid/gainmap-js $GAINMAP -> $(node -e "console.log(require('$WORK/gainmap-js/package.json').version)") (LICENSE.gainmap-js, MIT)
licence of model-viewer: LICENSE.model-viewer (Apache-2.0)
sha256: $(sha256sum "$ASSETS/model-viewer-umd.min.js" | cut -d' ' -f1)
MD
echo "vendored model-viewer $VERSION into $ASSETS"
