#!/usr/bin/env python
"""Recover an object's translation from one photo with plain Mitsuba + ``edge_sampling``.

A cube sits in front of a backdrop under a uniform sky. We render the "photo" with the
cube moved by an unknown offset, then optimize the offset from zero by gradient descent
on an L2 image loss. Only visibility (the cube's outline and its edges) tells where the
cube is, so this needs a visibility-aware integrator: with ``prb`` the offset stays at 0.

    PYTHONPATH=$PWD python scripts/example_edge_translation.py [--integrator prb]
"""

from __future__ import annotations

import argparse


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--integrator", default="edge_sampling")
    parser.add_argument("--iterations", type=int, default=60)
    parser.add_argument("--variant", default="llvm_ad_rgb")
    args = parser.parse_args()

    from invrender.variant import select_variant

    select_variant(args.variant)  # sets the variant and registers edge_sampling
    import drjit as dr
    import mitsuba as mi

    scene = mi.load_dict(
        {
            "type": "scene",
            "integrator": {"type": args.integrator, "max_depth": 3},
            "sensor": {
                "type": "perspective",
                "fov": 35,
                "to_world": mi.ScalarTransform4f().look_at(
                    origin=[0, 0, 5], target=[0, 0, 0], up=[0, 1, 0]
                ),
                "film": {"type": "hdrfilm", "width": 48, "height": 48, "rfilter": {"type": "box"}},
            },
            "sky": {"type": "constant", "radiance": {"type": "rgb", "value": 1.0}},
            "cube": {
                "type": "cube",
                "to_world": mi.ScalarTransform4f().rotate([1, 1, 0], 35).scale(0.5),
                "bsdf": {
                    "type": "diffuse",
                    "reflectance": {"type": "rgb", "value": [0.8, 0.3, 0.1]},
                },
            },
            "backdrop": {
                "type": "rectangle",
                "to_world": mi.ScalarTransform4f().translate([0, 0, -1.5]).scale(4),
                "bsdf": {"type": "diffuse", "reflectance": {"type": "rgb", "value": 0.3}},
            },
        }
    )
    params = mi.traverse(scene)
    key = "cube.vertex_positions"
    start = dr.unravel(mi.Point3f, params[key])
    truth = mi.Vector3f(0.31, -0.18, 0.0)

    def move(offset: mi.Vector3f) -> None:
        params[key] = dr.ravel(start + offset)
        params.update()

    move(truth)
    photo = mi.render(scene, spp=128, seed=999)

    opt = mi.ad.Adam(lr=0.02)
    opt["offset"] = mi.Vector3f(0.0, 0.0, 0.0)
    for it in range(args.iterations):
        opt["offset"].z = 0.0  # the photo is taken head-on: solve for x and y only
        move(opt["offset"])
        image = mi.render(scene, params, spp=8, seed=it)
        loss = dr.mean(dr.square(image - photo), axis=None)
        dr.backward(loss)
        opt.step()
        if it % 10 == 0 or it == args.iterations - 1:
            o = opt["offset"]
            print(f"iter {it:3d}  loss {loss.array[0]:.5f}  offset ({o.x[0]:+.3f}, {o.y[0]:+.3f})")

    o = opt["offset"]
    print(f"recovered translation ({o.x[0]:+.3f}, {o.y[0]:+.3f})")
    print(f"true translation      ({truth.x[0]:+.3f}, {truth.y[0]:+.3f})")
    error = ((o.x[0] - truth.x[0]) ** 2 + (o.y[0] - truth.y[0]) ** 2) ** 0.5
    print(f"error {error:.4f} scene units ({args.integrator})")


if __name__ == "__main__":
    main()
