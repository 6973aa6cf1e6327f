"""Generate the genus-1 shape example: a signet ring (a torus with a thick head), an envmap and
Mitsuba scenes (ground truth and start).

Writes datasets/shape_genus/{target.ply, envmap.exr, scene.xml, initial_scene.xml}. The ring's
hole is along +Y, so the high-elevation views of configs/shape_genus.yaml see through it and the
visual hull of the masks has genus 1. Deterministic; no downloads.

    python scripts/make_shape_genus_dataset.py [--out datasets/shape_genus]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

SCENE_XML = """<scene version="3.0.0">
    <!-- Ground truth for configs/shape_genus.yaml (scripts/make_shape_genus_dataset.py) -->
    <emitter type="envmap" id="envmap">
        <string name="filename" value="envmap.exr"/>
    </emitter>
    <shape type="ply" id="target">
        <string name="filename" value="target.ply"/>
        <bsdf type="diffuse" id="target-bsdf">
            <rgb name="reflectance" value="0.55, 0.5, 0.45"/>
        </bsdf>
    </shape>
</scene>
"""

INITIAL_XML = """<scene version="3.0.0">
    <!-- Start of configs/shape_genus.yaml: known light and material; the cube is a placeholder
         that geometry.init (the visual hull of the target masks) replaces. -->
    <emitter type="envmap" id="env">
        <string name="filename" value="envmap.exr"/>
    </emitter>
    <shape type="cube" id="target">
        <bsdf type="diffuse" id="target-bsdf">
            <rgb name="reflectance" value="0.55, 0.5, 0.45"/>
        </bsdf>
    </shape>
</scene>
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("datasets/shape_genus"))
    args = parser.parse_args()

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from fixtures.procedural import signet_ring
    from make_shape_dataset import procedural_envmap  # the same sky as configs/shape.yaml

    from invrender.geometry.shapes import save_mesh
    from invrender.geometry.topology import mesh_topology
    from invrender.variant import select_variant

    select_variant("llvm_ad_rgb")
    import mitsuba as mi

    args.out.mkdir(parents=True, exist_ok=True)
    vertices, faces = signet_ring()
    save_mesh(args.out / "target.ply", vertices, faces)
    mi.Bitmap(procedural_envmap()).write(str(args.out / "envmap.exr"))
    (args.out / "scene.xml").write_text(SCENE_XML)
    (args.out / "initial_scene.xml").write_text(INITIAL_XML)
    topology = mesh_topology(faces)
    print(
        f"wrote {args.out}/target.ply ({len(faces)} triangles, genus {topology.genus}), "
        "envmap.exr, scene.xml, initial_scene.xml"
    )


if __name__ == "__main__":
    main()
