"""The default path, as a new user takes it, on the Cycles benchmark; one table.

For each object folder (a NeRF split rendered by Blender Cycles, see datasets/cycles_bench.md):

    invrender init OBJ --out cfg.yaml          # no edits
    invrender optimize cfg.yaml                # exports what output.export lists at the end
    invrender relight RUN ...                  # only when that command exists

and then one row: held-out PSNR over the object mask (``summary.json`` → ``psnr_masked``; when
the run writes no such key, the plain ``psnr`` is shown and labelled), full-image PSNR, relit
PSNR, symmetric Chamfer distance of the exported mesh to ``gt/mesh.ply`` as % of the ground
truth's bounding-box diagonal (``invrender.geometry.metrics``; both meshes are in the cameras'
world, which for these split folders is Blender's Z-up world, as the loader keeps it), genus
(run / ground truth), triangles, what was exported, wall time and the load average.

    python scripts/bench_default_path.py                                  # all four, full runs
    python scripts/bench_default_path.py --objects ring --out ring.md
    python scripts/bench_default_path.py --objects pen --iterations 40    # short: NOT the default
    python scripts/bench_default_path.py --known-sky   # init --sky gt/<training sky> --sky-up z

``--iterations N`` shrinks the whole schedule of init's config proportionally (iterations,
remesh points, coarse-to-fine, stages, texture stage) through ``--set``; the table marks such
rows, because they are not what a new user gets.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

OBJECTS = ("ring", "pen", "star", "vase")
RELIGHT_HDRI = "courtyard"


class LoadSampler:
    """The 1-minute load average every ``every`` seconds, in a thread."""

    def __init__(self, every: float = 15.0) -> None:
        self.samples: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(every,), daemon=True)

    def _run(self, every: float) -> None:
        while not self._stop.is_set():
            self.samples.append(os.getloadavg()[0])
            self._stop.wait(every)

    def __enter__(self) -> LoadSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def summary(self) -> str:
        if not self.samples:
            return "?"
        mean = sum(self.samples) / len(self.samples)
        return f"{mean:.1f} (max {max(self.samples):.1f})"


def invrender(*args: str, log: Path, timeout: float | None = None) -> int:
    """Run the CLI of this interpreter's invrender, appending its output to ``log``."""
    cmd = [sys.executable, "-m", "invrender.cli", *args]
    with log.open("a") as fh:
        fh.write(f"$ invrender {' '.join(args)}\n")
        fh.flush()
        proc = subprocess.run(cmd, stdout=fh, stderr=subprocess.STDOUT, timeout=timeout)
    return proc.returncode


def has_command(name: str) -> bool:
    cmd = [sys.executable, "-m", "invrender.cli", name, "--help"]
    return subprocess.run(cmd, capture_output=True).returncode == 0


def schedule_overrides(cfg: dict, iterations: int) -> list[str]:
    """``--set`` items that shrink init's whole schedule to ``iterations``."""
    total = int(cfg["optimize"]["iterations"])
    scale = iterations / total

    def at(value: int) -> int:
        return max(1, min(iterations - 1, round(value * scale)))

    sets = [f"optimize.iterations={iterations}"]
    geo = cfg.get("geometry") or {}
    remesh = geo.get("remesh") or {}
    if remesh.get("at"):
        sets.append(f"geometry.remesh.at={[at(v) for v in remesh['at']]}")
    c2f = geo.get("coarse_to_fine") or {}
    if c2f.get("until"):
        sets.append(f"geometry.coarse_to_fine.until={[at(v) for v in c2f['until']]}")
    for kind, value in (geo.get("stages") or {}).items():
        sets.append(f"geometry.stages.{kind}={at(value)}")
    if geo.get("texture"):
        sets.append(f"geometry.texture.at={at(geo['texture']['at'])}")
    if geo.get("eval_every"):
        sets.append(f"geometry.eval_every={max(1, at(geo['eval_every']))}")
    return [item for s in sets for item in ("--set", s)]


def exported_mesh(run: Path) -> Path | None:
    """The mesh a finished run exported for Mitsuba (None when it exported none)."""
    meshes = sorted((run / "export" / "mitsuba" / "meshes").glob("*.ply"))
    return meshes[0] if meshes else None


