#!/usr/bin/env python
"""Compare differentiable integrators on the reference scenes, in one process.

For each scene: a central finite-difference reference (path tracer, correlated seeds, high
spp), then for each integrator the forward-mode derivative image at equal spp and at equal
time (the budget is ``direct_projective``'s time at equal spp). Prints a markdown table of
relative L2 error of the derivative image (less the finite-difference reference's own noise,
estimated from two independent halves), relative error of the scalar gradient of a fixed
random-weight loss, and warm wall time. Integrators whose plugin is not registered (e.g.
``reparam`` before it is merged) are skipped with a note.

    python scripts/bench_integrators.py --res 32 --spp 16                    # box filter
    python scripts/bench_integrators.py --rfilter gaussian --scenes shadow   # with reparam

``--efficiency`` prints the issue-17 table instead: equal-spp error, cosine with finite
differences, time, reverse-mode spread across seeds and equal-time efficiency
(err_B^2 t_B) / (err^2 t) against the baseline, on ball_shadow (box, sample_border),
smooth_silhouette (box), glossy_scaling (gaussian), and since issue 25
smooth_silhouette_wide (box) and emitter_sphere (gaussian, sample_border). Times there are
process CPU time (all threads; the integrators interleaved, best of ``--repeats``):

    python scripts/bench_integrators.py --efficiency --res 64 --spp 16 --fd-spp 65536 --seeds 4
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import invrender  # noqa: F401  (first: points Dr.Jit at a working LLVM before Mitsuba loads it)

CANDIDATES = ["edge_sampling", "reparam", "direct_projective", "prb_projective", "prb"]
# Whose equal-spp error each of our integrators is timed to reach.
BASELINES = {"edge_sampling": "direct_projective", "reparam": "prb_projective"}
# The bench measures what an integrator computes, also where it refuses by default.
MEASURE = {"reparam": {"reparam_moving_shadows": "estimate"}}
DEFAULT_SCENES = [
    "silhouette",
    "scaling_envmap",
    "shadow",
    "albedo",
    "light_intensity",
    "camera_translation",
]


def available(name: str) -> bool:
    import mitsuba as mi

    try:
        mi.load_dict({"type": name})
        return True
    except Exception:
        return False


def timed_forward(loaded, config: dict, spp: int, seed: int) -> tuple[np.ndarray, float]:
    """Derivative image and its wall time: the fastest of up to 15 runs or 1.5 s of runs.

    Runs of a few tens of milliseconds vary by +-30 % on a shared CPU; the minimum over
    many is the stable estimate of what one render costs.
    """
    from fixtures import fd

    integ = fd.make_integrator(config)
    best, spent, img = float("inf"), 0.0, None
    for _ in range(15):
        start = time.perf_counter()
        img = fd.forward_derivative(loaded, integ, spp=spp, seed=seed)
        elapsed = time.perf_counter() - start
        best, spent = min(best, elapsed), spent + elapsed
        if spent > 1.5:
            break
    return img, best


def bench_scene(name: str, integrators: list[str], args) -> list[dict]:
    from fixtures import fd, scenes

    spec = scenes.build(name, res=args.res, rfilter=args.rfilter)
    loaded = fd.load(spec)
    # Two independent halves: their difference measures the reference's own noise, which
    # fd.noise_corrected_error removes from every error below.
    passes = max(1, args.fd_spp // 2048)
    half_a, half_b = (
        fd.fd_derivative(
            loaded,
            args.h or 0.01,
            spp=min(args.fd_spp // 2, 1024),
            seed=args.seed + 99 + k,
            passes=passes,
        )
        for k in (0, 1000)
    )
    ref = 0.5 * (half_a + half_b)
    ref_noise = fd.relative_error(half_a, half_b) / 2.0
    print(f"{name}: finite-difference reference noise (relative L2) {ref_noise:.3f}", flush=True)
    weights = fd.loss_weights(ref.shape)
    g_ref = fd.image_loss_gradient(ref, weights)

    def measure(integ: str, spp: int, mode: str) -> dict:
        config = {"type": integ, "max_depth": spec.max_depth, **MEASURE.get(integ, {})}
        timed_forward(loaded, config, spp, args.seed + 1)  # compile kernels for this spp
        img, t = timed_forward(loaded, config, spp, args.seed)
        return dict(
            scene=name,
            integrator=integ,
            mode=mode,
            spp=spp,
            err=fd.noise_corrected_error(img, half_a, half_b),
            gerr=fd.scalar_relative_error(fd.image_loss_gradient(img, weights), g_ref),
            time=t,
        )

    rows = [measure(integ, args.spp, "equal spp") for integ in integrators]
    times = {r["integrator"]: r["time"] for r in rows}
    budget = times.get("direct_projective", max(times.values()))
    for integ in integrators:
        # Two rounds of rescaling spp to the time budget (fixed costs make it non-linear).
        spp = args.spp
        for _ in range(2):
            spp = int(min(args.max_spp, max(1, round(spp * budget / max(times[integ], 1e-6)))))
            row = measure(integ, spp, "equal time")
            times[integ] = row["time"]
            if abs(row["time"] / budget - 1.0) < 0.25:
                break
        rows.append(row)
    # Time to reach the projective baseline's equal-spp error (the targets compare
    # edge_sampling with direct_projective and reparam with prb_projective): double spp until
    # the error is reached, halve while it still is, then try one 3/4 step.
    equal = {r["integrator"]: r for r in rows if r["mode"] == "equal spp"}
    for integ, base in BASELINES.items():
        if integ not in equal or base not in equal:
            continue
        goal = equal[base]["err"]
        spp, row = args.spp, equal[integ]
        while row["err"] > goal and spp * 2 <= args.max_spp:
            spp *= 2
            row = measure(integ, spp, "equal spp")
        while row["err"] <= goal and spp >= 2:
            lower = measure(integ, spp // 2, "equal spp")
            if lower["err"] > goal:
                break
            spp, row = spp // 2, lower
        if row["err"] <= goal and 1 <= spp * 3 // 4 < spp:
            finer = measure(integ, spp * 3 // 4, "equal spp")
            if finer["err"] <= goal:
                spp, row = spp * 3 // 4, finer
        rows.append(dict(row, mode="reach baseline err" if row["err"] <= goal else "not reached"))
    return rows


def markdown(rows: list[dict]) -> str:
    lines = [
        "| scene | integrator | mode | spp | rel. L2 err (image) | rel. err (loss grad) "
        "| time (s) |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['scene']} | {r['integrator']} | {r['mode']} | {r['spp']} | "
            f"{r['err']:.3f} | {r['gerr']:.3f} | {r['time']:.3f} |"
        )
    return "\n".join(lines)


def summary(rows: list[dict]) -> str:
    """Per scene: measured time to reach the baseline's equal-spp error, and cost vs prb."""
    lines = [
        "| scene | integrator | baseline | spp to reach the baseline's err | err | time (s) "
        "| time / baseline's time | equal-spp time / prb's |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for scene in dict.fromkeys(r["scene"] for r in rows):
        eq = {r["integrator"]: r for r in rows if r["scene"] == scene and r["mode"] == "equal spp"}
        prb = eq.get("prb")
        for r in rows:
            if r["scene"] != scene or r["mode"] not in ("reach baseline err", "not reached"):
                continue
            name = r["integrator"]
            base = BASELINES[name]
            reached = r["mode"] == "reach baseline err"
            ratio = f"{r['time'] / eq[base]['time']:.2f}" if reached else "not reached"
            cost = f"{eq[name]['time'] / prb['time']:.2f}" if prb else "n/a"
            spp = str(r["spp"]) if reached else f"> {r['spp']}"
            lines.append(
                f"| {scene} | {name} | {base} | {spp} | {r['err']:.3f} | {r['time']:.3f} "
                f"| {ratio} | {cost} |"
            )
    return "\n".join(lines)


# Issue 17: scenes the integrators were not tuned on.
# (scene, builder kwargs, finite-difference step, [(ours, baseline)])
# smooth_silhouette's step is 5x smaller: on a box film the derivative image of a moving
# outline has a jump wherever the outline crosses a pixel column, and a central difference
# of step h smears that jump over the pixels the outline passes within h of (at h = 0.005,
# 0.15 px, it held a shared ~0.11 error floor under every integrator, 95 % of it in 18
# pixels along near-vertical stretches of the outline).
EFFICIENCY_SCENES = [
    (
        "ball_shadow",
        {"rfilter": "box", "sample_border": True},
        0.005,
        [("edge_sampling", "direct_projective"), ("reparam", "prb_projective")],
    ),
    (
        "smooth_silhouette",
        {"rfilter": "box"},
        0.001,
        [("edge_sampling", "direct_projective"), ("reparam", "prb_projective")],
    ),
    (
        "glossy_scaling",
        {"rfilter": "gaussian"},
        0.005,
        [("edge_sampling", "direct_projective"), ("reparam", "prb_projective")],
    ),
    # Issue 25: smooth_silhouette with a 20 x 20 emissive wall and a ceiling light out of
    # view (long emitter edges that never reach the picture).
    (
        "smooth_silhouette_wide",
        {"rfilter": "box"},
        0.001,
        [("edge_sampling", "direct_projective")],
    ),
    # Issue 25: a smooth-normal emissive sphere with split seams (as sphere.obj) on black.
    (
        "emitter_sphere",
        {"rfilter": "gaussian", "sample_border": True},
        0.001,
        [("edge_sampling", "direct_projective")],
    ),
]


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    a, b = np.ravel(a), np.ravel(b)
    return float(a @ b / max(np.linalg.norm(a) * np.linalg.norm(b), 1e-30))


def efficiency_table(args) -> str:
    """Equal-spp errors, cosines, times, reverse-mode spreads and equal-time efficiency.

    Efficiency of A against baseline B = (err_B^2 t_B) / (err_A^2 t_A): how much less
    variance A reaches in B's time (Monte Carlo error^2 falls as 1 / time).
    """
    from fixtures import fd, scenes

    lines = [
        "| scene | film | FD step | integrator | spp | rel. L2 err | cosine | time (s) "
        "| reverse spread | baseline | efficiency vs baseline |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, kwargs, fd_h, pairs in EFFICIENCY_SCENES:
        if args.scenes and name not in args.scenes:
            continue
        spec = scenes.build(name, res=args.res, **kwargs)
        loaded = fd.load(spec)
        passes = max(1, args.fd_spp // 2048)
        fd_h = fd_h if args.h is None else args.h
        half_a, half_b = (
            fd.fd_derivative(
                loaded,
                fd_h,
                spp=min(args.fd_spp // 2, 1024),
                seed=args.seed + 99 + k,
                passes=passes,
            )
            for k in (0, 1000)
        )
        ref = 0.5 * (half_a + half_b)
        weights = fd.loss_weights(ref.shape)
        g_ref = fd.image_loss_gradient(ref, weights)
        film = kwargs["rfilter"] + (", border" if kwargs.get("sample_border") else "")
        results = {}
        integrators = {}
        for integ in dict.fromkeys(x for pair in pairs for x in pair):
            if not available(integ):
                continue
            config = {"type": integ, "max_depth": spec.max_depth, **MEASURE.get(integ, {})}
            integrator = integrators[integ] = fd.make_integrator(config)
            fd.forward_derivative(loaded, integrator, spp=args.spp, seed=args.seed + 1)  # compile
            img = fd.forward_derivative(loaded, integrator, spp=args.spp, seed=args.seed)
            grads = [
                fd.reverse_gradient(loaded, integrator, weights, spp=args.spp, seed=args.seed + s)
                for s in range(args.seeds)
            ]
            results[integ] = dict(
                err=fd.noise_corrected_error(img, half_a, half_b),
                cos=cosine(img, ref),
                time=float("inf"),
                spread=float(np.std(grads) / abs(g_ref)),
                mean=float(np.mean(grads) / g_ref),
            )
        # Process CPU time (all threads), the integrators interleaved, best of the repeats:
        # on a shared machine wall time measures the neighbours' load, CPU time what a
        # derivative costs.
        for rep in range(args.repeats):
            for integ, integrator in integrators.items():
                start = time.process_time()
                fd.forward_derivative(loaded, integrator, spp=args.spp, seed=args.seed + rep)
                spent = time.process_time() - start
                results[integ]["time"] = min(results[integ]["time"], spent)
        for integ, r in results.items():
            print(name, integ, r, flush=True)
        for ours, base in pairs:
            for integ, baseline in ((base, None), (ours, base)):
                r = results.get(integ)
                if r is None:
                    continue
                eff = "-"
                if baseline in results:
                    b = results[baseline]
                    eff = (
                        f"{(b['err'] ** 2 * b['time']) / max(r['err'] ** 2 * r['time'], 1e-30):.1f}"
                    )
                lines.append(
                    f"| {name} | {film} | {fd_h:g} | {integ} | {args.spp} "
                    f"| {r['err']:.3f} | {r['cos']:.3f} "
                    f"| {r['time']:.2f} | {r['spread']:.3f} (mean {r['mean']:.3f}) "
                    f"| {baseline or '-'} | {eff} |"
                )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variant", default="llvm_ad_rgb")
    parser.add_argument("--scenes", nargs="*", default=DEFAULT_SCENES)
    parser.add_argument("--integrators", nargs="*", default=CANDIDATES)
    parser.add_argument("--res", type=int, default=32)
    parser.add_argument("--spp", type=int, default=16)
    parser.add_argument("--max-spp", type=int, default=1024)
    parser.add_argument("--fd-spp", type=int, default=65536)
    parser.add_argument(
        "--h",
        type=float,
        default=None,
        help="finite-difference step (default 0.01; --efficiency: each scene's own)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rfilter", default="box", choices=["box", "tent", "gaussian"])
    parser.add_argument(
        "--efficiency",
        action="store_true",
        help="issue-17 table: equal-time efficiency, cosine and reverse spread on "
        "ball_shadow / smooth_silhouette / glossy_scaling (64 px, their own filters)",
    )
    parser.add_argument("--seeds", type=int, default=8, help="reverse-mode seeds (--efficiency)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs (--efficiency)")
    args = parser.parse_args()

    from invrender.variant import select_variant

    select_variant(args.variant)
    if args.efficiency:
        if args.scenes == DEFAULT_SCENES:
            args.scenes = []
        print(efficiency_table(args))
        return
    integrators = []
    for name in args.integrators:
        if available(name):
            integrators.append(name)
        else:
            print(f"note: integrator {name!r} is not registered in this checkout; skipped")
    rows: list[dict] = []
    for scene in args.scenes:
        rows += bench_scene(scene, integrators, args)
        print(markdown([r for r in rows if r["scene"] == scene]), flush=True)
        print()
        print(summary([r for r in rows if r["scene"] == scene]), flush=True)
        print()
    print("## All scenes\n")
    print(markdown(rows))
    print("\n## Time to reach the baseline's error (measured)\n")
    print(summary(rows))


if __name__ == "__main__":
    main()
