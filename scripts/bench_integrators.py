#!/usr/bin/env python
"""Compare differentiable integrators on the reference scenes, in one process.

For each scene: a central finite-difference reference (path tracer, correlated seeds, high
spp), then for each integrator the forward-mode derivative image at equal spp and at equal
time (the budget is ``direct_projective``'s time at equal spp). Prints a markdown table of
relative L2 error of the derivative image, relative error of the scalar gradient of a fixed
random-weight loss, and warm wall time. Integrators whose plugin is not registered (e.g.
``reparam`` before it is merged) are skipped with a note.

    PYTHONPATH=$PWD python scripts/bench_integrators.py --res 32 --spp 16
"""

from __future__ import annotations

import argparse
import time

import numpy as np

CANDIDATES = ["edge_sampling", "reparam", "direct_projective", "prb_projective", "prb"]
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
    from invrender.integrators import fd

    integ = fd.make_integrator(config)
    start = time.perf_counter()
    img = fd.forward_derivative(loaded, integ, spp=spp, seed=seed)
    return img, time.perf_counter() - start


def bench_scene(name: str, integrators: list[str], args) -> list[dict]:
    from invrender.integrators import fd, scenes

    spec = scenes.build(name, res=args.res)
    loaded = fd.load(spec)
    passes = max(1, args.fd_spp // 1024)
    ref = fd.fd_derivative(
        loaded, args.h, spp=min(args.fd_spp, 1024), seed=args.seed + 99, passes=passes
    )
    weights = fd.loss_weights(ref.shape)
    g_ref = fd.image_loss_gradient(ref, weights)
    rows = []
    times = {}
    for integ in integrators:
        config = {"type": integ, "max_depth": spec.max_depth}
        timed_forward(loaded, config, args.spp, args.seed + 1)  # warm up the kernel cache
        img, t = timed_forward(loaded, config, args.spp, args.seed)
        times[integ] = t
        rows.append(
            dict(
                scene=name,
                integrator=integ,
                mode="equal spp",
                spp=args.spp,
                err=fd.relative_error(img, ref),
                gerr=fd.scalar_relative_error(fd.image_loss_gradient(img, weights), g_ref),
                time=t,
            )
        )
    budget = times.get("direct_projective", max(times.values()))
    for integ in integrators:
        spp = int(max(1, round(args.spp * budget / max(times[integ], 1e-6))))
        spp = min(spp, args.max_spp)
        config = {"type": integ, "max_depth": spec.max_depth}
        img, t = timed_forward(loaded, config, spp, args.seed + 7)
        rows.append(
            dict(
                scene=name,
                integrator=integ,
                mode="equal time",
                spp=spp,
                err=fd.relative_error(img, ref),
                gerr=fd.scalar_relative_error(fd.image_loss_gradient(img, weights), g_ref),
                time=t,
            )
        )
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variant", default="llvm_ad_rgb")
    parser.add_argument("--scenes", nargs="*", default=DEFAULT_SCENES)
    parser.add_argument("--integrators", nargs="*", default=CANDIDATES)
    parser.add_argument("--res", type=int, default=32)
    parser.add_argument("--spp", type=int, default=16)
    parser.add_argument("--max-spp", type=int, default=4096)
    parser.add_argument("--fd-spp", type=int, default=4096)
    parser.add_argument("--h", type=float, default=0.01)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    from invrender.variant import select_variant

    select_variant(args.variant)
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
    print("## All scenes\n")
    print(markdown(rows))


if __name__ == "__main__":
    main()
