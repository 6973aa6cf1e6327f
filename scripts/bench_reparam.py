#!/usr/bin/env python
"""Error-vs-time of `reparam` against `prb_projective` on the shadow and glossy scenes.

A quick table at a few spp against one finite-difference reference (the noise-corrected
equal-time comparison is scripts/bench_integrators.py --rfilter gaussian). Also prints the
cost of one auxiliary ray, for camera/BSDF warps and for shadow-ray warps separately (time
difference between two ray counts at equal spp).

    python scripts/bench_reparam.py --res 32
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def timed(fd, loaded, config: dict, spp: int, seed: int = 1) -> tuple[np.ndarray, float]:
    """Derivative image and the wall time of one warm render with one integrator object.

    A fresh integrator per call would add its tracing (about 1 s) to every timing.
    """
    integ = fd.make_integrator(config)
    fd.forward_derivative(loaded, integ, spp=spp, seed=seed + 100)  # warm-up (compile)
    start = time.perf_counter()
    img = fd.forward_derivative(loaded, integ, spp=spp, seed=seed)
    return img, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--res", type=int, default=32)
    parser.add_argument("--scenes", nargs="*", default=["shadow", "glossy_reflection"])
    parser.add_argument("--spps", type=int, nargs="*", default=[8, 32, 128])
    parser.add_argument("--fd-passes", type=int, default=16)
    args = parser.parse_args()

    from invrender.variant import select_variant

    select_variant("llvm_ad_rgb")
    from fixtures import fd, scenes

    print("| scene | integrator | spp | rel. L2 error (blur 1) | loss-grad error | time [s] |")
    print("|---|---|---|---|---|---|")
    for name in args.scenes:
        spec = scenes.build(name, res=args.res, rfilter="gaussian")
        loaded = fd.load(spec)
        ref = fd.fd_derivative(loaded, 0.01, spp=1024, seed=7, passes=args.fd_passes)
        weights = fd.loss_weights(ref.shape)
        depth = spec.max_depth
        configs = {
            "prb_projective": {"type": "prb_projective", "max_depth": depth},
            "reparam": {
                "type": "reparam",
                "max_depth": depth,
                "reparam_moving_shadows": "estimate",
            },
        }
        for label, config in configs.items():
            for spp in args.spps:
                img, secs = timed(fd, loaded, config, spp)
                err = fd.relative_error(img, ref, blur=1)
                loss = fd.scalar_relative_error(
                    fd.image_loss_gradient(img, weights), fd.image_loss_gradient(ref, weights)
                )
                print(f"| {name} | {label} | {spp} | {err:.3f} | {loss:.3f} | {secs:.2f} |")
        # Cost per auxiliary ray, per kind of warp: same spp, two ray counts.
        spp = args.spps[0]
        samples = args.res * args.res * spp
        for key, low, high, sites in (
            ("reparam_rays", 4, 16, "camera and BSDF warps, position field"),
            ("reparam_shadow_rays", 2, 8, "shadow-ray warps, outline field"),
        ):
            t = {
                rays: timed(fd, loaded, {**configs["reparam"], key: rays}, spp)[1]
                for rays in (low, high)
            }
            per_ray = (t[high] - t[low]) / ((high - low) * samples)
            print(
                f"\n{name}: {key} {low} -> {high} at {spp} spp: {t[low]:.2f} s -> "
                f"{t[high]:.2f} s = {per_ray * 1e9:.0f} ns per unit of {key} per path "
                f"sample ({sites})"
            )
        print()


if __name__ == "__main__":
    main()
