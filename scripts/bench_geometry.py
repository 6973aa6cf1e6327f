"""Time per geometry-optimization iteration against mesh size and image size.

One iteration = large-steps solve (latent -> positions) + scene update (BVH rebuild) + a
differentiable render with the chosen integrator + backward + Adam step, on an ico-sphere under a
constant light. Prints seconds per iteration and the ratio to the smallest case measured in the
same process, so the numbers compare on any machine:

    python scripts/bench_geometry.py      # 1.3k ... 1.3M triangles at 64 px; 64 ... 256 px at 20k
    python scripts/bench_geometry.py --max-subdivisions 6 --integrator direct_projective

It first times the visual-hull start (geometry.init type visual_hull) on the genus-1 ring of
configs/shape_genus.yaml, against the carving grid's resolution and the number of views
(`--only hull` for just that part, `--only iterations` to skip it).
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


def bench_hull(grid_sizes, view_counts, image: int, triangles: int) -> None:
    """Seconds per visual-hull stage against grid resolution (all views) and view count."""
    import tempfile
    from pathlib import Path

    from invrender.config.schema import Targets
    from invrender.data.dataset import load_dataset
    from invrender.data.synth import SynthOptions, synthesize
    from invrender.geometry.metrics import compare_meshes
    from invrender.geometry.shapes import load_mesh
    from invrender.geometry.visual_hull import views_from_dataset, visual_hull

    root = Path(__file__).resolve().parents[1] / "datasets" / "shape_genus"
    reference = load_mesh(root / "target.ply")
    with tempfile.TemporaryDirectory() as tmp:
        opts = SynthOptions(
            views=max(view_counts), width=image, height=image, spp=4, elevations=(60, -45, 25)
        )
        path = synthesize(root / "scene.xml", Path(tmp) / "targets", opts, progress=False)
        dataset = load_dataset(Targets(transforms=str(path), masks="alpha"), str(path))
        every = views_from_dataset(dataset, range(len(dataset.views)))

    def row(label, views, grid):
        t0 = time.perf_counter()
        mesh, report = visual_hull(views, grid, triangles)
        total = time.perf_counter() - t0
        s = report.seconds
        chamfer = compare_meshes(mesh, reference, 50_000).chamfer
        print(
            f"{label:>10} {'x'.join(map(str, report.resolution)):>12} {s['carve']:>8.3f} "
            f"{s['marching_cubes']:>8.3f} {s['remesh']:>8.3f} {total:>8.3f} "
            f"{report.genus:>6} {100 * chamfer:>9.3f}",
            flush=True,
        )

    header = (
        f"{'grid':>12} {'carve s':>8} {'mc s':>8} {'remesh s':>8} {'total s':>8} "
        f"{'genus':>6} {'chamfer%':>9}"
    )
    print(f"\nvisual hull of the ring ({image} px masks, remeshed to {triangles} triangles)")
    print(f"{'voxels':>10} {header}  ({len(every)} views)")
    for grid in grid_sizes:
        row(grid, every, grid)
    print(f"{'views':>10} {header}  (grid {min(grid_sizes, key=lambda g: abs(g - 128))})")
    for count in view_counts:
        step = len(every) / count
        row(
            count,
            [every[int(i * step)] for i in range(count)],
            min(grid_sizes, key=lambda g: abs(g - 128)),
        )


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
    parser.add_argument("--only", choices=["all", "hull", "iterations"], default="all")
    parser.add_argument("--hull-grids", type=int, nargs="*", default=[32, 64, 128, 192, 256])
    parser.add_argument("--hull-views", type=int, nargs="*", default=[4, 8, 16, 32])
    parser.add_argument("--hull-image", type=int, default=128, help="mask size in pixels")
    args = parser.parse_args()

    from invrender.variant import select_variant

    select_variant(args.variant)
    import drjit as dr
    import mitsuba as mi

    if args.only in ("all", "hull"):
        bench_hull(args.hull_grids, args.hull_views, args.hull_image, 5000)
        if args.only == "hull":
            return

    config = {"type": args.integrator}
    if args.integrator.endswith("_projective"):
        config["sppi"] = 0  # no indirect visibility under a constant light
    integrator = mi.load_dict(config)
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
