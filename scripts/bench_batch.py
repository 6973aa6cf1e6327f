"""What a batch costs on the local one-node SLURM (scripts/setup_slurm.sh), against plain runs.

    python scripts/bench_batch.py [--runs 6] [--iterations 30] [--resolution 32]

1. Overhead per job: from submission to the run's first iteration (metrics.csv appears; every
   iteration writes it here), for a SLURM array of ``--runs`` jobs, against the same time for
   ``invrender optimize`` started directly (process start, imports, scene, targets, kernels from
   the ~/.drjit cache). The difference is what SLURM + submitit add.
2. A ``--runs``-run sweep (optimize.seed = 0..runs-1) as one SLURM array, wall time until all are
   completed, against the same runs one after the other with ``invrender optimize``.

On a shared machine the absolute numbers move; the ratios of one invocation are what to compare.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scripts.fixtures.examples import tiny_example  # noqa: E402

INVRENDER = [sys.executable, "-m", "invrender.cli.main"]


def first_iteration_s(run_dir: Path, t0: float, timeout: float = 600) -> float:
    metrics = run_dir / "metrics.csv"
    while not metrics.exists():
        if time.time() - t0 > timeout:
            raise TimeoutError(f"no first iteration in {run_dir}")
        time.sleep(0.02)
    return time.time() - t0


def direct_first_iteration(cfg: Path, out: Path) -> float:
    t0 = time.time()
    cmd = [*INVRENDER, "optimize", str(cfg), "--quiet", "--output", str(out)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    dt = first_iteration_s(out, t0)
    proc.wait()
    return dt


def slurm_batch(cfg: Path, out: Path, runs: int) -> tuple[list[float], float]:
    """Per-run submission-to-first-iteration times and the whole array's wall time."""
    from invrender.batch.status import batch_states

    seeds = ",".join(str(i) for i in range(runs))
    t0 = time.time()
    cmd = [*INVRENDER, "batch", "run", str(cfg), "--sweep", f"optimize.seed={seeds}"]
    subprocess.run(
        [*cmd, "--executor", "slurm", "--out", str(out)], check=True, capture_output=True
    )
    names = [r["name"] for r in json.loads((out / "batch.json").read_text())["runs"]]
    firsts = [first_iteration_s(out / "runs" / n, t0) for n in names]
    while not all(s.state in ("completed", "failed") for s in batch_states(out)):
        time.sleep(0.2)
    wall = time.time() - t0
    failed = [s.name for s in batch_states(out) if s.state != "completed"]
    if failed:
        raise RuntimeError(f"runs failed: {failed}; see {out}/logs")
    return firsts, wall


def sequential(cfg: Path, out: Path, runs: int) -> float:
    t0 = time.time()
    for i in range(runs):
        cmd = [*INVRENDER, "optimize", str(cfg), "--quiet", "--output", str(out / f"seed-{i}")]
        subprocess.run([*cmd, "--set", f"optimize.seed={i}"], check=True, capture_output=True)
    return time.time() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=6)
    ap.add_argument("--iterations", type=int, default=30)
    ap.add_argument("--resolution", type=int, default=32)
    args = ap.parse_args()
    from invrender.config.loader import load_config
    from invrender.run.session import ensure_targets
    from invrender.variant import select_variant

    select_variant("auto")
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        cfg = tiny_example(
            tmp_path,
            "material_texture",
            optimize__iterations=args.iterations,
            optimize__eval_spp=16,
            output__preview_every=1,  # metrics.csv at the first iteration: the timing mark
            output__checkpoint_every=0,
            output__export=[],
        )
        data = cfg.read_text().replace("resolution: 32", f"resolution: {args.resolution}")
        cfg.write_text(data)
        ensure_targets(load_config(cfg), progress=False)
        direct_first_iteration(cfg, tmp_path / "warm")  # fills the kernel cache for both sides
        direct = [direct_first_iteration(cfg, tmp_path / f"direct-{i}") for i in range(3)]
        firsts, wall = slurm_batch(cfg, tmp_path / "batch", args.runs)
        seq = sequential(cfg, tmp_path / "seq", args.runs)
    d = sorted(direct)[1]
    f = sorted(firsts)
    print(f"direct `invrender optimize`, start to first iteration (median of 3): {d:.2f} s")
    print(
        f"SLURM array of {args.runs}, submission to first iteration: min {f[0]:.2f} s, "
        f"median {f[len(f) // 2]:.2f} s, max {f[-1]:.2f} s"
    )
    print(f"  overhead of SLURM + submitit per job (min - direct): {f[0] - d:.2f} s")
    print(f"{args.runs}-run sweep ({args.iterations} it, {args.resolution} px):")
    print(f"  as one SLURM array: {wall:.1f} s wall")
    print(f"  one after the other: {seq:.1f} s wall  (array / sequential = {wall / seq:.2f})")


if __name__ == "__main__":
    main()
