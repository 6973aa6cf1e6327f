"""Regenerate the ground-truth scenes of the bundled examples under datasets/ (no download).

    python scripts/make_example_data.py

Writes small procedural assets (a UV-sphere mesh, an albedo texture, a sky environment map) and
the Mitsuba XML scenes that `invrender synth` / `targets.synth` render the target views from.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent / "datasets"


def uv_sphere(rings: int = 24, segments: int = 48) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Vertices, faces and UVs of a sphere of radius 1 with a seam column duplicated for UVs."""
    verts, uvs = [], []
    for i in range(rings + 1):
        v = i / rings
        theta = np.pi * v
        for j in range(segments + 1):
            u = j / segments
            phi = 2 * np.pi * u
            verts.append([np.sin(theta) * np.sin(phi), np.cos(theta), np.sin(theta) * np.cos(phi)])
            uvs.append([u, 1 - v])
    faces = []
    row = segments + 1
    for i in range(rings):
        for j in range(segments):
            a, b = i * row + j, i * row + j + 1
            c, d = a + row, b + row
            if i > 0:
                faces.append([a, c, b])
            if i < rings - 1:
                faces.append([b, c, d])
    return np.array(verts, np.float32), np.array(faces, np.uint32), np.array(uvs, np.float32)


def write_ply(path: Path, v: np.ndarray, f: np.ndarray, uv: np.ndarray) -> None:
    header = (
        "ply\nformat binary_little_endian 1.0\n"
        f"element vertex {len(v)}\nproperty float x\nproperty float y\nproperty float z\n"
        "property float u\nproperty float v\n"
        f"element face {len(f)}\nproperty list uchar int vertex_indices\nend_header\n"
    )
    vert = np.concatenate([v, uv], axis=1).astype("<f4")
    face = np.zeros(len(f), dtype=[("n", "u1"), ("i", "<i4", (3,))])
    face["n"], face["i"] = 3, f
    path.write_bytes(header.encode() + vert.tobytes() + face.tobytes())


def albedo_texture(size: int = 64) -> np.ndarray:
    """Smooth coloured blobs on a warm base: learnable from 64 px views, easy to judge by eye."""
    y, x = np.mgrid[0:size, 0:size] / size
    rng = np.random.default_rng(3)
    img = np.ones((size, size, 3)) * np.array([0.55, 0.45, 0.35])
    for _ in range(9):
        cx, cy, r = rng.random(), 0.2 + 0.6 * rng.random(), 0.08 + 0.1 * rng.random()
        colour = rng.random(3) * 0.8 + 0.1
        d2 = np.minimum(np.abs(x - cx), 1 - np.abs(x - cx)) ** 2 + (y - cy) ** 2
        w = np.exp(-d2 / (2 * r * r))[..., None]
        img = img * (1 - w) + colour * w
    return np.clip(img, 0.05, 0.95).astype(np.float32)


def sky_envmap(width: int = 32, height: int = 16) -> np.ndarray:
    """A smooth sky: blue zenith, pale horizon, brown ground and a broad warm 'sun' region."""
    j, i = np.mgrid[0:height, 0:width]
    theta = np.pi * j / (height - 1)  # Mitsuba's envmap rows: row 0 at the +Y pole
    phi = 2 * np.pi * (i + 0.5) / width
    up = np.cos(theta)[..., None]
    sky = np.array([0.35, 0.55, 1.0]) * np.clip(up, 0, 1) + np.array([0.9, 0.9, 0.85]) * (
        1 - np.abs(up)
    )
    ground = np.array([0.35, 0.25, 0.15]) * np.clip(-up, 0, 1)
    sun_dir = np.array([0.5, 0.6, 0.6]) / np.linalg.norm([0.5, 0.6, 0.6])
    d = np.stack([np.sin(theta) * np.sin(phi), np.cos(theta), -np.sin(theta) * np.cos(phi)], -1)
    sun = np.exp((d @ sun_dir - 1) / 0.08)[..., None] * np.array([2.5, 2.0, 1.4])
    return (sky + ground + sun).astype(np.float32)


MATERIAL_XML = """<scene version="3.0.0">
    <!-- Ground truth of configs/material_texture.yaml: a textured sphere, known light. -->
    <default name="albedo" value="albedo.png"/>
    <integrator type="prb"><integer name="max_depth" value="3"/></integrator>
    <emitter type="constant"><rgb name="radiance" value="0.45"/></emitter>
    <emitter type="directional">
        <vector name="direction" x="-0.5" y="-0.7" z="-0.5"/>
        <rgb name="irradiance" value="2.2"/>
    </emitter>
    <shape type="ply" id="object">
        <string name="filename" value="sphere.ply"/>
        <bsdf type="diffuse" id="material">
            <texture type="bitmap" name="reflectance">
                <string name="filename" value="$albedo"/>
                <string name="format" value="variant"/>
            </texture>
        </bsdf>
    </shape>
</scene>
"""

ENVMAP_XML = """<scene version="3.0.0">
    <!-- Ground truth of configs/envmap.yaml: known objects lit by an unknown sky. -->
    <default name="sky" value="sky.exr"/>
    <integrator type="prb"><integer name="max_depth" value="3"/></integrator>
    <emitter type="envmap" id="sky">
        <string name="filename" value="$sky"/>
    </emitter>
    <shape type="sphere" id="ball">
        <bsdf type="roughplastic">
            <rgb name="diffuse_reflectance" value="0.7, 0.7, 0.7"/>
            <float name="alpha" value="0.15"/>
        </bsdf>
    </shape>
    <shape type="sphere" id="ball2">
        <point name="center" x="1.4" y="-0.5" z="0.3"/>
        <float name="radius" value="0.5"/>
        <bsdf type="diffuse"><rgb name="reflectance" value="0.8, 0.3, 0.2"/></bsdf>
    </shape>
</scene>
"""


def main() -> None:
    import imageio.v3 as iio

    mat = ROOT / "material_texture"
    mat.mkdir(parents=True, exist_ok=True)
    write_ply(mat / "sphere.ply", *uv_sphere())
    tex = albedo_texture()
    srgb = np.where(tex <= 0.0031308, 12.92 * tex, 1.055 * tex ** (1 / 2.4) - 0.055)
    iio.imwrite(mat / "albedo.png", (srgb * 255 + 0.5).astype(np.uint8))
    (mat / "scene.xml").write_text(MATERIAL_XML)

    env = ROOT / "envmap"
    env.mkdir(parents=True, exist_ok=True)
    from invrender.variant import select_variant

    select_variant("llvm_ad_rgb")
    from invrender.files import write_exr

    write_exr(env / "sky.exr", sky_envmap())
    (env / "scene.xml").write_text(ENVMAP_XML)
    print(f"wrote {mat} and {env}")


if __name__ == "__main__":
    main()
