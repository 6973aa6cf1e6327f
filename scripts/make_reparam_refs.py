#!/usr/bin/env python
"""Cache the finite-difference references that tests/test_reparam.py compares against.

Central differences of the path tracer (correlated seeds, high spp) on the shared reference
scenes with a gaussian film filter (``reparam`` needs a smooth filter). Slow (minutes on
2 cores); rerun only when the scenes or settings below change.

    PYTHONPATH=$PWD python scripts/make_reparam_refs.py
"""

from __future__ import annotations

import argparse
import time

import numpy as np

RES = 16
SCENES = [
    "silhouette",
    "shadow",
    "analytic_sphere",
    "glossy_reflection",
    "albedo",
    "light_intensity",
]
OUT = "tests/data/reparam_fd_refs.npz"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spp", type=int, default=1024)
    parser.add_argument("--passes", type=int, default=8)
    parser.add_argument("--h", type=float, default=0.01)
    parser.add_argument("--out", default=OUT)
    args = parser.parse_args()

    from invrender.variant import select_variant

    select_variant("llvm_ad_rgb")
    from fixtures import fd, scenes

    refs: dict[str, np.ndarray] = {}
    for name in SCENES:
        start = time.perf_counter()
        loaded = fd.load(scenes.build(name, res=RES, rfilter="gaussian"))
        refs[name] = fd.fd_derivative(
            loaded, args.h, spp=args.spp, seed=11, passes=args.passes
        ).astype(np.float32)
        print(f"{name}: {time.perf_counter() - start:.1f} s", flush=True)
    np.savez_compressed(args.out, res=RES, h=args.h, **refs)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
