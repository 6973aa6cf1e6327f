"""Time per geometry-optimization iteration against mesh size and image size.

One iteration = large-steps solve (latent -> positions) + scene update (BVH rebuild) + a
differentiable render with the chosen integrator + backward + Adam step, on an ico-sphere under a
constant light. Prints seconds per iteration and the ratio to the smallest case measured in the
same process, so the numbers compare on any machine:

    python scripts/bench_geometry.py      # 1.3k ... 1.3M triangles at 64 px; 64 ... 256 px at 20k
    python scripts/bench_geometry.py --max-subdivisions 6 --integrator direct_projective
"""

from __future__ import annotations

import argparse
import time


def build(mi, vertices, faces):
    from invrender.geometry.shapes import make_mesh

    mesh = make_mesh("bench", vertices, faces, bsdf={"type": "diffuse"}, smooth=True)
    return mi.load_dict({"type": "scene", "light": {"type": "constant"}, "mesh": mesh})


def sensor(mi, resolution: int):
    return mi.load_dict(
        {
            "type": "perspective",
            "fov": 40,
            "to_world": mi.ScalarTransform4f().look_at([0, 0.5, 3.2], [0, 0, 0], [0, 1, 0]),
            "film": {
                "type": "hdrfilm",
                "width": resolution,
                "height": resolution,
                "rfilter": {"type": "box"},
                "sample_border": True,
            },
        }
    )


def time_iterations(mi, dr, subdivisions, resolution, integrator, spp, repeats):
    """(setup seconds, seconds per iteration, triangles) for one configuration."""
    from invrender.geometry.largesteps import LargeStepsParameterization
    from invrender.geometry.optimizer import SelectiveUniformAdam
    from invrender.geometry.shapes import icosphere

    vertices, faces = icosphere(subdivisions)
    t0 = time.perf_counter()
    scene = build(mi, vertices, faces)
    params = mi.traverse(scene)
    ls = LargeStepsParameterization(vertices, faces, 20.0)
    opt = SelectiveUniformAdam(0.01, uniform_keys=["u"])
    opt["u"] = ls.latent
    cam = sensor(mi, resolution)
    target = dr.full(mi.TensorXf, 0.5, (resolution, resolution, 3))
    setup = time.perf_counter() - t0

    def iteration(i):
        params["mesh.vertex_positions"] = ls.positions(opt["u"])
        params.update()
        image = mi.render(scene, params, sensor=cam, integrator=integrator, spp=spp, seed=i)
        loss = dr.mean(dr.abs(image - target), axis=None)
        dr.backward(loss)
        opt.step()
        dr.eval(opt["u"])
        dr.sync_thread()

    iteration(0)  # warm-up: kernel compilation is cached afterwards
    t0 = time.perf_counter()
    for i in range(repeats):
        iteration(i + 1)
    return setup, (time.perf_counter() - t0) / repeats, len(faces)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--integrator", default="direct_projective")
    parser.add_argument("--spp", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--min-subdivisions", type=int, default=3, help="3: 1.3k triangles")
    parser.add_argument("--max-subdivisions", type=int, default=8, help="8: 1.3M triangles")
    parser.add_argument("--resolution", type=int, default=64)
    parser.add_argument("--resolutions", type=int, nargs="*", default=[64, 128, 256])
    parser.add_argument("--resolution-subdivisions", type=int, default=5, help="20k triangles")
    parser.add_argument("--variant", default="llvm_ad_rgb")
    args = parser.parse_args()

    from invrender.variant import select_variant

    select_variant(args.variant)
    import drjit as dr
    import mitsuba as mi

    integrator = mi.load_dict({"type": args.integrator, "sppi": 0})
    print(
        f"{args.integrator}, {args.spp} spp, {args.repeats} timed iterations each ({args.variant})"
    )
    print(f"\nmesh size at {args.resolution} px:")
    print(f"{'triangles':>10} {'setup s':>9} {'s/iter':>9} {'x base':>8} {'us/tri':>8}")
    base = None
    for sub in range(args.min_subdivisions, args.max_subdivisions + 1):
        setup, per_iter, tris = time_iterations(
            mi, dr, sub, args.resolution, integrator, args.spp, args.repeats
        )
        base = base or per_iter
        print(
            f"{tris:>10} {setup:>9.3f} {per_iter:>9.4f} {per_iter / base:>8.2f} "
            f"{1e6 * per_iter / tris:>8.3f}",
            flush=True,
        )
    print(f"\nimage size at subdivision {args.resolution_subdivisions}:")
    print(f"{'pixels':>10} {'s/iter':>9} {'x base':>8} {'us/pixel':>9}")
    base = None
    for res in args.resolutions:
        _, per_iter, _ = time_iterations(
            mi, dr, args.resolution_subdivisions, res, integrator, args.spp, args.repeats
        )
        base = base or per_iter
        print(
            f"{res}x{res:<6} {per_iter:>9.4f} {per_iter / base:>8.2f} "
            f"{1e6 * per_iter / res**2:>9.3f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
