#!/usr/bin/env python
"""Regenerate tests/data/edge_fd_refs.npz: central finite-difference derivative images.

One entry per reference scene used by tests/test_edge_sampling.py (path tracer, same seeds
on both sides of the difference, 4 x 1024 spp at 32 x 32 px, step h = 0.01), plus the
silhouette scene with a gaussian filter and ``sample_border``. Takes ~20 s on 2 cores.

    PYTHONPATH=$PWD python scripts/make_edge_fd_refs.py
"""

from __future__ import annotations

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
}
STEP = 0.01
SPP = 1024
PASSES = 4
OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "data", "edge_fd_refs.npz")


def scene_name(case: str) -> str:
    return "silhouette" if case.startswith("silhouette") else case


def main() -> None:
    from invrender.variant import select_variant

    select_variant("llvm_ad_rgb")
    from invrender.integrators import fd, scenes

    refs = {}
    for case, kwargs in CASES.items():
        start = time.perf_counter()
        loaded = fd.load(scenes.build(scene_name(case), res=32, **kwargs))
        refs[case] = fd.fd_derivative(loaded, STEP, spp=SPP, seed=11, passes=PASSES).astype(
            np.float32
        )
        print(f"{case}: {time.perf_counter() - start:.1f} s")
    np.savez_compressed(OUT, step=STEP, spp=SPP * PASSES, **refs)
    print("wrote", os.path.normpath(OUT))


if __name__ == "__main__":
    main()
