"""Mesh files for other tools: binary PLY, OBJ + MTL, and glTF 2.0 binary (GLB).

UVs: Mitsuba (and glTF) put v = 0 at the top of a texture image; PLY/OBJ readers (Blender,
MeshLab) put it at the bottom, so PLY and OBJ get ``v' = 1 - v``. trimesh flips v itself when
it writes glTF, so it is handed the bottom-origin UVs as well.

GLB is written with trimesh (maintained, already a dependency, writes PBR metallic-roughness
materials with textures). trimesh has no tangent output, so our tangents go in as a custom
vertex attribute and a tree post-processor renames it to ``TANGENT``; the same hook adds
``KHR_materials_specular`` (specular off for Mitsuba ``diffuse``) and
``KHR_materials_emissive_strength`` (area lights brighter than 1).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from invrender.export.materials import Material, as_rgb, as_scalar, is_image
from invrender.export.mitsuba_access import UnexportableError
from invrender.export.scene_data import MeshData
from invrender.files import encode_png, write_bytes, write_png, write_text


def flip_v(uvs: np.ndarray) -> np.ndarray:
    """Mitsuba/glTF UVs (v down) <-> OBJ/PLY/Blender UVs (v up)."""
    flipped = np.array(uvs, dtype=np.float64, copy=True)
    flipped[:, 1] = 1.0 - flipped[:, 1]
    return flipped


def ply_bytes(mesh: MeshData) -> bytes:
    """A binary little-endian PLY: positions, normals and (v-up) UVs as ``s t``, triangles."""
    columns = [
        ("x", mesh.positions[:, 0]),
        ("y", mesh.positions[:, 1]),
        ("z", mesh.positions[:, 2]),
    ]
    if mesh.normals is not None:
        columns += [
            ("nx", mesh.normals[:, 0]),
            ("ny", mesh.normals[:, 1]),
            ("nz", mesh.normals[:, 2]),
        ]
    if mesh.uvs is not None:
        uvs = flip_v(mesh.uvs)
        columns += [("s", uvs[:, 0]), ("t", uvs[:, 1])]
    vertex = np.empty(len(mesh.positions), dtype=[(name, "<f4") for name, _ in columns])
    for name, values in columns:
        vertex[name] = values
    face = np.empty(len(mesh.faces), dtype=[("n", "u1"), ("v", "<i4", (3,))])
    face["n"] = 3
    face["v"] = mesh.faces
    header = [
        "ply",
        "format binary_little_endian 1.0",
        "comment written by invrender",
        f"element vertex {len(vertex)}",
    ]
    header += [f"property float {name}" for name, _ in columns]
    header += [f"element face {len(face)}", "property list uchar int vertex_indices", "end_header"]
    return ("\n".join(header) + "\n").encode("ascii") + vertex.tobytes() + face.tobytes()


def write_ply(path: Path, mesh: MeshData) -> Path:
    return write_bytes(path, ply_bytes(mesh))


def _constant(texture: np.ndarray) -> np.ndarray:
    return np.asarray(texture, dtype=np.float64).reshape(-1)


def texture_files(material: Material, folder: Path, stem: str) -> dict[str, Path]:
    """8-bit PNGs of a material's image textures (base colour sRGB, the rest linear)."""
    written: dict[str, Path] = {}
    if is_image(material.base_color):
        written["base_color"] = write_png(
            folder / f"{stem}_base_color.png", as_rgb(material.base_color), srgb=True
        )
    if is_image(material.roughness):
        written["roughness"] = write_png(
            folder / f"{stem}_roughness.png", as_scalar(material.roughness), srgb=False
        )
    if is_image(material.metallic):
        written["metallic"] = write_png(
            folder / f"{stem}_metallic.png", as_scalar(material.metallic), srgb=False
        )
    if material.normal_map is not None:
        written["normal"] = write_png(
            folder / f"{stem}_normal.png", material.normal_map, srgb=False
        )
    return written