def gltf_errors(run: Path) -> str:
    """'0 errors' from the Khronos glTF validator on the exported GLB, when it is installed
    (``bash scripts/setup_gltf_validator.sh``, or $INVRENDER_GLTF_VALIDATOR: its folder)."""
    glb = run / "export" / "gltf" / "scene.glb"
    here = Path(__file__).resolve().parent / "gltf_validator"
    folder = Path(os.environ.get("INVRENDER_GLTF_VALIDATOR", here))
    installed = (folder / "node_modules" / "gltf-validator").is_dir() and shutil.which("node")
    if not glb.is_file() or not installed:
        return ""
    out = subprocess.run(
        ["node", str(folder / "validate.mjs"), str(glb)], capture_output=True, text=True
    )
    try:
        report = json.loads(out.stdout)
    except json.JSONDecodeError:
        return "validator failed"
    return f"{report.get('numErrors', '?')} errors"


def chamfer_percent(mesh: Path, gt: Path) -> tuple[float, float]:
    """(Chamfer as % of the GT bbox diagonal, normal consistency)."""
    from invrender.geometry.metrics import chamfer_and_normals
    from invrender.geometry.shapes import load_mesh

    chamfer, _, consistency = chamfer_and_normals(load_mesh(mesh), load_mesh(gt))
    return 100.0 * chamfer, consistency


def masked_psnr_from_eval(run: Path, obj: Path) -> float | None:
    """Held-out PSNR inside the object, measured here when the run's summary has none.

    The run's final renders (``eval/*_render.png``, 8-bit sRGB, at eval_spp) against the test
    photos (``test/<name>.png``), in linear RGB with peak 1 as the runs measure, over the
    pixels whose target alpha is >= 0.5, all held-out views pooled."""
    import imageio.v3 as iio
    import numpy as np

    from invrender.data.images import read_image, srgb_to_linear

    views_json = run / "eval" / "views.json"
    if not views_json.is_file():
        return None
    errors, count = 0.0, 0
    for view in json.loads(views_json.read_text())["views"]:
        photo = obj / "test" / f"{view['name']}.png"
        if not view.get("heldout") or not photo.is_file():
            continue
        target, alpha = read_image(photo)
        if alpha is None:
            return None
        render = iio.imread(run / "eval" / view["render"])[..., :3].astype(np.float64) / 255
        inside = alpha >= 0.5
        diff = np.clip(srgb_to_linear(render), 0, 1) - np.clip(target, 0, 1)
        errors += float(np.sum(diff[inside] ** 2))
        count += 3 * int(inside.sum())
    if count == 0:
        return None
    return float(10 * np.log10(count / errors)) if errors > 0 else float("inf")


def relight(run: Path, obj: Path, out: Path, log: Path) -> float | None:
    """Relit PSNR over the object mask (sRGB) through ``invrender relight``, test views under the
    benchmark's second HDRI."""
    targets = obj / "relight" / RELIGHT_HDRI
    envmap = obj / "gt" / f"envmap_{RELIGHT_HDRI}.exr"
    # The benchmark's world is Blender's (Z up): the sky turns with it (object.json's
    # mitsuba_to_world).
    args = ["relight", str(run), "--envmap", str(envmap), "--targets", str(targets), "--up", "z"]
    if invrender(*args, "--out", str(out), log=log) != 0:
        return None
    return relit_metric(out, "psnr_mask")


def relit_metric(out: Path, key: str) -> float | None:
    """One metric of ``relight.json`` in ``out`` (None when missing):
    ``psnr_mask``, or ``psnr_mask_scaled``, the relit PSNR after a per-channel gain on the
    render: what is left when the albedo/light scale, which photos under one unknown sky cannot
    fix, is forgiven."""
    path = out / "relight.json"
    if not path.is_file():
        return None
    value = json.loads(path.read_text()).get("metrics", {}).get(key)
    return float(value) if isinstance(value, (int, float)) else None


def _two_decimals(value: float | None) -> str:
    return f"{value:.2f}" if value is not None else ""


def collect_object(obj: Path, work: Path) -> dict:
    """The row of a finished object folder (``--collect``): its row.json, with the PSNR and
    Chamfer columns measured again from the run folder."""
    saved = json.loads((work / "row.json").read_text()) if (work / "row.json").is_file() else {}
    row = {**saved, **measure(obj, work / "run"), "object": obj.name}
    row["relit_scaled"] = _two_decimals(relit_metric(work / "relight", "psnr_mask_scaled"))
    return row


