"""Per-iteration cost of invrender's optimization loop against a bare Mitsuba loop, one process.

    python scripts/bench_loop_overhead.py [--config configs/material_texture.yaml] [--iters 40]

Both loops optimize the same scene with the same renders (views, spp, loss, Adam, bounds); the
bare loop is what a user would write by hand with Mitsuba. Rounds alternate between the two so
that machine noise hits both alike; the medians are compared. Target: ratio <= 1.05.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import invrender  # noqa: F401  (points Dr.Jit at a working LLVM before it loads)

ROOT = Path(__file__).resolve().parent.parent


def bare_mitsuba_loop(session, iters: int) -> float:
    """Seconds per iteration of a hand-written Mitsuba loop on the session's scene."""
    import drjit as dr
    import mitsuba as mi
    import numpy as np

    cfg = session.config.optimize
    params = session.params
    groups = session.pipeline.groups
    opt = mi.ad.Adam(lr=cfg.params[0].lr)
    for g in groups:
        for k in g.keys:
            opt[k] = params[k]
    params.update(opt)
    rng = np.random.default_rng(0)
    train = session.dataset.train
    t0 = time.perf_counter()
    for it in range(iters):
        views = rng.choice(train, size=min(cfg.views_per_iter, len(train)), replace=False)
        loss = 0.0
        for slot, v in enumerate(views):
            img = mi.render(
                session.scene,
                params,
                sensor=session.sensors[v],
                integrator=session.integrator,
                spp=cfg.spp,
                seed=it * 31 + slot,
            )
            loss += dr.mean(dr.abs(img - session.targets[v]), axis=None)
        loss = loss / len(views)
        dr.backward(loss)
        opt.step()
        for g in groups:
            if g.spec.bounds:
                for k in g.keys:
                    opt[k] = dr.clip(opt[k], *g.spec.bounds)
        params.update(opt)
        _ = loss.array[0]  # read the loss back, as any loop that logs it does
    return (time.perf_counter() - t0) / iters


def invrender_loop(session, iters: int) -> float:
    """Seconds per iteration of invrender's Runner (metrics, progress bar; no final export)."""
    from invrender.run.runner import Runner

    class LoopOnly(Runner):
        def finish(self, status):
            return {}

    session.config.optimize.iterations = iters
    session.config.output.preview_every = 0
    session.config.output.checkpoint_every = 0
    with tempfile.TemporaryDirectory() as tmp:
        runner = LoopOnly(session, Path(tmp), progress=True)
        runner.start(resume=False)
        t0 = time.perf_counter()
        runner.run()
        return (time.perf_counter() - t0) / iters


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default=str(ROOT / "configs" / "material_texture.yaml"))
    ap.add_argument("--iters", type=int, default=40)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()

    from invrender.config.loader import load_config
    from invrender.run.session import prepare

    session = prepare(load_config(args.config), "llvm_ad_rgb", progress=False)
    bare_mitsuba_loop(session, 3)  # warm the kernel cache for both
    invrender_loop(session, 3)
    ours, bare = [], []
    for _ in range(args.rounds):
        bare.append(bare_mitsuba_loop(session, args.iters))
        ours.append(invrender_loop(session, args.iters))
    b, o = statistics.median(bare), statistics.median(ours)
    print(f"\nconfig: {args.config}  ({args.rounds} rounds of {args.iters} iterations)")
    print("| loop | ms / iteration (median) |\n|---|---|")
    print(f"| bare Mitsuba | {1000 * b:.2f} |\n| invrender | {1000 * o:.2f} |")
    print(f"ratio invrender / bare = {o / b:.3f} (target <= 1.05)")


if __name__ == "__main__":
    main()
