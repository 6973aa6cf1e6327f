"""Score ``invrender cameras PHOTOS --masks auto`` on captures of scripts/make_capture_benchmark.py.

Runs the command as a user would (a subprocess, default options), then compares what it wrote
with the truth kept aside: photos registered; rotation and centre errors after aligning the
recovered cameras to the true ones by a similarity (median and worst; centre errors as a
fraction of the true mean camera distance from the cameras' centroid); the automatic masks' IoU
against the true object masks (median and worst view); wall time. One line per capture, the five
worst views of each, ``WORK/<capture>/score.json`` and ``worst.png`` (the worst-masked photos,
true outline green, ours red):

    python scripts/bench_capture.py datasets/capture_bench/vase datasets/capture_bench/mug \\
        [--work /tmp/capture_work] [-- --max-image-size 1024]

``--optimize`` then runs the capture end to end as a user would, twice: ``invrender init`` (no
edits) and ``invrender optimize`` on that dataset (``auto``: SfM cameras, automatic masks) and
on the same photos with the true cameras and true masks (``true``); it scores both (Chamfer
against the true mesh, held-out PSNR over the run's own and over the true masks; see
scripts/capture_e2e.py) and prints a table; ``WORK/<capture>/e2e/e2e_score.json`` and, for
all captures of the call, ``WORK/e2e_score.json``:

    nice -n 5 python scripts/bench_capture.py /work/capture_bench_data/vase --work W --optimize
    ... --work W --optimize --reuse --runs true     # keep W's cameras and its auto run
    ... --work W --optimize --reuse --runs          # no runs: score the finished ones again

Everything after ``--`` goes to ``invrender cameras``. ``--resize 4000x3000 --count 24`` scores
copies of the first 24 photos scaled to 12 MP (issue 26's timing; upsampled, so no detail beyond
the renders').
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MEDIAN_IOU, WORST_IOU = 0.95, 0.90  # issue 26's acceptance


def mask_iou(ours: Path, true: Path) -> float | None:
    """IoU of two mask images (> 127 is the object); None when their sizes differ (the photos
    were undistorted, so the masks are of other images)."""
    from PIL import Image

    a = np.asarray(Image.open(ours).convert("L")) > 127
    b = np.asarray(Image.open(true).convert("L")) > 127
    if a.shape != b.shape:
        return None
    union = int((a | b).sum())
    return float((a & b).sum() / union) if union else 1.0


def resized_capture(capture: Path, out: Path, size: tuple[int, int], count: int) -> Path:
    """The first ``count`` photos of ``capture`` scaled to ``size`` (bicubic, JPEG quality 90)
    with their true masks (bilinear, then halved) and cameras: large photos for timing, with
    no detail beyond the renders' own (say so when reporting them)."""
    from PIL import Image

    meta = json.loads((capture / "truth" / "transforms.json").read_text())
    meta["frames"] = meta["frames"][:count]
    meta["w"], meta["h"] = size
    (out / "photos").mkdir(parents=True)
    (out / "truth" / "masks").mkdir(parents=True)
    for frame in meta["frames"]:
        name = Path(frame["file_path"]).stem
        with Image.open(capture / "photos" / f"{name}.jpg") as im:
            im.resize(size, Image.Resampling.BICUBIC).save(
                out / "photos" / f"{name}.jpg", quality=90
            )
        with Image.open(capture / "truth" / "masks" / f"{name}.png") as im:
            soft = np.asarray(im.convert("L").resize(size, Image.Resampling.BILINEAR))
        Image.fromarray(((soft > 127) * 255).astype(np.uint8)).save(
            out / "truth" / "masks" / f"{name}.png"
        )
    (out / "truth" / "transforms.json").write_text(json.dumps(meta, indent=1))
    return out


