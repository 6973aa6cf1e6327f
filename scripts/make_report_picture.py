"""Screenshot of a run's report.html in headless Chromium, for the README.

    python scripts/make_report_picture.py RUN_DIR --out docs/img/report.png [--height 2330]

Rebuilds the report (``invrender report``), opens it, waits for the 3D viewer to load the GLB,
and photographs the top of the page (header, 3D view, held-out views, curves).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--width", type=int, default=1300)
    parser.add_argument("--height", type=int, default=2330, help="CSS pixels from the top")
    parser.add_argument("--full", action="store_true", help="the whole page")
    parser.add_argument(
        "--colors", type=int, default=256, help="palette size (a small PNG); 0: full colour"
    )
    args = parser.parse_args()

    from fixtures.chromium import Browser

    from invrender.report import build_report

    page = build_report(args.run_dir)
    with Browser(args.width, args.height) as browser:
        load = browser.open(
            page.resolve().as_uri(),
            "document.body.dataset.viewer",
            ("loaded", "error", "none"),
            timeout=180,
        )
        if load.flag not in ("loaded", "none"):
            print(f"3D viewer: {load.flag}; {load.console} {load.exceptions}", file=sys.stderr)
            return 1
        time.sleep(1.5)  # the viewer's loading bar fades out
        browser.evaluate("window.scrollTo(0, 0)")
        png = browser.screenshot(full_page=args.full)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    if args.colors:
        import io

        from PIL import Image

        image = Image.open(io.BytesIO(png)).convert("RGB")
        image.quantize(args.colors, Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(
            args.out, optimize=True
        )
    else:
        args.out.write_bytes(png)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