def mtl_text(material: Material, textures: dict[str, Path], folder: Path) -> str:
    """An MTL block with the PBR extension keys (Pr, Pm, map_Pr, ...) Blender's importer reads."""
    lines = [f"newmtl {material.name}"]
    kd = _constant(material.base_color) if not is_image(material.base_color) else np.ones(3)
    lines.append("Kd {:.6f} {:.6f} {:.6f}".format(*as_rgb(kd)))
    lines.append("Ks 0 0 0" if not material.specular else "Ks 0.04 0.04 0.04")
    if not is_image(material.roughness):
        lines.append(f"Pr {float(_constant(material.roughness)[0]):.6f}")
    if not is_image(material.metallic):
        lines.append(f"Pm {float(_constant(material.metallic)[0]):.6f}")
    lines.append(f"Ni {material.ior:.6f}")
    if material.emission is not None:
        lines.append("Ke {:.6f} {:.6f} {:.6f}".format(*material.emission))
    keys = {"base_color": "map_Kd", "roughness": "map_Pr", "metallic": "map_Pm", "normal": "norm"}
    for key, path in textures.items():
        lines.append(f"{keys[key]} {path.relative_to(folder).as_posix()}")
    return "\n".join(lines) + "\n"


def obj_text(mesh: MeshData, mtl_name: str) -> str:
    """OBJ with v/vt/vn indices sharing one index per vertex (Mitsuba meshes are unwelded)."""
    out = [f"# written by invrender\nmtllib {mtl_name}\no {mesh.name}"]
    out += [f"v {x:.7g} {y:.7g} {z:.7g}" for x, y, z in mesh.positions]
    if mesh.uvs is not None:
        out += [f"vt {u:.7g} {v:.7g}" for u, v in flip_v(mesh.uvs)]
    if mesh.normals is not None:
        out += [f"vn {x:.7g} {y:.7g} {z:.7g}" for x, y, z in mesh.normals]
    out.append(f"usemtl {mesh.material.name}")
    one = mesh.faces + 1
    if mesh.uvs is not None and mesh.normals is not None:
        out += [f"f {a}/{a}/{a} {b}/{b}/{b} {c}/{c}/{c}" for a, b, c in one]
    elif mesh.uvs is not None:
        out += [f"f {a}/{a} {b}/{b} {c}/{c}" for a, b, c in one]
    elif mesh.normals is not None:
        out += [f"f {a}//{a} {b}//{b} {c}//{c}" for a, b, c in one]
    else:
        out += [f"f {a} {b} {c}" for a, b, c in one]
    return "\n".join(out) + "\n"


def write_obj(folder: Path, mesh: MeshData) -> list[Path]:
    """``NAME.obj`` + ``NAME.mtl`` + PNG textures under ``folder/textures``."""
    textures = texture_files(mesh.material, folder / "textures", mesh.name)
    mtl = write_text(folder / f"{mesh.name}.mtl", mtl_text(mesh.material, textures, folder))
    obj = write_text(folder / f"{mesh.name}.obj", obj_text(mesh, mtl.name))
    return [obj, mtl, *textures.values()]


