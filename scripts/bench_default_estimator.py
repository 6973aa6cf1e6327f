"""Which estimator should geometry and joint runs use by default? Equal-CPU-time runs.

For one config (a shipped one, or the config ``invrender init`` writes for a benchmark object)
this runs ``invrender optimize CONFIG --set integrator=...`` as a subprocess once per estimator
and measures each run's process CPU time (user + system, all threads, from
``getrusage(RUSAGE_CHILDREN)``), which is what a shared machine's load leaves comparable; wall
time and the load average are reported beside it.

The first estimator listed is the reference: it runs the config as it is. Each other estimator
first runs the same number of iterations ("equal iterations"); when its CPU time differs from the
reference's by more than ``--tolerance``, it runs again with its iteration count scaled by the
CPU ratio ("equal CPU"), and the whole schedule scaled with it: remesh points, coarse-to-fine
stage ends, ``geometry.stages``, the texture stage's start and ``eval_every`` (the same rule as
``bench_default_path.py --iterations``). The CPU time is the whole process's (start-up, the
final evaluation at ``eval_spp`` and the export included), so the scaled run gets slightly more
loop time than the reference when it is the dearer one, and slightly less when it is the cheaper.

Per run: final Chamfer (% of the reference mesh's bounding-box diagonal: ``summary.json`` when
the config has ``geometry.reference``, else the exported mesh against ``gt/mesh.ply`` of a
benchmark object), held-out PSNR inside the object mask and over the full image (summary.json's
``psnr_masked`` / ``psnr_full``), the final loss, iterations, CPU seconds, wall seconds, the
load average.

    python scripts/bench_default_estimator.py configs/shape.yaml --out shape.md
    python scripts/bench_default_estimator.py /work/cycles_bench_data/pen   # init, then the runs
    python scripts/bench_default_estimator.py configs/shape.yaml \\
        --estimators direct_projective_sppi0 direct_projective --probe 10    # cost only

``--iterations N`` shrinks the schedule of every run to N iterations first (the reference
included; rows marked "short"): a cheaper comparison that is not the config's.
``--probe N`` runs only the first N iterations of the config with each estimator (schedule
not scaled) and reports CPU seconds per iteration: the cost of an estimator too dear to run in
full. Runs export only ``mitsuba`` (the mesh is all the metrics need). Run it under ``nice``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_default_path import LoadSampler, chamfer_percent, exported_mesh, schedule_overrides

# Estimators by name: the integrator dict (hide_emitters is carried over from the config).
ESTIMATORS: dict[str, dict] = {
    # Ours with its own defaults for visibility: primary silhouettes and shadow edges (2 spp
    # shadow-edge samples per pixel); direct light only, as direct_projective.
    "edge_sampling": {"type": "edge_sampling", "max_depth": 2},
    # Ours without the shadow-edge term (what init wrote before issue 25).
    "edge_sampling_noshadow": {"type": "edge_sampling", "max_depth": 2, "shadow_edge_samples": 0},
    # Mitsuba's projective sampling as the shipped configs had it: no indirect-visibility terms.
    "direct_projective_sppi0": {"type": "direct_projective", "sppi": 0},
    # Mitsuba's defaults (sppi: 128 indirect-visibility samples per pixel).
    "direct_projective": {"type": "direct_projective"},
}


@dataclass
class Case:
    name: str
    config: Path
    object_dir: Path | None  # a benchmark object: Chamfer against its gt/mesh.ply
    cfg: dict = field(default_factory=dict)


def flow(value: dict) -> str:
    return "{" + ", ".join(f"{k}: {json.dumps(v)}" for k, v in value.items()) + "}"


def integrator_spec(name: str, cfg: dict) -> str:
    spec = dict(ESTIMATORS[name])
    base = cfg.get("integrator") or {}
    if isinstance(base, dict) and base.get("hide_emitters"):
        spec["hide_emitters"] = True
    return flow(spec)


def prepare(target: Path, work: Path) -> Case:
    """A config file as it is, or a benchmark object folder through ``invrender init``."""
    if target.is_dir():
        work.mkdir(parents=True, exist_ok=True)
        config = work / f"{target.name}.yaml"
        cmd = [sys.executable, "-m", "invrender.cli", "init", str(target), "--out", str(config)]
        subprocess.run(cmd, check=True, capture_output=True)
        case = Case(target.name, config, target)
    else:
        case = Case(target.stem, target, None)
    case.cfg = yaml.safe_load(case.config.read_text())
    return case


def run_once(case: Case, estimator: str, run: Path, sets: list[str]) -> dict:
    """One optimize subprocess; its CPU time, wall time, load and metrics."""
    args = [
        sys.executable,
        "-m",
        "invrender.cli",
        "optimize",
        str(case.config),
        "--output",
        str(run),
        "--progress",
        "plain",
        "--set",
        f"integrator={integrator_spec(estimator, case.cfg)}",
        "--set",
        "output.export=[mitsuba]",
        *sets,
    ]
    run.parent.mkdir(parents=True, exist_ok=True)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    with LoadSampler() as load, (run.parent / f"{run.name}.log").open("w") as log:
        code = subprocess.run(args, stdout=log, stderr=subprocess.STDOUT).returncode
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    row: dict = {
        "case": case.name,
        "estimator": estimator,
        "cpu_s": cpu,
        "wall_s": time.perf_counter() - start,
        "load": load.summary(),
        "run": str(run),
    }
    if code != 0:
        row["error"] = f"exit {code}"
    row.update(metrics(case, run))
    return row


def metrics(case: Case, run: Path) -> dict:
    path = run / "summary.json"
    if not path.is_file():
        return {}
    summary = json.loads(path.read_text())
    row: dict = {
        "iterations": summary.get("iterations"),
        "loop_s": summary.get("wall_time_s"),
        "psnr_masked": summary.get("psnr_masked"),
        "psnr_full": summary.get("psnr_full"),
        "final_loss": summary.get("final_loss"),
    }
    geo = summary.get("geometry") or {}
    if isinstance(geo.get("chamfer"), (int, float)):
        row["chamfer"] = 100.0 * float(geo["chamfer"])
    elif case.object_dir is not None and (mesh := exported_mesh(run)) is not None:
        row["chamfer"] = chamfer_percent(mesh, case.object_dir / "gt" / "mesh.ply")[0]
    row["triangles"] = geo.get("triangles")
    return row


def bench(
    case: Case,
    estimators: list[str],
    work: Path,
    tolerance: float,
    probe: int | None,
    iterations: int | None = None,
) -> list[dict]:
    total = int(case.cfg["optimize"]["iterations"])
    base: list[str] = []  # --iterations: every run on the shrunk schedule
    if iterations is not None:
        base, total = schedule_overrides(case.cfg, iterations), iterations
    rows = []
    if probe is not None:
        for name in estimators:
            sets = ["--set", f"optimize.iterations={probe}"]
            texture = (case.cfg.get("geometry") or {}).get("texture")
            if texture and int(texture["at"]) >= probe:  # not reached: validation refuses it
                sets += ["--set", "geometry.texture=null"]
            row = run_once(case, name, work / f"{name}-probe{probe}", sets)
            row["mode"] = f"probe: first {probe} iterations"
            row["cpu_per_it"] = row["cpu_s"] / probe
            rows.append(row)
            print(table([row]), flush=True)
        return rows
    reference = run_once(case, estimators[0], work / estimators[0], base)
    reference["mode"] = "reference (config as is)" if not base else f"reference ({total}: short)"
    rows.append(reference)
    print(table([reference]), flush=True)
    for name in estimators[1:]:
        row = run_once(case, name, work / name, base)
        row["mode"] = "equal iterations"
        rows.append(row)
        print(table([row]), flush=True)
        ratio = reference["cpu_s"] / row["cpu_s"]
        if abs(ratio - 1) <= tolerance:
            continue
        scaled = max(10, round(total * ratio))
        row = run_once(case, name, work / f"{name}-{scaled}", schedule_overrides(case.cfg, scaled))
        row["mode"] = f"equal CPU ({scaled} iterations instead of {total}, schedule scaled)"
        rows.append(row)
        print(table([row]), flush=True)
    return rows


COLUMNS = [
    ("case", "case"),
    ("estimator", "estimator"),
    ("mode", "run"),
    ("iterations", "iterations"),
    ("chamfer", "Chamfer (% bbox diag.)"),
    ("psnr_masked", "held-out PSNR, mask (dB)"),
    ("psnr_full", "held-out PSNR, full (dB)"),
    ("final_loss", "final loss"),
    ("cpu_s", "CPU (s)"),
    ("cpu_per_it", "CPU / it (s)"),
    ("wall_s", "wall (s)"),
    ("load", "load (1 min, mean)"),
]


def cell(key: str, value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        digits = {"chamfer": 3, "final_loss": 4, "cpu_per_it": 2}.get(key, 1)
        if key.startswith("psnr"):
            digits = 2
        if key in ("cpu_s", "wall_s"):
            digits = 0
        return f"{value:.{digits}f}"
    return str(value)


def table(rows: list[dict]) -> str:
    lines = [
        "| " + " | ".join(title for _, title in COLUMNS) + " |",
        "|" + "---|" * len(COLUMNS),
    ]
    for row in rows:
        cells = [cell(key, row.get(key)) for key, _ in COLUMNS]
        if row.get("error"):
            cells[1] += f" ({row['error']})"
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("target", type=Path, help="a config file, or a benchmark object folder")
    parser.add_argument(
        "--estimators",
        nargs="+",
        choices=sorted(ESTIMATORS),
        default=["direct_projective_sppi0", "edge_sampling"],
        help="the first is the reference (default: direct_projective_sppi0 edge_sampling)",
    )
    parser.add_argument("--tolerance", type=float, default=0.1, help="CPU ratio left unscaled")
    parser.add_argument(
        "--iterations", type=int, default=None, help="short: the schedule shrunk to N (marked)"
    )
    parser.add_argument("--probe", type=int, default=None, help="cost only: first N iterations")
    parser.add_argument("--work", type=Path, default=None, help="run folders (default /tmp/...)")
    parser.add_argument("--out", type=Path, default=None, help="append the table (markdown)")
    args = parser.parse_args()
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    work = args.work or Path("/tmp") / f"bench_default_estimator-{stamp}"
    case = prepare(args.target, work)
    started = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    rows = bench(
        case, args.estimators, work / case.name, args.tolerance, args.probe, args.iterations
    )
    text = (
        f"{table(rows)}\n\n{case.config}, started {started}, {os.cpu_count()} CPUs, "
        f"load at the end {os.getloadavg()[0]:.1f}; run folders under {work}\n"
    )
    print(text)
    (work / f"{case.name}.json").write_text(json.dumps(rows, indent=1))
    if args.out:
        with args.out.open("a") as fh:
            fh.write(text + "\n")


if __name__ == "__main__":
    main()
