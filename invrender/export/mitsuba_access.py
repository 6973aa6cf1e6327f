"""Small readers over live Mitsuba objects: child objects, parameter values, textures.

``mi.traverse`` flattens a subtree into dotted keys and forgets which plugin each key belongs
to; the exporters need the objects themselves (a ``twosided`` wrapping a ``roughplastic``), so
this walks one level at a time with our own ``TraversalCallback``.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from invrender.errors import InvrenderError

# Mitsuba 3.9 C++ class names -> the plugin names used in XML / dicts.
PLUGIN_NAMES = {
    "SmoothDiffuse": "diffuse",
    "Principled": "principled",
    "PrincipledThinBSDF": "principledthin",
    "RoughConductor": "roughconductor",
    "SmoothConductor": "conductor",
    "RoughPlastic": "roughplastic",
    "SmoothPlastic": "plastic",
    "TwoSidedBRDF": "twosided",
    "NormalMap": "normalmap",
    "BumpMap": "bumpmap",
    "SmoothDielectric": "dielectric",
    "RoughDielectric": "roughdielectric",
    "AreaLight": "area",
    "PointLight": "point",
    "EnvironmentMapEmitter": "envmap",
    "ConstantBackgroundEmitter": "constant",
    "DirectionalEmitter": "directional",
    "SpotLight": "spot",
    "PerspectiveCamera": "perspective",
    "Sphere": "sphere",
    "Rectangle": "rectangle",
    "Cube": "cube",
    "Disk": "disk",
    "Checkerboard": "checkerboard",
}


class UnexportableError(InvrenderError):
    """Something in the scene that no exporter writes (one line, with the fix)."""


def plugin_name(obj: Any) -> str:
    """The XML plugin name of a Mitsuba object (``"principled"``), or its class name lowercased."""
    cls = obj.class_name()
    if cls.startswith("BitmapTexture"):
        return "bitmap"
    return PLUGIN_NAMES.get(cls, cls.lower())


def children(obj: Any) -> dict[str, Any]:
    """One level of ``obj.traverse``: parameter values and child objects, by name.

    Child objects come from our own ``TraversalCallback``; plain C++ values (which reach a
    callback as pointers) are read through ``mi.traverse``, Mitsuba's own accessor. Reading
    them with ``mi.get_property`` inside the callback corrupted memory in Mitsuba 3.9.1
    (a later ``load_dict`` + render crashed once the scene was freed).
    """
    import mitsuba as mi

    class _Collect(mi.TraversalCallback):
        def __init__(self) -> None:
            super().__init__()
            self.objects: dict[str, Any] = {}
            self.values: list[str] = []

        def put(self, name, value, flags, cpptype=None):  # noqa: ANN001 (Mitsuba's signature)
            if isinstance(value, mi.Object):
                self.objects[name] = value
            else:
                self.values.append(name)

    collector = _Collect()
    obj.traverse(collector)
    items: dict[str, Any] = {}
    if collector.values:
        params = mi.traverse(obj)
        for name in collector.values:
            if name in params:
                items[name] = params[name]
    items.update(collector.objects)
    return items


def to_numpy(value: Any) -> np.ndarray:
    """A detached float64 numpy copy of a Dr.Jit value (scalars become shape (1,))."""
    import drjit as dr

    if isinstance(value, (int, float)):
        return np.array([float(value)])
    if dr.is_array_v(value):
        value = dr.detach(value)
    return np.array(value, dtype=np.float64)


def transform_matrix(value: Any) -> np.ndarray:
    """The 4x4 (or 3x3) numpy matrix of a Mitsuba (Affine)Transform, scalar or JIT."""
    import drjit as dr

    matrix = value.matrix
    if dr.is_array_v(matrix):
        matrix = dr.detach(matrix)
    array = np.array(matrix, dtype=np.float64)
    if array.ndim == 3:
        array = array[..., 0]
    return array


def texture_value(obj_or_value: Any) -> np.ndarray:
    """A texture's data as Mitsuba renders it: (C,) for constants, (H, W, C) for bitmaps.

    Bitmap data are linear in memory (Mitsuba converted sRGB files at load time unless
    ``raw``), so exporters choose the file encoding from what the channel means.
    """
    import mitsuba as mi

    if not isinstance(obj_or_value, mi.Object):
        return to_numpy(obj_or_value).reshape(-1)
    items = children(obj_or_value)
    if "data" in items:
        data = to_numpy(items["data"])
        return data.reshape(data.shape[0], data.shape[1], -1)
    if "value" in items:
        return to_numpy(items["value"]).reshape(-1)
    name = plugin_name(obj_or_value)
    raise UnexportableError(
        f"texture plugin '{name}' cannot be exported (exporters write bitmaps and constants; "
        "3-D grids are baked to UV maps on meshes by `invrender export`)"
    )


def texture_uv_transform(obj: Any) -> np.ndarray | None:
    """A bitmap's ``to_uv`` 3x3 matrix when it is not the identity."""
    items = children(obj)
    if "to_uv" not in items:
        return None
    matrix = transform_matrix(items["to_uv"])
    return None if np.allclose(matrix, np.eye(3)) else matrix


def repr_field(obj: Any, field: str) -> str | None:
    """A ``field = value`` entry of an object's printed form, for settings traverse omits."""
    match = re.search(rf"\b{re.escape(field)}\s*=\s*([^,\n\]]+)", repr(obj))
    return match.group(1).strip().strip('"') if match else None