def vertex_tangents(mesh: MeshData) -> np.ndarray:
    """glTF TANGENTs reproducing Mitsuba's normal-map frame.

    Mitsuba's ``normalmap`` uses s = normalize(dp/du projected off n) and t = cross(n, s);
    glTF builds bitangent = cross(N, T.xyz) * T.w. So T.xyz = s per vertex (dp/du accumulated
    over the incident triangles) and T.w = +1 give the same frame.
    """
    positions, faces, uvs = mesh.positions, mesh.faces, mesh.uvs
    if uvs is None:
        raise ValueError(f"{mesh.name}: tangents need UVs")
    normals = mesh.normals if mesh.normals is not None else _vertex_normals(mesh)
    p0, p1, p2 = (positions[faces[:, i]] for i in range(3))
    t0, t1, t2 = (uvs[faces[:, i]] for i in range(3))
    dp1, dp2 = p1 - p0, p2 - p0
    du1, du2 = t1 - t0, t2 - t0
    det = du1[:, 0] * du2[:, 1] - du2[:, 0] * du1[:, 1]
    safe = np.where(np.abs(det) < 1e-20, 1.0, det)
    dp_du = (du2[:, 1:2] * dp1 - du1[:, 1:2] * dp2) / safe[:, None]
    accumulated = np.zeros_like(positions)
    for i in range(3):
        np.add.at(accumulated, faces[:, i], dp_du)
    tangent = accumulated - normals * np.sum(accumulated * normals, axis=1, keepdims=True)
    length = np.linalg.norm(tangent, axis=1, keepdims=True)
    # Degenerate UVs: any unit vector orthogonal to the normal keeps the file valid.
    fallback = np.cross(normals, np.where(np.abs(normals[:, :1]) < 0.9, [[1, 0, 0]], [[0, 1, 0]]))
    fallback /= np.linalg.norm(fallback, axis=1, keepdims=True)
    tangent = np.where(length > 1e-12, tangent / np.maximum(length, 1e-30), fallback)
    return np.concatenate([tangent, np.ones((len(tangent), 1))], axis=1)


def _vertex_normals(mesh: MeshData) -> np.ndarray:
    import trimesh

    return np.asarray(trimesh.Trimesh(mesh.positions, mesh.faces, process=False).vertex_normals)


def _pbr_material(material: Material):
    """A trimesh PBRMaterial; images are handed over as 8-bit PIL images."""
    import io

    from PIL import Image
    from trimesh.visual.material import PBRMaterial

    def image(array: np.ndarray, srgb: bool) -> Image.Image:
        return Image.open(io.BytesIO(encode_png(array, srgb=srgb)))

    kwargs: dict = {"name": material.name, "doubleSided": material.double_sided}
    if is_image(material.base_color):
        kwargs["baseColorTexture"] = image(as_rgb(material.base_color), srgb=True)
        kwargs["baseColorFactor"] = [1.0, 1.0, 1.0, 1.0]
    else:
        kwargs["baseColorFactor"] = [*np.clip(as_rgb(_constant(material.base_color)), 0, 1), 1.0]
    rough_img, metal_img = is_image(material.roughness), is_image(material.metallic)
    if rough_img or metal_img:
        # glTF packs roughness in G and metallic in B of one linear texture; the factors
        # multiply it, so a constant channel goes in as its value and factor 1.
        shape = (material.roughness if rough_img else material.metallic).shape[:2]
        rough = as_scalar(material.roughness)
        metal = as_scalar(material.metallic)
        packed = np.zeros((*shape, 3))
        packed[..., 1] = rough[..., 0] if rough_img else float(rough[0])
        packed[..., 2] = metal[..., 0] if metal_img else float(metal[0])
        if rough_img and metal_img and rough.shape[:2] != metal.shape[:2]:
            raise UnexportableError(
                f"{material.name}: roughness and metallic images of different sizes; resize "
                "one map to the other's size"
            )
        kwargs["metallicRoughnessTexture"] = image(packed, srgb=False)
        kwargs["roughnessFactor"] = 1.0
        kwargs["metallicFactor"] = 1.0
    else:
        kwargs["roughnessFactor"] = float(np.clip(_constant(material.roughness)[0], 0, 1))
        kwargs["metallicFactor"] = float(np.clip(_constant(material.metallic)[0], 0, 1))
    if material.normal_map is not None:
        kwargs["normalTexture"] = image(material.normal_map, srgb=False)
    if material.emission is not None:
        peak = float(np.max(material.emission))
        kwargs["emissiveFactor"] = list(material.emission / peak) if peak > 0 else [0, 0, 0]
    return PBRMaterial(**kwargs)


