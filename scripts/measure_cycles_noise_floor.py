"""How much of a Cycles benchmark's held-out error is the ground truth's own sampling noise.

The benchmark's test views are Cycles renders at a finite sample count, so no reconstruction can
score above the PSNR between a test view and the converged image. This re-renders some test views
of one object (same mesh, material, HDRI and camera) once at the test views' sample count
with another seed and once at ``--reference-spp``, and prints per view, inside the object's alpha
(linear RGB, weighted by alpha: invrender's ``psnr_masked``):

    photo vs reference   the test view's noise (plus the reference's: 1/8 of it at 8x the samples)
    seed vs reference    the same for an independent render at the test views' count
    photo vs seed        two independent renders at that count

    python scripts/measure_cycles_noise_floor.py DATA/vase --views 0 3 7
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

from invrender.data.images import read_image  # noqa: E402
from invrender.losses import psnr_masked  # noqa: E402
from scripts.make_cycles_benchmark import (  # noqa: E402
    BUILDERS,
    photo_render,
    principled_material,
    run_blender_job,
    save_mesh_npz,
)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("object_dir", type=Path, help="one object of make_cycles_benchmark.py's OUT")
    ap.add_argument("--views", type=int, nargs="+", default=[0, 3, 7], help="test view indices")
    ap.add_argument("--reference-spp", type=int, default=1024)
    ap.add_argument("--out", type=Path, help="keep the renders here (default: a temp folder)")
    args = ap.parse_args()

    data = args.object_dir
    build = json.loads((data.parent / "build_summary.json").read_text())["settings"]
    name = data.name
    if name not in BUILDERS:
        raise SystemExit(f"{data}: not a benchmark object ({', '.join(BUILDERS)})")
    obj, gt = BUILDERS[name](), data / "gt"
    frames = json.loads((data / "transforms_test.json").read_text())
    hdri = build["hdri"]
    with tempfile.TemporaryDirectory(prefix="noise_floor_") as tmp:
        work = Path(tmp)
        out = args.out or work
        out.mkdir(parents=True, exist_ok=True)
        save_mesh_npz(work / "mesh.npz", obj.mesh)

        def job(spp: int, seed: int, tag: str) -> dict:
            return {
                "render": photo_render(build["size"], spp, threads=0),
                "camera_angle_x": frames["camera_angle_x"],
                "seed": seed,
                "objects": {
                    obj.name: {
                        "mesh": str(work / "mesh.npz"),
                        "smooth": obj.smooth,
                        "material": principled_material(obj, gt),
                    }
                },
                "passes": [
                    {
                        "name": tag,
                        "world": {
                            "image": str(gt / f"blender_world_{hdri}.exr"),
                            "strength": build["strength"],
                        },
                        "views": [
                            {
                                "matrix": frames["frames"][i]["transform_matrix"],
                                "path": str(out / f"{tag}_{i:03d}.png"),
                            }
                            for i in args.views
                        ],
                    }
                ],
            }

        # The test views' own count: builds before --test-spp rendered them as the photos
        spp = build.get("test_spp") or build["spp"]
        ref_spp = args.reference_spp
        run_blender_job(job(spp, 900_001, "seed"), work)
        run_blender_job(job(ref_spp, 900_101, "reference"), work)
        print(f"\n{name}, PSNR inside the object (dB); test views {spp} spp, reference {ref_spp}")
        print(f"{'view':8s} {'photo vs ref':>13s} {'seed vs ref':>12s} {'photo vs seed':>14s}")
        for i in args.views:
            photo, alpha = read_image(data / "test" / f"r_{i:03d}.png")
            if alpha is None:
                raise SystemExit(f"{data / 'test'}: r_{i:03d}.png has no alpha channel")
            seed, _ = read_image(out / f"seed_{i:03d}.png")
            ref, _ = read_image(out / f"reference_{i:03d}.png")
            pairs = ((photo, ref), (seed, ref), (photo, seed))
            scores = [psnr_masked(a, b, alpha) for a, b in pairs]
            print(f"r_{i:03d}    {scores[0]:13.2f} {scores[1]:12.2f} {scores[2]:14.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