def measure(obj: Path, run: Path) -> dict:
    """The columns read from a finished run folder."""
    row: dict = {}
    summary_path = run / "summary.json"
    if not summary_path.is_file():
        return row
    summary = json.loads(summary_path.read_text())
    row["loop_s"] = summary.get("wall_time_s")
    if "psnr_masked" in summary:
        row["psnr_masked"] = f"{summary['psnr_masked']:.2f}"
    else:  # this build's summary has no masked PSNR: measure it from eval/ (marked *)
        own = masked_psnr_from_eval(run, obj)
        row["psnr_masked"] = f"{own:.2f}*" if own is not None else ""
    full = summary.get("psnr_full")
    if isinstance(full, (int, float)):
        row["psnr_full"] = f"{full:.2f}"
    elif isinstance(summary.get("psnr"), (int, float)):
        row["psnr_full"] = f"{summary['psnr']:.2f} (`psnr`)"
    geo = summary.get("geometry") or {}
    gt_info = json.loads((obj / "gt" / "object.json").read_text())
    row["genus"] = f"{geo.get('genus', '?')} / {gt_info.get('genus', '?')}"
    row["triangles"] = geo.get("triangles", "")
    row["exported"] = ", ".join(sorted((summary.get("exported") or {}).keys())) or "none"
    if summary.get("export_error"):
        row["exported"] += f" (error: {summary['export_error']})"
    errors = gltf_errors(run)
    if errors:
        row["exported"] += f" (GLB: {errors})"
    mesh = exported_mesh(run)
    if mesh is not None:
        chamfer, consistency = chamfer_percent(mesh, obj / "gt" / "mesh.ply")
        row["chamfer"] = f"{chamfer:.2f}"
        row["normals"] = f"{consistency:.3f}"
    return row


def training_sky(obj: Path) -> Path:
    """The sky the object's photos were rendered under, in Mitsuba's layout (``gt/``)."""
    meta = json.loads((obj / "gt" / "object.json").read_text())
    return obj / "gt" / meta["lighting"]["train_test"]["mitsuba_envmap"]


def bench_object(obj: Path, work: Path, iterations: int | None, known_sky: bool = False) -> dict:
    work.mkdir(parents=True, exist_ok=True)
    log = work / "log.txt"
    cfg_path, run = work / "cfg.yaml", work / "run"
    # A reused --work folder: an old relight/ would make relight refuse its --out and leave the
    # old relight.json to be read as this run's; an old log would be appended to.
    for stale in (cfg_path, run, work / "relight", log):
        if stale.is_dir():
            shutil.rmtree(stale)
        elif stale.exists():
            stale.unlink()
    row: dict = {"object": obj.name, "log": str(log)}
    start = time.perf_counter()
    sky = ["--sky", str(training_sky(obj)), "--sky-up", "z"] if known_sky else []
    if invrender("init", str(obj), "--out", str(cfg_path), *sky, log=log) != 0:
        return {**row, "error": "init failed"}
    import yaml

    cfg = yaml.safe_load(cfg_path.read_text())
    row["iterations"] = cfg["optimize"]["iterations"]
    extra: list[str] = []
    if iterations is not None:
        extra = schedule_overrides(cfg, iterations)
        row["iterations"] = f"{iterations} (short, default {cfg['optimize']['iterations']})"
    args = ["optimize", str(cfg_path), "--output", str(run), "--progress", "plain", *extra]
    with LoadSampler() as load:
        code = invrender(*args, log=log)
    row["wall_s"] = time.perf_counter() - start
    row["load"] = load.summary()
    if code != 0 or not (run / "summary.json").is_file():
        row["error"] = f"optimize exit {code}"
        if not (run / "summary.json").is_file():
            return row
    row.update(measure(obj, run))
    if has_command("relight"):
        psnr = relight(run, obj, work / "relight", log)
        row["relit"] = f"{psnr:.2f}" if psnr is not None else "failed"
        row["relit_scaled"] = _two_decimals(relit_metric(work / "relight", "psnr_mask_scaled"))
    (work / "row.json").write_text(json.dumps(row, indent=1))
    return row


