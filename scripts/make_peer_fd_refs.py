#!/usr/bin/env python
"""Regenerate tests/data/peer_fd_refs.npz: finite-difference references of the peer suite.

One derivative image per configuration of scripts/fixtures/peer_suite.py (Mitsuba's own
gradient-test configurations, rebuilt): central differences of the path tracer with the
configuration's step (Mitsuba's ``ref_fd_epsilon``), the same seeds on both sides, two
independent halves of SPP samples each. Stored per configuration: the image (float32,
``<name>``), its mean in float64 (``mean_<name>``, for the reverse-mode check) and the
Mitsuba-style forward error of one half against the mean of both (``noise_<name>``: the
reference's own noise floor, which an estimator's error cannot go below). Run time: 4.5 min
wall on 2 cores shared with other jobs (load about 5).

    PYTHONPATH=$PWD python scripts/make_peer_fd_refs.py                 # all
    PYTHONPATH=$PWD python scripts/make_peer_fd_refs.py crop_window ... # only these, keep others
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

import invrender  # noqa: F401  (first: points Dr.Jit at a working LLVM before Mitsuba loads it)

SPP = 8192  # per half, per side of the difference
PASSES = 4  # SPP is rendered as PASSES renders of SPP / PASSES samples
OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "data", "peer_fd_refs.npz")


def reference(name: str, spp: int = SPP) -> dict[str, np.ndarray]:
    """The stored entries of one configuration."""
    from fixtures import fd, peer_metrics, peer_suite

    config = peer_suite.build(name)
    loaded = fd.load(config.spec)
    h = 0.5 * config.fd_epsilon
    halves = [
        fd.fd_derivative(loaded, h, spp=spp // PASSES, seed=seed, passes=PASSES)
        for seed in (101, 202)
    ]
    image = 0.5 * (halves[0] + halves[1])
    noise, _ = peer_metrics.forward_errors(halves[0], image)
    return {
        name: image.astype(np.float32),
        "mean_" + name: np.float64(image.mean()),
        "noise_" + name: np.float64(noise),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="only these configurations (others are kept)")
    parser.add_argument("--spp", type=int, default=SPP, help="samples per half and side")
    args = parser.parse_args()
    from invrender.variant import select_variant

    select_variant("llvm_ad_rgb")
    from fixtures import peer_suite

    unknown = [n for n in args.names if n not in peer_suite.NAMES]
    if unknown:
        parser.error(f"unknown configuration(s) {', '.join(unknown)}")
    refs: dict[str, np.ndarray] = {}
    if args.names and os.path.exists(OUT):
        with np.load(OUT) as old:
            refs = {k: old[k] for k in old.files if k != "spp"}
    for name in args.names or peer_suite.NAMES:
        start = time.perf_counter()
        refs.update(reference(name, args.spp))
        noise = float(refs["noise_" + name])
        print(f"{name}: noise {noise:.4f}, {time.perf_counter() - start:.1f} s", flush=True)
        np.savez_compressed(OUT, spp=2 * args.spp, **refs)  # keep what is done if interrupted
    print("wrote", os.path.normpath(OUT))


if __name__ == "__main__":
    main()
