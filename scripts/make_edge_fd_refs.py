#!/usr/bin/env python
"""Regenerate tests/data/edge_fd_refs.npz: central finite-difference derivative images.

One entry per reference scene used by tests/test_edge_sampling.py (path tracer, same seeds
on both sides of the difference, 4 x 1024 spp at 32 x 32 px, step h = 0.01), plus the
silhouette scene with a gaussian filter and ``sample_border``, and the ball-shadow scenes
(box filter, ``sample_border``), for which direct_projective's reverse-mode spread across
seeds is stored too (``dp_spread_<case>``), and the issue-25 meshes seen directly
(``NOISE_CASES``: step 0.005, two halves, their noise stored as ``noise_<case>``; used by
tests/test_edge_smooth_meshes.py). Takes a few minutes on 2 cores.

    PYTHONPATH=$PWD python scripts/make_edge_fd_refs.py              # all cases
    PYTHONPATH=$PWD python scripts/make_edge_fd_refs.py ball_shadow  # only these, keep others
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

CASES = {
    "silhouette": {},
    "scaling_envmap": {},
    "shadow": {},
    "albedo": {},
    "light_intensity": {},
    "camera_translation": {},
    "shadow_receiver": {},
    "silhouette_gaussian_border": {"rfilter": "gaussian", "sample_border": True},
    # Issue 17: a ball's soft shadow under a one-sided light facing down, and variations.
    "ball_shadow": {},
    "ball_shadow_two_sided": {"two_sided": True},
    "ball_shadow_light_visible": {"light_visible": True},
    "ball_shadow_blocker_visible": {"blocker_visible": True},
    # Issue 25: a smooth-normal emissive sphere with split seam vertices (as an OBJ file
    # loads) translating, scaling, and under a moving camera; gaussian filter, border.
    "emitter_sphere": {},
    "emitter_sphere_scale": {},
    "emitter_sphere_camera": {},
    # Issue 25: a flat emissive quad half out of the view (Mitsuba's rectangle on black).
    "emitter_quad": {},
}
# Cases averaged over many seeds in the tests: a smaller step (the derivative image of a
# gaussian film is smooth over a pixel), two independent halves of PASSES_HALF passes each,
# and the halves' relative difference stored as ``noise_<case>`` (the reference's noise).
NOISE_CASES = {
    "emitter_sphere": 0.005,
    "emitter_sphere_scale": 0.005,
    "emitter_sphere_camera": 0.005,
    "emitter_quad": 0.005,
}
PASSES_HALF = 8
# Cases whose reverse-mode spread across seeds is also recorded for direct_projective
# (tests/test_edge_sampling.py asserts edge_sampling's is at most twice it).
SPREAD_CASES = [c for c in CASES if c.startswith("ball_shadow")]
SPREAD_SPP = 4
SPREAD_SEEDS = 8
STEP = 0.01
SPP = 1024
PASSES = 4
OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "data", "edge_fd_refs.npz")


def scene_name(case: str) -> str:
    for prefix in ("silhouette", "ball_shadow"):
        if case.startswith(prefix):
            return prefix
    return case


def reverse_spread(loaded, integrator: dict, weights, spp: int, seeds: int, g_ref: float):
    """Standard deviation across seeds of the reverse-mode loss gradient, relative to g_ref."""
    from fixtures import fd

    grads = [
        fd.reverse_gradient(loaded, integrator, weights, spp=spp, seed=s) for s in range(seeds)
    ]
    return float(np.std(grads) / abs(g_ref))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cases", nargs="*", help="only these cases (others are kept)")
    args = parser.parse_args()
    from invrender.variant import select_variant

    select_variant("llvm_ad_rgb")
    from fixtures import fd, scenes

    refs = {}
    if args.cases and os.path.exists(OUT):
        with np.load(OUT) as old:
            refs = {k: old[k] for k in old.files if k not in ("step", "spp")}
    for case, kwargs in CASES.items():
        if args.cases and case not in args.cases:
            continue
        start = time.perf_counter()
        loaded = fd.load(scenes.build(scene_name(case), res=32, **kwargs))
        if case in NOISE_CASES:
            half_a, half_b = (
                fd.fd_derivative(loaded, NOISE_CASES[case], spp=SPP, seed=s, passes=PASSES_HALF)
                for s in (11, 12)
            )
            refs[case] = (0.5 * (half_a + half_b)).astype(np.float32)
            noise = 0.5 * np.linalg.norm(half_a - half_b) / np.linalg.norm(refs[case])
            refs["noise_" + case] = np.float64(noise)
            print(f"  reference noise {noise:.4f}")
        else:
            refs[case] = fd.fd_derivative(loaded, STEP, spp=SPP, seed=11, passes=PASSES).astype(
                np.float32
            )
        if case in SPREAD_CASES:
            weights = fd.loss_weights(refs[case].shape)
            g_ref = fd.image_loss_gradient(refs[case], weights)
            refs["dp_spread_" + case] = np.float64(
                reverse_spread(
                    loaded, {"type": "direct_projective"}, weights, SPREAD_SPP, SPREAD_SEEDS, g_ref
                )
            )
            print(f"  direct_projective reverse spread {float(refs['dp_spread_' + case]):.3f}")
        print(f"{case}: {time.perf_counter() - start:.1f} s")
    np.savez_compressed(OUT, step=STEP, spp=SPP * PASSES, **refs)
    print("wrote", os.path.normpath(OUT))


if __name__ == "__main__":
    main()