COLUMNS = [
    ("object", "object"),
    ("iterations", "iterations"),
    ("psnr_masked", "held-out PSNR, object mask (dB)"),
    ("psnr_full", "held-out PSNR, full image (dB)"),
    ("relit", "relit PSNR (dB)"),
    ("relit_scaled", "relit PSNR, per-channel gain (dB)"),
    ("chamfer", "Chamfer (% bbox diag.)"),
    ("normals", "normal consistency"),
    ("genus", "genus (run / GT)"),
    ("triangles", "triangles"),
    ("exported", "exported"),
    ("wall_s", "wall time (s)"),
    ("loop_s", "of which loop (s)"),
    ("load", "load average (1 min, mean)"),
]


def table(rows: list[dict]) -> str:
    head = "| " + " | ".join(title for _, title in COLUMNS) + " |"
    rule = "|" + "---|" * len(COLUMNS)
    lines = [head, rule]
    for row in rows:
        cells = []
        for key, _ in COLUMNS:
            value = row.get(key, "")
            if key in ("wall_s", "loop_s") and isinstance(value, float):
                value = f"{value:.0f}"
            if key == "object" and row.get("error"):
                value = f"{value} ({row['error']})"
            cells.append(str(value))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("bench", nargs="?", type=Path, default=Path("/work/cycles_bench_data"))
    parser.add_argument("--objects", nargs="+", default=None, help=f"default: {OBJECTS}")
    parser.add_argument("--iterations", type=int, default=None, help="short runs (marked)")
    parser.add_argument("--work", type=Path, default=None, help="run folders (default /tmp/...)")
    parser.add_argument("--out", type=Path, default=None, help="write the table (markdown)")
    parser.add_argument(
        "--known-sky",
        action="store_true",
        help="init --sky with the photos' own sky (gt/): the upper bound a light probe gives",
    )
    parser.add_argument(
        "--collect", action="store_true", help="no runs: the table of the finished --work folder"
    )
    args = parser.parse_args()
    objects = args.objects or [o for o in OBJECTS if (args.bench / o).is_dir()]
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    work = args.work or Path("/tmp") / f"bench_default_path-{stamp}"
    rows = []
    started = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    for name in objects:
        print(f"[{name}] {work / name}", flush=True)
        if args.collect:
            row = collect_object(args.bench / name, work / name)
        else:
            row = bench_object(args.bench / name, work / name, args.iterations, args.known_sky)
        rows.append(row)
        print(table([row]), flush=True)
        text = render(rows, args, started, work)
        if args.out:
            args.out.write_text(text)
    print()
    print(render(rows, args, started, work))


def build_samples(bench: Path) -> str:
    """' (photos N spp, test and relit views M spp)' from the build's summary: scores against
    references of other sample counts are not comparable (their noise counts as error)."""
    try:
        settings = json.loads((bench / "build_summary.json").read_text())["settings"]
    except (OSError, ValueError, KeyError):
        return ""
    photos = settings.get("spp")
    references = settings.get("test_spp") or photos
    return f" (photos {photos} spp, test and relit views {references} spp)"


def render(rows: list[dict], args: argparse.Namespace, started: str, work: Path) -> str:
    short = (
        ""
        if args.iterations is None
        else (
            f"\n\n**Short runs: `--iterations {args.iterations}` (the schedule shrunk "
            "proportionally), not the default path.**\n"
        )
    )
    known = " with `--sky` set to the photos' own sky (`--known-sky`)" if args.known_sky else ""
    build = build_samples(args.bench)
    notes = (
        f"\n\nDefault path (`invrender init OBJ`{known} unedited → `invrender optimize`), "
        f"{args.bench}{build}, {'collected' if args.collect else 'started'} {started}, "
        f"{os.cpu_count()} CPUs, run folders in {work}."
        " Wall time: init + optimize (hull, loop, final evaluation, export). Load: the 1-minute"
        " load average sampled every 15 s during optimize (other jobs share the machine)."
        " PSNR marked * is measured by this script from the run's eval/ renders (8-bit sRGB)"
        " against the test photos over the pixels with alpha >= 0.5 (this build's summary.json"
        " has no `psnr_masked`); a full-image PSNR marked (`psnr`) is summary.json's plain"
        " `psnr` (with masks the sky is hidden, so both sides have a black background)."
        " GLB errors: the Khronos glTF validator's count, when it is installed." + short
    )
    return table(rows) + notes


if __name__ == "__main__":
    main()