def score(capture: Path, work: Path, extra: list[str], masks_only: bool = False) -> dict:
    from invrender.data.transforms import read_transforms
    from scripts.fixtures.alignment import pose_errors

    photos = sorted((capture / "photos").glob("*.jpg"))
    truth = {f.image.stem: f.camera for f in read_transforms(capture / "truth" / "transforms.json")}
    command = [sys.executable, "-m", "invrender.cli", "cameras", str(capture / "photos")]
    command += ["--out", str(work), "--masks", "auto", "--quiet", *extra]
    if masks_only:  # the cameras of an earlier run, new masks
        command = [sys.executable, "-m", "invrender.cli", "masks", str(work), "--replace"]
    t0 = time.perf_counter()
    run = subprocess.run(command, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    result: dict = {"capture": capture.name, "photos": len(photos), "seconds": round(seconds, 1)}
    if run.returncode != 0:
        result["error"] = (run.stderr.strip() or run.stdout.strip()).splitlines()[-1:]
        result["registered"] = 0
        return result
    (work / "cameras.log").write_text(run.stdout)
    meta = json.loads((work / "transforms.json").read_text())
    frames = read_transforms(work / "transforms.json")
    names = [f.image.stem for f in frames]
    rot, centre = pose_errors([f.camera for f in frames], [truth[n] for n in names])
    confidence = meta.get("invrender_masks", {}).get("iou_vs_hull", {})
    views = []
    for n, f, re, ce in zip(names, frames, rot, centre, strict=True):
        ours = work / "masks" / f"{n}.png"
        iou = mask_iou(ours, capture / "truth" / "masks" / f"{n}.png") if ours.is_file() else None
        views.append(
            {
                "photo": n,
                "rotation_deg": round(float(re), 4),
                "centre_frac": round(float(ce), 5),
                "mask_iou": None if iou is None else round(iou, 4),
                "iou_vs_hull": confidence.get(f.image.name),
            }
        )
    ious = [v["mask_iou"] for v in views if v["mask_iou"] is not None]
    result.update(
        registered=len(frames),
        rotation_deg={"median": float(np.median(rot)), "worst": float(rot.max())},
        centre_frac={"median": float(np.median(centre)), "worst": float(centre.max())},
        mask_iou=(
            {"median": float(np.median(ious)), "worst": float(min(ious)), "scored": len(ious)}
            if ious
            else None
        ),
        views=views,
    )
    return result


def worst_sheet(capture: Path, work: Path, views: list[dict], out: Path, count: int = 6) -> None:
    """The ``count`` worst-masked photos, 400 px wide: the true mask's outline green, the
    automatic mask's red, the name and IoU on top (what went wrong, at a glance)."""
    import cv2
    from PIL import Image, ImageDraw

    worst = sorted((v for v in views if v["mask_iou"] is not None), key=lambda v: v["mask_iou"])
    tiles = []
    for v in worst[:count]:
        photo = np.asarray(Image.open(work / "images" / f"{v['photo']}.jpg").convert("RGB"))
        s = 400 / photo.shape[1]
        size = (400, round(photo.shape[0] * s))
        tile = cv2.resize(photo, size, interpolation=cv2.INTER_AREA)
        for path, colour in (
            (capture / "truth" / "masks", (40, 255, 40)),
            (work / "masks", (255, 40, 40)),
        ):
            mask = np.asarray(Image.open(path / f"{v['photo']}.png").convert("L"))
            small = cv2.resize(mask, size, interpolation=cv2.INTER_AREA) > 127
            edge = small ^ cv2.erode(small.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
            tile[edge] = colour
        image = Image.fromarray(tile)
        ImageDraw.Draw(image).text(
            (4, 4), f"{v['photo']} IoU {v['mask_iou']:.3f}", fill=(255, 255, 0)
        )
        tiles.append(image)
    if not tiles:
        return
    sheet = Image.new("RGB", (3 * 400, -(-len(tiles) // 3) * tiles[0].height), (30, 30, 30))
    for k, t in enumerate(tiles):
        sheet.paste(t, ((k % 3) * 400, (k // 3) * tiles[0].height))
    sheet.save(out)


def line(r: dict) -> str:
    if "error" in r:
        return f"{r['capture']:<8} failed after {r['seconds']:.0f} s: {' '.join(r['error'])}"
    iou = r["mask_iou"]
    masks = (
        f"{iou['median']:.3f} / {iou['worst']:.3f}"
        + (f" ({iou['scored']} scored)" if iou["scored"] != r["registered"] else "")
        + ("  ok" if iou["median"] >= MEDIAN_IOU and iou["worst"] >= WORST_IOU else "  MISS")
        if iou
        else "not scored"
    )
    return (
        f"{r['capture']:<8} {r['registered']:>3}/{r['photos']:<3} "
        f"{r['rotation_deg']['median']:7.3f} / {r['rotation_deg']['worst']:<7.3f} "
        f"{100 * r['centre_frac']['median']:6.2f} / {100 * r['centre_frac']['worst']:<6.2f} "
        f"{masks:<24} {r['seconds']:6.0f}"
    )


def main() -> int:
    argv = sys.argv[1:]
    extra = argv[argv.index("--") + 1 :] if "--" in argv else []
    argv = argv[: argv.index("--")] if "--" in argv else argv
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("captures", type=Path, nargs="+", help="folders with photos/ and truth/")
    parser.add_argument("--work", type=Path, help="keep the datasets here (default: temporary)")
    parser.add_argument(
        "--resize", help="score copies of the photos scaled to WxH (e.g. 4000x3000: 12 MP)"
    )
    parser.add_argument("--count", type=int, default=0, help="only the first N photos")
    parser.add_argument(
        "--masks-only",
        action="store_true",
        help="keep the cameras in --work, make the masks again (invrender masks --replace)",
    )
    parser.add_argument(
        "--optimize",
        action="store_true",
        help="then init + optimize from these cameras and masks and from the true ones; score both",
    )
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="keep the cameras and masks already in --work (no `invrender cameras`)",
    )
    parser.add_argument(
        "--runs",
        nargs="*",
        choices=("auto", "true"),
        default=["auto", "true"],
        help="--optimize: which runs to do (the others' finished folders are scored again; "
        "none: score both again)",
    )
    parser.add_argument(
        "--iterations", type=int, help="--optimize: short runs (the schedule shrunk; not default)"
    )
    args = parser.parse_args(argv)
    if (args.masks_only or args.optimize or args.reuse) and not args.work:
        parser.error("--masks-only, --optimize and --reuse need --work (a folder to keep)")
    for c in args.captures:
        if not (c / "photos").is_dir() or not (c / "truth" / "transforms.json").is_file():
            parser.error(f"{c}: not a capture (needs photos/ and truth/transforms.json)")
    from PIL import Image

    results: list[dict] = []
    runs: list[dict] = []
    with tempfile.TemporaryDirectory() as tmp:
        work = args.work or Path(tmp)
        for c in args.captures:
            if args.resize or args.count:
                w, h = (int(v) for v in (args.resize or "0x0").split("x"))
                with Image.open(next((c / "photos").glob("*.jpg"))) as im:
                    size = (w, h) if w else im.size
                count = args.count or len(list((c / "photos").glob("*.jpg")))
                tag = f"{c.name}_{size[0]}x{size[1]}_{count}"
                c = resized_capture(c, work / "inputs" / tag, size, count)
            kept = work / c.name / "score.json"
            if args.reuse and kept.is_file():
                results.append(json.loads(kept.read_text()))
            else:
                results.append(score(c, work / c.name, extra, args.masks_only))
                if "views" in results[-1]:
                    kept.write_text(json.dumps(results[-1], indent=1))
                    worst_sheet(c, work / c.name, results[-1]["views"], work / c.name / "worst.png")
            if args.optimize and "error" not in results[-1]:
                from scripts.capture_e2e import bench_pair, table

                runs.append(
                    bench_pair(c, work / c.name, work / c.name / "e2e", args.iterations, args.runs)
                )
                print(table(runs[-1:]), flush=True)
    print(
        f"{'capture':<8} {'reg':>7} {'rot deg med/max':<17} {'centre % med/max':<15} "
        f"{'mask IoU med/worst':<24} {'wall s':>6}"
    )
    for r in results:
        print(line(r))
    for r in results:
        scored = [v for v in r.get("views", []) if v["mask_iou"] is not None]
        worst = sorted(scored, key=lambda v: v["mask_iou"])[:5]
        if worst:
            views = ", ".join(
                f"{v['photo']} {v['mask_iou']:.3f} (hull {v['iou_vs_hull']})" for v in worst
            )
            print(f"{r['capture']}: worst masks {views}")
    if runs:
        from scripts.capture_e2e import table

        print()
        print(table(runs))
        (args.work / "e2e_score.json").write_text(json.dumps(runs, indent=1))
    return 0 if all("error" not in r for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