def glb_bytes(meshes: list[MeshData]) -> bytes:
    """One GLB holding every mesh with its PBR material (Mitsuba's Y-up world = glTF's)."""
    import trimesh
    from trimesh.exchange.gltf import export_glb
    from trimesh.visual import TextureVisuals

    scene = trimesh.Scene()
    extras: dict[str, Material] = {}
    for mesh in meshes:
        uv = flip_v(mesh.uvs) if mesh.uvs is not None else None
        geometry = trimesh.Trimesh(
            vertices=mesh.positions,
            faces=mesh.faces,
            vertex_normals=mesh.normals,
            visual=TextureVisuals(uv=uv, material=_pbr_material(mesh.material)),
            process=False,
        )
        if mesh.material.normal_map is not None and mesh.uvs is not None:
            geometry.vertex_attributes["_TANGENT"] = vertex_tangents(mesh).astype(np.float32)
        scene.add_geometry(geometry, geom_name=mesh.name, node_name=mesh.name)
        extras[mesh.material.name] = mesh.material

    def postprocess(tree: dict) -> None:
        for gltf_mesh in tree.get("meshes", []):
            for primitive in gltf_mesh["primitives"]:
                attributes = primitive["attributes"]
                if "_TANGENT" in attributes:
                    attributes["TANGENT"] = attributes.pop("_TANGENT")
        _set_buffer_view_targets(tree)
        _add_material_extensions(tree, extras)

    return export_glb(scene, include_normals=True, tree_postprocessor=postprocess)


_COMPONENTS = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4}


def _set_buffer_view_targets(tree: dict) -> None:
    """Mark vertex/index buffer views and give shared ones a stride, as the validator asks.

    trimesh stores byte-identical arrays once (a unit sphere's normals equal its positions),
    and glTF requires ``byteStride`` on a buffer view that several vertex accessors read.
    """
    accessors, views = tree.get("accessors", []), tree.get("bufferViews", [])
    readers: dict[int, list[int]] = {}
    for gltf_mesh in tree.get("meshes", []):
        for primitive in gltf_mesh["primitives"]:
            for accessor in primitive["attributes"].values():
                readers.setdefault(accessors[accessor]["bufferView"], []).append(accessor)
            if "indices" in primitive:
                views[accessors[primitive["indices"]]["bufferView"]]["target"] = 34963
    for view, users in readers.items():
        views[view]["target"] = 34962
        if len(set(users)) > 1:
            sizes = {_COMPONENTS[accessors[a]["type"]] * 4 for a in users}
            if len(sizes) == 1:
                views[view]["byteStride"] = sizes.pop()


def _add_material_extensions(tree: dict, extras: dict[str, Material]) -> None:
    """Specular-off, IOR and emissive-strength extensions that trimesh does not write."""
    used: set[str] = set()
    for gltf_material in tree.get("materials", []):
        material = extras.get(gltf_material.get("name", ""))
        if material is None:
            continue
        ext = gltf_material.setdefault("extensions", {})
        if not material.specular:
            ext["KHR_materials_specular"] = {"specularFactor": 0.0}
            used.add("KHR_materials_specular")
        elif abs(material.ior - 1.5) > 1e-6:
            ext["KHR_materials_ior"] = {"ior": float(material.ior)}
            used.add("KHR_materials_ior")
        if material.emission is not None and float(np.max(material.emission)) > 1.0:
            ext["KHR_materials_emissive_strength"] = {
                "emissiveStrength": float(np.max(material.emission))
            }
            used.add("KHR_materials_emissive_strength")
        if not ext:
            del gltf_material["extensions"]
    if used:
        tree["extensionsUsed"] = sorted(set(tree.get("extensionsUsed", [])) | used)


def write_glb(path: Path, meshes: list[MeshData]) -> Path:
    return write_bytes(path, glb_bytes(meshes))
