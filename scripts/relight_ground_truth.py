"""Relight the ground truth of Cycles benchmark objects with ``invrender relight`` and score it
against the benchmark's Cycles photos: the ceiling a reconstruction can reach, and a check that
``relight`` places the benchmark's sky (``--up z``), cameras and textures as Cycles did.

For each object of a benchmark folder (``scripts/make_cycles_benchmark.py``), this writes a
Mitsuba scene with the object's own mesh (``gt/mesh.obj``), Principled material (base colour
texture, roughness, metallic from ``gt/object.json``) and training sky, runs a one-iteration
material "run" of it on the object's split folder (the test views held out; the parameter moves
by 1e-9, so the run's checkpoint is the ground truth), then

    invrender relight RUN --envmap gt/envmap_<relight hdri>.exr --up z \
        --targets <object>/relight/<hdri> --spp SPP --out OUT/<object>/relit

and prints masked and full-image PSNR/SSIM per object. The path depth is Cycles' (12 bounces:
``max_depth`` 14). Usage:

    python scripts/relight_ground_truth.py /work/cycles_bench_data --objects vase --out /tmp/gt
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import yaml

SCENE = """<scene version="3.0.0">
  <emitter type="envmap" id="env">
    <string name="filename" value="{envmap}"/>
    <transform name="to_world"><matrix value="{to_world}"/></transform>
  </emitter>
  <shape type="obj" id="object">
    <string name="filename" value="{mesh}"/>
    <boolean name="face_normals" value="{flat}"/>
    <bsdf type="principled" id="material">
      <texture type="bitmap" name="base_color"><string name="filename" value="{base}"/></texture>
      {roughness}
      <float name="metallic" value="{metallic}"/>
      <float name="specular" value="{specular}"/>
    </bsdf>
  </shape>
</scene>
"""


def scene_xml(obj_dir: Path, info: dict) -> str:
    gt = obj_dir / "gt"
    material, light = info["material"], info["lighting"]["train_test"]
    rough = material["roughness"]
    if isinstance(rough, str):  # a texture: "roughness.png (non-colour)"
        roughness = (
            f'<texture type="bitmap" name="roughness"><string name="filename" '
            f'value="{gt / rough.split()[0]}"/><boolean name="raw" value="true"/></texture>'
        )
    else:
        roughness = f'<float name="roughness" value="{float(rough)}"/>'
    return SCENE.format(
        envmap=gt / light["mitsuba_envmap"],
        to_world=" ".join(str(v) for row in light["mitsuba_to_world"] for v in row),
        mesh=gt / "mesh.obj",
        # Without normals in the OBJ Mitsuba computes smooth ones; a flat-shaded object (the
        # star's sharp edges) needs its face normals, as Cycles shades it.
        flat=str(info.get("shading") == "flat").lower(),
        base=gt / "base_color.png",
        roughness=roughness,
        metallic=float(material["metallic"]),
        specular=float(material.get("specular_ior_level", 0.5)),
    )


def run(args: list[str]) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "invrender.cli", *args], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        sys.exit(f"invrender {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bench", type=Path, help="a folder made by make_cycles_benchmark.py")
    parser.add_argument("--objects", nargs="*", default=None)
    parser.add_argument("--spp", type=int, default=128)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    objects = args.objects or sorted(
        p.name for p in args.bench.iterdir() if (p / "gt" / "object.json").is_file()
    )
    rows = []
    for name in objects:
        obj_dir = (args.bench / name).resolve()
        info = json.loads((obj_dir / "gt" / "object.json").read_text())
        out = (args.out / name).resolve()
        out.mkdir(parents=True, exist_ok=True)
        (out / "scene.xml").write_text(scene_xml(obj_dir, info))
        config = {
            "name": f"{name}_ground_truth",
            # A split folder: its test views are the held-out views (no holdout key allowed)
            "targets": {"transforms": str(obj_dir), "masks": "alpha"},
            "scene": {"file": "scene.xml"},
            "integrator": {"type": "prb", "max_depth": 14},
            "optimize": {
                "pipeline": "material",
                "iterations": 1,
                "spp": 1,
                "eval_spp": 1,
                "views_per_iter": 1,
                "params": [{"key": "object.bsdf.metallic.value", "lr": 1e-9, "bounds": [0, 1]}],
            },
            "output": {
                "dir": str(out / "run"),
                "preview_every": 0,
                "checkpoint_every": 1,
                "export": [],
            },
        }
        (out / "gt.yaml").write_text(yaml.safe_dump(config))
        if not (out / "run" / "summary.json").is_file():
            run(["optimize", str(out / "gt.yaml"), "--quiet"])
        hdri = info["lighting"]["relight"]
        relit = out / "relit"
        if not (relit / "relight.json").is_file():
            run(
                [
                    "relight",
                    str(out / "run"),
                    "--envmap",
                    str(obj_dir / "gt" / hdri["mitsuba_envmap"]),
                    "--up",
                    "z",
                    "--targets",
                    str(obj_dir / "relight" / hdri["hdri"]),
                    "--spp",
                    str(args.spp),
                    "--out",
                    str(relit),
                ]
            )
        result = json.loads((relit / "relight.json").read_text())
        rows.append((name, hdri["hdri"], result["metrics"], result["seconds"]))
    print("| object | relit under | PSNR mask | SSIM mask | PSNR full | SSIM full | time |")
    print("|---|---|---|---|---|---|---|")
    for name, hdri, m, seconds in rows:
        print(
            f"| {name} | {hdri} | {m['psnr_mask']:.2f} dB | {m['ssim_mask']:.3f} | "
            f"{m['psnr_full']:.2f} dB | {m['ssim_full']:.3f} | {seconds:.0f} s |"
        )


if __name__ == "__main__":
    main()
