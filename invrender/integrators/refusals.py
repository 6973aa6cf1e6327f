"""Configurations an integrator refuses instead of returning a wrong or silent-zero gradient.

Each of invrender's integrators defines ``refusal(scene, moving) -> str | None``: given the
shapes whose geometry a differentiated parameter moves, the one-line reason it cannot give a
right derivative, with the fix. The integrators call it when they differentiate (the shapes
whose parameters carry gradients then), and ``invrender check`` calls it with the shapes the
config's optimized keys move, so a run fails before it starts.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import mitsuba as mi

from invrender.errors import InvrenderError

# Shape parameters that move geometry (the last component of a scene-parameter key).
_GEOMETRY_KEYS = frozenset({"vertex_positions", "to_world", "center", "radius", "control_points"})

# Mitsuba's analytic shapes, by shape type (meshes are ShapeType.Mesh).
ANALYTIC_KINDS = {
    mi.ShapeType.Sphere: "sphere",
    mi.ShapeType.Disk: "disk",
    mi.ShapeType.Rectangle: "rectangle",
    mi.ShapeType.Cylinder: "cylinder",
}


class IntegratorRefusal(InvrenderError):
    """An integrator cannot differentiate this configuration (the message says the fix)."""


def moving_shapes(scene: mi.Scene) -> list[mi.Shape]:
    """Shapes whose parameters (vertex positions, to_world) carry gradients now."""
    return [shape for shape in scene.shapes() if shape.parameters_grad_enabled()]


def camera_moves(scene: mi.Scene) -> bool:
    """A sensor's pose carries gradients (``sensor.to_world`` differentiated)."""
    import drjit as dr

    return any(dr.grad_enabled(sensor.world_transform()) for sensor in scene.sensors())


CAMERA_REFUSAL = (
    "{name}: the camera pose is differentiated, which {name} does not handle; express "
    "the camera's motion as the opposite motion of the scene's meshes "
    "(scripts/fixtures/scenes.py: camera_translation)"
)


def shapes_moved_by(params: Any, keys: Iterable[str]) -> list[mi.Shape]:
    """Shapes whose geometry the scene-parameter ``keys`` move (for ``invrender check``)."""
    found: list[mi.Shape] = []
    for key in keys:
        if key not in params or key.rsplit(".", 1)[-1] not in _GEOMETRY_KEYS:
            continue
        node = params.properties[key][2]
        if isinstance(node, mi.Shape) and all(node is not s for s in found):
            found.append(node)
    return found


def shape_kind(shape: mi.Shape) -> str:
    """``mesh``, an analytic kind (``sphere``, ``disk``, ...) or Mitsuba's type name."""
    if shape.is_mesh():
        return "mesh"
    kind = mi.ShapeType(shape.shape_type())
    return ANALYTIC_KINDS.get(kind, kind.name.lower())


def shape_label(shape: mi.Shape) -> str:
    """The shape's id (as in its scene-parameter keys), or its kind when it has none."""
    return shape.id() or shape_kind(shape)


def check_integrator(integrator: Any, scene: mi.Scene, moving: list[mi.Shape]) -> None:
    """Raise :class:`IntegratorRefusal` if ``integrator`` refuses this configuration."""
    refusal = getattr(integrator, "refusal", None)
    if refusal is None:
        return
    reason = refusal(scene, moving)
    if reason:
        raise IntegratorRefusal(reason)
