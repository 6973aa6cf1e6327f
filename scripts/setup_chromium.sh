#!/usr/bin/env bash
# Installs headless Chromium (Debian's `chromium` package) for the report tests, which open
# RUN/report.html in a real browser. As root it installs the package when no Chromium is on
# PATH; otherwise it only says whether one is there (the tests skip without it, or fail when
# INVRENDER_REQUIRE_EXPORT_TOOLS=1, as scripts/test.sh sets).
set -euo pipefail

find_chromium() {
    for name in chromium chromium-browser google-chrome; do
        if command -v "$name" >/dev/null; then
            command -v "$name"
            return 0
        fi
    done
    return 1
}

if path="$(find_chromium)"; then
    echo "setup_chromium: $("$path" --version 2>/dev/null || echo "$path")"
    exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    echo "setup_chromium: no chromium on PATH; as root on Debian: apt-get install chromium" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# fonts-liberation: readable text in screenshots; the rest comes with the package.
apt-get install -y -qq --no-install-recommends chromium fonts-liberation >/dev/null
echo "setup_chromium: $(chromium --version)"
