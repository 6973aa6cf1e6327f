#!/usr/bin/env python
"""Time silhouette extraction on a ~1M-triangle mesh (edge topology once, masks per render).

PYTHONPATH=$PWD python scripts/bench_silhouette_scaling.py --faces 1000000
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def wavy_grid(n: int) -> tuple[np.ndarray, np.ndarray]:
    """An n x n vertex height field with ~2 n^2 triangles and many silhouettes (vectorized)."""
    u, v = np.meshgrid(np.linspace(-1, 1, n), np.linspace(-1, 1, n), indexing="ij")
    z = 0.05 * np.sin(40 * u) * np.cos(33 * v)
    verts = np.stack([u, v, z], -1).reshape(-1, 3).astype(np.float32)
    i, j = np.meshgrid(np.arange(n - 1), np.arange(n - 1), indexing="ij")
    a = (i * n + j).ravel()
    b, c, d = a + 1, a + n, a + n + 1
    faces = np.concatenate([np.stack([a, c, b], -1), np.stack([b, c, d], -1)]).astype(np.uint32)
    return verts, faces


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faces", type=int, default=1_000_000)
    parser.add_argument("--variant", default="llvm_ad_rgb")
    args = parser.parse_args()

    from invrender.variant import select_variant

    select_variant(args.variant)
    import drjit as dr
    import mitsuba as mi
    from fixtures.scenes import make_mesh

    from invrender.integrators import silhouette as sil

    n = int(np.sqrt(args.faces / 2)) + 1
    verts, faces = wavy_grid(n)
    mesh = make_mesh("grid", verts, faces)
    eye = mi.Point3f(0.3, -2.0, 1.0)

    start = time.perf_counter()
    edges = sil.mesh_edges(mesh)
    t_topology = time.perf_counter() - start
    start = time.perf_counter()
    edges_again = sil.mesh_edges(mesh)
    t_cached = time.perf_counter() - start
    assert edges_again is edges

    times = []
    for _ in range(3):
        start = time.perf_counter()
        mask = sil.silhouette_mask(mesh, edges, [eye])
        count = int(dr.count(mask)[0])
        times.append(time.perf_counter() - start)
    print("| triangles | edges | topology (once) | cached lookup | silhouette mask per render |")
    print("|---|---|---|---|---|")
    print(
        f"| {len(faces):,} | {edges.count:,} | {t_topology:.2f} s | {t_cached * 1e3:.2f} ms "
        f"| {min(times):.3f} s ({count:,} silhouette edges) |"
    )


if __name__ == "__main__":
    main()
