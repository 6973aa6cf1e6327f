"""Scratch prototype of shape reconstruction with plain Mitsuba (before the pipeline existed).

Reconstructs datasets/shape/target.ply from a sphere fitted to the cameras: image L1 loss through
`direct_projective` (indirect-visibility term off), large steps + uniform Adam, Botsch remeshing
at growing detail, coarse-to-fine resolution. Prints Chamfer (fraction of the GT bbox diagonal)
as it goes. Used to choose the defaults of configs/shape.yaml.

    python scripts/prototype_shape.py [--minutes 10] [--views 12]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np


def orbit_cameras(count: int, distance: float, seed_elevations=(25.0, -25.0)) -> list[np.ndarray]:
    """`count` cameras on rings around the origin (+Y up), alternating elevations."""
    import mitsuba as mi

    mats = []
    for i in range(count):
        azimuth = 2 * np.pi * i / count
        elevation = np.radians(seed_elevations[i % len(seed_elevations)])
        origin = distance * np.array(
            [
                np.cos(elevation) * np.cos(azimuth),
                np.sin(elevation),
                np.cos(elevation) * np.sin(azimuth),
            ]
        )
        mats.append(np.array(mi.ScalarTransform4f.look_at(origin, [0, 0, 0], [0, 1, 0]).matrix))
    return mats


def sensor(mi, to_world: np.ndarray, res: int, fov: float):
    return mi.load_dict(
        {
            "type": "perspective",
            "fov": fov,
            "to_world": mi.ScalarTransform4f(to_world),
            "film": {
                "type": "hdrfilm",
                "width": res,
                "height": res,
                "rfilter": {"type": "box"},
                "pixel_format": "rgba",
                "sample_border": True,
            },
        }
    )


def build_scene(mi, vertices, faces, envmap: str):
    from invrender.geometry.shapes import make_mesh

    albedo = {"type": "diffuse", "reflectance": {"type": "rgb", "value": [0.6, 0.5, 0.4]}}
    mesh = make_mesh("opt", vertices, faces, bsdf=albedo)
    return mi.load_dict(
        {"type": "scene", "env": {"type": "envmap", "filename": envmap}, "mesh": mesh}
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--views", type=int, default=12)
    parser.add_argument("--data", type=Path, default=Path("datasets/shape"))
    parser.add_argument("--lambda_", type=float, default=20.0)
    parser.add_argument("--lr", type=float, default=0.05)
    parser.add_argument("--spp", type=int, default=4)
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--iters", type=int, default=300)
    parser.add_argument("--plain-adam", action="store_true", help="Adam without uniform=True")
    parser.add_argument("--fov", type=float, default=40.0)
    parser.add_argument("--out", type=Path, default=Path("/tmp/proto_shape"))
    args = parser.parse_args()

    from invrender.geometry.largesteps import LargeStepsParameterization
    from invrender.geometry.metrics import chamfer_and_normals
    from invrender.geometry.remesh import edge_length_for_triangles, remesh_isotropic
    from invrender.geometry.shapes import (
        fit_sphere_to_cameras,
        icosphere,
        load_mesh,
        mask_width_fraction,
    )
    from invrender.variant import select_variant

    select_variant("llvm_ad_rgb")
    import drjit as dr
    import mitsuba as mi

    t_start = time.time()
    gt = load_mesh(args.data / "target.ply")
    envmap = str(args.data / "envmap.exr")
    gt_scene = build_scene(mi, *gt, envmap)
    cams = orbit_cameras(args.views, 4.5)
    # coarse-to-fine: (fraction of iterations, resolution, target triangles after remesh)
    stages = [(0.0, 64, 2000), (0.3, 96, 5000), (0.6, 128, 10000)]
    targets = {}
    direct = mi.load_dict({"type": "direct"})
    for _, res, _ in stages:
        targets[res] = [direct.render(gt_scene, sensor(mi, c, res, args.fov), spp=64) for c in cams]
    dr.eval(targets)
    fills = [mask_width_fraction(np.array(t)[..., 3]) for t in targets[128]]
    center, radius = fit_sphere_to_cameras(cams, args.fov, mask_fill=fills)
    print(f"targets {time.time() - t_start:.1f}s; sphere center {center.round(3)} r {radius:.3f}")

    integrator = mi.load_dict({"type": "direct_projective", "sppi": 0})
    vertices, faces = icosphere(3, center, radius)
    print("initial chamfer", chamfer_and_normals((vertices, faces), gt, 50_000)[0])

    t_opt = time.time()
    budget = args.minutes * 60
    rng = np.random.default_rng(0)
    stage_index = -1
    it = 0
    while it < args.iters and time.time() - t_opt < budget:
        frac = it / args.iters
        new_stage = max(i for i, s in enumerate(stages) if s[0] <= frac)
        if new_stage != stage_index:
            stage_index = new_stage
            _, res, tris = stages[stage_index]
            if it > 0:
                h = edge_length_for_triangles(vertices, faces, tris)
                vertices, faces = remesh_isotropic(vertices, faces, h)
            scene = build_scene(mi, vertices, faces, envmap)
            sensors = [sensor(mi, c, res, args.fov) for c in cams]
            params = mi.traverse(scene)
            key = "mesh.vertex_positions"
            ls = LargeStepsParameterization(vertices, faces, args.lambda_)
            opt = mi.ad.Adam(lr=args.lr, uniform=not args.plain_adam)
            opt["u"] = ls.latent
            print(f"it {it}: stage {stage_index} res {res} tris {len(faces)}")
        params[key] = ls.positions(opt["u"])
        params.update()
        loss = 0.0
        for view in rng.choice(len(cams), size=args.batch, replace=False):
            img = mi.render(
                scene,
                params,
                sensor=sensors[view],
                integrator=integrator,
                spp=args.spp,
                seed=it * 31 + int(view),
            )
            loss += dr.mean(dr.abs(img - targets[res][view]), axis=None)
        dr.backward(loss)
        opt.step()
        vertices = ls.positions(opt["u"]).numpy().reshape(-1, 3).astype(np.float64)
        if it % 25 == 0:
            ch = chamfer_and_normals((vertices, faces), gt, 50_000)
            print(
                f"it {it:4d} t {time.time() - t_opt:6.1f}s loss {float(loss.array[0]):.4f} "
                f"chamfer {ch[0] * 100:.3f}% nc {ch[2]:.4f}",
                flush=True,
            )
        it += 1
    ch = chamfer_and_normals((vertices, faces), gt, 200_000)
    print(f"final it {it} t {time.time() - t_opt:.1f}s chamfer {ch[0] * 100:.3f}% nc {ch[2]:.4f}")
    args.out.mkdir(parents=True, exist_ok=True)
    import trimesh

    trimesh.Trimesh(vertices, faces, process=False).export(args.out / "final.ply")


if __name__ == "__main__":
    main()
