"""Time `invrender cameras` on large photos, and count what registers on small ones.

Large photos (issue 26: 24 photos of 12 MP in under 2 minutes on two cores): the SfM test scene
(tests/photo_helpers.py: textured spheres on a textured floor) is rendered at ``--render`` px and
upsampled to ``--size`` (bicubic, JPEG quality 90), then ``run_sfm`` runs once per
``--max-image-size`` value in this process; it prints seconds per stage, the ratio to the first
setting, registered views and the camera errors against the true cameras:

    python scripts/bench_sfm.py --views 24 --size 4000x3000 --max-image-size 1600 0

Small photos (``--small``): the central textured sphere alone on black at 256 and 512 px, 40
views, with features from the photos as they are (``min_image_size 0``) and from copies
upsampled to 1024 px; prints how many views register:

    python scripts/bench_sfm.py --small --small-sizes 256 512 --views 40
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def render_large(folder: Path, views: int, size: tuple[int, int], render: int, spp: int) -> list:
    """``views`` JPEGs of ``size`` upsampled from renders ``render`` px wide; the true cameras."""
    from PIL import Image

    from tests.photo_helpers import photo_cameras, render_photos

    w, h = size
    cams = photo_cameras(views, render, round(render * h / w))
    small = folder / "renders"
    render_photos(small, cams, spp=spp)
    out = folder / "photos"
    out.mkdir()
    for png in sorted(small.iterdir()):
        with Image.open(png) as im:
            big = im.convert("RGB").resize((w, h), Image.Resampling.BICUBIC)
        big.save(out / f"{png.stem}.jpg", quality=90)
    return cams


def object_on_black() -> dict:
    """The SfM scene's central textured sphere alone, lit by two suns, on black."""
    from tests.photo_helpers import photo_scene

    scene = photo_scene()
    return {
        "type": "scene",
        "integrator": {"type": "path", "max_depth": 3},
        "object": scene["object"],
        "sun": scene["sun"],
        "fill": {"type": "directional", "direction": [0.5, -0.3, 0.6], "irradiance": 1.0},
    }


def run_cameras(photos: Path, out: Path, **opts) -> tuple[object | None, float, str]:
    """(report or None, seconds, error text)."""
    from invrender.data.sfm import SfmOptions, run_sfm
    from invrender.errors import DataError

    t0 = time.perf_counter()
    try:
        report = run_sfm(photos, out, None, SfmOptions(progress=False, **opts))
        return report, time.perf_counter() - t0, ""
    except DataError as exc:
        return None, time.perf_counter() - t0, str(exc)


def errors(out: Path, truth: list) -> str:
    from invrender.data.transforms import read_transforms
    from tests.photo_helpers import camera_errors

    frames = read_transforms(out / "transforms.json")
    names = [f.image.stem for f in frames]
    chosen = [truth[int(n.split("_")[-1])] for n in names]
    e = camera_errors([f.camera for f in frames], chosen)
    return (
        f"rotation {e['rotation_deg']:.3f} deg, centre {100 * e['centre_frac']:.3f} %, "
        f"focal {100 * e['focal_rel']:.3f} %"
    )


def bench_large(args: argparse.Namespace, tmp: Path) -> None:
    w, h = (int(v) for v in args.size.split("x"))
    t0 = time.perf_counter()
    truth = render_large(tmp, args.views, (w, h), args.render, args.spp)
    print(
        f"{args.views} photos {w}x{h} ({w * h / 1e6:.1f} MP JPEG), made in "
        f"{time.perf_counter() - t0:.0f} s (rendered at {args.render} px, upsampled)"
    )
    base = None
    for size in args.max_image_size:
        out = tmp / f"ds_{size}"
        report, secs, err = run_cameras(tmp / "photos", out, max_image_size=size)
        base = base or secs
        if report is None:
            print(f"--max-image-size {size}: {secs:.1f} s, failed: {err}")
            continue
        stages = ", ".join(f"{k} {v:.1f}" for k, v in report.seconds.items())
        print(
            f"--max-image-size {size}: {secs:.1f} s (x{secs / base:.2f} of the first), "
            f"{report.registered}/{report.given} registered, reprojection "
            f"{report.reprojection_error:.3f} px; {errors(out, truth)}\n    stages: {stages}\n"
            f"    features: {report.features}"
        )


def bench_small(args: argparse.Namespace, tmp: Path) -> None:
    from tests.photo_helpers import photo_cameras, render_photos

    scene = object_on_black()
    for size in args.small_sizes:
        folder = tmp / f"small_{size}"
        cams = photo_cameras(args.views, size, size)
        render_photos(folder, cams, spp=args.spp, scene=scene)
        for upsample in args.upsample:
            out = tmp / f"ds_small_{size}_{upsample}"
            report, secs, err = run_cameras(folder, out, min_image_size=upsample)
            what = "as they are" if not upsample else f"upsampled to {upsample} px"
            if report is None:
                print(f"{size} px, features {what}: {secs:.0f} s, {err[:160]}")
            else:
                print(
                    f"{size} px, features {what}: {report.registered}/{report.given} "
                    f"registered in {secs:.0f} s; {errors(out, cams)}"
                )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--views", type=int, default=24)
    parser.add_argument("--size", default="4000x3000", help="photo size WxH")
    parser.add_argument("--render", type=int, default=1000, help="render width before upsampling")
    parser.add_argument("--spp", type=int, default=16)
    parser.add_argument("--max-image-size", type=int, nargs="+", default=[1600, 0])
    parser.add_argument("--small", action="store_true", help="the small-photo registration count")
    parser.add_argument("--small-sizes", type=int, nargs="+", default=[256, 512])
    parser.add_argument("--upsample", type=int, nargs="+", default=[0, 1024])
    parser.add_argument("--variant", default="llvm_ad_rgb")
    parser.add_argument("--keep", type=Path, help="work here instead of a temporary folder")
    args = parser.parse_args()

    from invrender.variant import select_variant

    select_variant(args.variant)
    with tempfile.TemporaryDirectory() as t:
        tmp = args.keep or Path(t)
        tmp.mkdir(parents=True, exist_ok=True)
        (bench_small if args.small else bench_large)(args, tmp)


if __name__ == "__main__":
    main()
