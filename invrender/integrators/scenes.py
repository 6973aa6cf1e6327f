"""Tiny reference scenes that each isolate one effect, for gradient tests and benchmarks.

Every builder returns a :class:`ReferenceScene`: a fresh Mitsuba scene dict (meshes are
built in memory, so each call gives independent objects), the parameter key(s) that move,
and a :class:`Perturbation` that maps one scalar ``theta`` to new parameter values. The
derivative of interest is always d(image)/d(theta) at ``theta = 0``.

Objects are offset by a fraction of a pixel from pixel boundaries so central finite
differences across a box-filtered silhouette do not straddle a kink (see NOTES-mitsuba.md).

Mitsuba 3.9.1's perspective sensor does not differentiate its ``to_world``; the camera scene
therefore expresses a camera translation by ``t`` as the opposite translation ``-t`` of every
mesh (the scene's only emitters are on meshes, so the two are the same image). Its
``primal_perturbation`` moves the real camera, so finite differences check that equivalence.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from invrender.geometry.shapes import make_mesh

SceneBuilder = Callable[..., "ReferenceScene"]


@dataclass
class Perturbation:
    """Maps a scalar ``theta`` to parameter values; ``theta = 0`` restores the originals.

    ``kind`` is one of ``translate`` (flat vertex buffers, ``axis``), ``scale`` (vertex
    buffers about ``center``), ``to_world`` (pre-multiply a translation along ``axis``),
    ``add`` (add ``theta`` to a colour / float value).
    """

    kind: str
    keys: tuple[str, ...]
    axis: tuple[float, float, float] = (1.0, 0.0, 0.0)
    center: tuple[float, float, float] = (0.0, 0.0, 0.0)

    def capture(self, params: Any) -> dict[str, Any]:
        """Detached copies of the current values, to perturb from."""
        import drjit as dr

        return {k: type(params[k])(dr.detach(params[k])) for k in self.keys}

    def apply(self, params: Any, base: dict[str, Any], theta: Any) -> None:
        """Write ``base`` perturbed by ``theta`` into ``params`` (call ``params.update()``)."""
        import drjit as dr
        import mitsuba as mi

        theta = mi.Float(theta)
        for key in self.keys:
            value = base[key]
            if self.kind == "translate":
                pos = dr.unravel(mi.Point3f, value)
                params[key] = dr.ravel(pos + mi.Vector3f(self.axis) * theta)
            elif self.kind == "scale":
                pos = dr.unravel(mi.Point3f, value)
                c = mi.Point3f(self.center)
                params[key] = dr.ravel(c + (pos - c) * (1.0 + theta))
            elif self.kind == "to_world":
                shift = mi.Transform4f().translate(mi.Vector3f(self.axis) * theta)
                params[key] = shift @ mi.Transform4f(value)
            elif self.kind == "add":
                params[key] = value + theta
            else:
                raise ValueError(f"unknown perturbation kind {self.kind!r}")


@dataclass
class ReferenceScene:
    """A scene dict, the key that is differentiated and how ``theta`` perturbs it."""

    name: str
    scene: dict
    key: str
    perturbation: Perturbation
    description: str
    # Perturbation used for primal (finite-difference) renders; defaults to ``perturbation``.
    primal_perturbation: Perturbation | None = None
    # Path depth the effect needs; larger adds cost and noise only.
    max_depth: int = 3
    extra: dict = field(default_factory=dict)

    def __iter__(self):  # (scene, key, perturbation), as the issue describes
        return iter((self.scene, self.key, self.perturbation))

    @property
    def fd_perturbation(self) -> Perturbation:
        return self.primal_perturbation or self.perturbation


# ----------------------------------------------------------------------------- geometry


def uv_sphere_arrays(
    center=(0.0, 0.0, 0.0), radius: float = 1.0, n_lat: int = 12, n_lon: int = 24
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Vertices (V,3), faces (F,3) and unit normals (V,3) of a closed UV sphere."""
    theta = np.linspace(0.0, np.pi, n_lat + 1)[1:-1]
    phi = np.linspace(0.0, 2.0 * np.pi, n_lon, endpoint=False)
    t, p = np.meshgrid(theta, phi, indexing="ij")
    ring = np.stack([np.sin(t) * np.cos(p), np.sin(t) * np.sin(p), np.cos(t)], -1).reshape(-1, 3)
    normals = np.concatenate([[[0.0, 0.0, 1.0]], ring, [[0.0, 0.0, -1.0]]])
    top, bottom = 0, len(normals) - 1
    faces = []
    for j in range(n_lon):
        j1 = (j + 1) % n_lon
        faces.append([top, 1 + j, 1 + j1])
        for i in range(n_lat - 2):
            a, b = 1 + i * n_lon + j, 1 + i * n_lon + j1
            c, d = a + n_lon, b + n_lon
            faces += [[a, c, d], [a, d, b]]
        last = 1 + (n_lat - 2) * n_lon
        faces.append([last + j, bottom, last + j1])
    verts = np.asarray(center) + radius * normals
    return verts.astype(np.float32), np.asarray(faces, np.uint32), normals.astype(np.float32)


def quad_arrays(center, half_x: float, half_y: float, normal_axis: int = 2):
    """Two-triangle quad in the plane normal to ``normal_axis`` (normal along +axis)."""
    c = np.asarray(center, np.float32)
    u, v = [a for a in range(3) if a != normal_axis]
    if normal_axis == 1:  # keep a right-handed winding so the normal is +y
        u, v = v, u
    corners = np.zeros((4, 3), np.float32)
    for i, (su, sv) in enumerate([(-1, -1), (1, -1), (1, 1), (-1, 1)]):
        corners[i] = c
        corners[i, u] += su * half_x
        corners[i, v] += sv * half_y
    faces = np.array([[0, 1, 2], [0, 2, 3]], np.uint32)
    return corners, faces


def _film(res: int, rfilter: str, sample_border: bool) -> dict:
    film = {
        "type": "hdrfilm",
        "width": res,
        "height": res,
        "rfilter": {"type": rfilter},
        "pixel_format": "rgb",
        "sample_border": sample_border,
    }
    return film


def _sensor(origin, target, up, fov: float, res: int, rfilter: str, sample_border: bool) -> dict:
    import mitsuba as mi

    return {
        "type": "perspective",
        "fov": fov,
        "to_world": mi.ScalarTransform4f().look_at(origin=origin, target=target, up=up),
        "film": _film(res, rfilter, sample_border),
        "sampler": {"type": "independent"},
    }


def _rgb(value) -> dict:
    return {"type": "rgb", "value": value}


def procedural_envmap(height: int = 16, width: int = 32) -> Any:
    """A small smooth-but-varying RGB environment bitmap (sky gradient plus a warm blob)."""
    import mitsuba as mi

    v, u = np.meshgrid(
        (np.arange(height) + 0.5) / height, (np.arange(width) + 0.5) / width, indexing="ij"
    )
    sky = np.stack([0.3 + 0.5 * (1 - v), 0.4 + 0.4 * (1 - v), 0.8 - 0.3 * v], -1)
    blob = np.exp(-(((u - 0.3) / 0.08) ** 2 + ((v - 0.35) / 0.12) ** 2))[..., None]
    img = sky + blob * np.array([2.0, 1.4, 0.6]) + 0.2 * np.sin(6.0 * np.pi * u)[..., None] ** 2
    return mi.Bitmap(img.astype(np.float32))


# ----------------------------------------------------------------------------- scenes

_CAM = dict(origin=[0.0, 0.0, 4.0], target=[0.0, 0.0, 0.0], up=[0.0, 1.0, 0.0], fov=30.0)
# Sub-pixel offsets (1 px at z=0 is ~0.067 world units at 32 px).
_OBJ_CENTER = (0.0137, 0.0231, 0.0)


def _emissive_backdrop() -> Any:
    verts, faces = quad_arrays((0.0, 0.0, -1.0), 3.0, 3.0)
    return make_mesh(
        "backdrop",
        verts,
        faces,
        bsdf={"type": "diffuse", "reflectance": _rgb(0.0)},
        emitter={"type": "area", "radiance": _rgb([0.15, 0.2, 0.3])},
    )


def _silhouette_dict(res, rfilter, sample_border) -> dict:
    # Flat shading: with vertex normals an area emitter goes dark in a thin band inside its
    # outline (shading normal facing away), a second moving discontinuity.
    v, f, _ = uv_sphere_arrays(_OBJ_CENTER, 0.45)
    obj = make_mesh(
        "object",
        v,
        f,
        None,
        bsdf={"type": "diffuse", "reflectance": _rgb(0.0)},
        emitter={"type": "area", "radiance": _rgb([1.0, 0.6, 0.3])},
    )
    return {
        "type": "scene",
        "sensor": _sensor(**_CAM, res=res, rfilter=rfilter, sample_border=sample_border),
        "object": obj,
        "backdrop": _emissive_backdrop(),
    }


def silhouette(res: int = 32, rfilter: str = "box", sample_border: bool = False) -> ReferenceScene:
    """A glowing sphere mesh translating along +x in front of a glowing backdrop.

    Only primary visibility changes: the image is piecewise constant, so the whole
    derivative is the silhouette boundary term.
    """
    return ReferenceScene(
        name="silhouette",
        scene=_silhouette_dict(res, rfilter, sample_border),
        key="object.vertex_positions",
        perturbation=Perturbation("translate", ("object.vertex_positions",), axis=(1, 0, 0)),
        description="emissive sphere mesh translating in x before an emissive backdrop",
        max_depth=2,
    )


def scaling_envmap(res: int = 32, rfilter: str = "box", sample_border: bool = False):
    """A flat-shaded diffuse sphere mesh scaling about its centre under an environment map.

    Flat shading on purpose: with interpolated vertex normals, the shading normal and the
    geometric normal disagree near the outline and each facet casts a slightly different
    self-shadow, which makes every facet edge a tiny moving discontinuity. Flat facets make
    those discontinuities explicit (crease edges) instead.
    """
    center = (0.0213, -0.0117, 0.0)
    v, f, _ = uv_sphere_arrays(center, 0.5, n_lat=8, n_lon=12)
    obj = make_mesh(
        "object", v, f, None, bsdf={"type": "diffuse", "reflectance": _rgb([0.7, 0.5, 0.3])}
    )
    scene = {
        "type": "scene",
        "sensor": _sensor(**_CAM, res=res, rfilter=rfilter, sample_border=sample_border),
        "object": obj,
        "env": {"type": "envmap", "bitmap": procedural_envmap()},
    }
    return ReferenceScene(
        name="scaling_envmap",
        scene=scene,
        key="object.vertex_positions",
        perturbation=Perturbation("scale", ("object.vertex_positions",), center=center),
        description="diffuse sphere mesh scaling about its centre under an envmap",
        max_depth=2,
    )


def _shadow_dict(res, rfilter, sample_border, albedo=0.5, radiance=120.0) -> dict:
    """Floor seen from above, rectangular area light to the side, blocker out of view."""
    fv, ff = quad_arrays((0.0, 0.0, 0.0), 2.5, 2.5)
    floor = make_mesh(
        "floor", fv, ff, bsdf={"type": "diffuse", "reflectance": _rgb([albedo, albedo, albedo])}
    )
    # Light at (2.6, 0, 2.6) facing the floor centre; blocker half-way, outside the view.
    import mitsuba as mi

    light = {
        "type": "rectangle",
        "to_world": mi.ScalarTransform4f()
        .look_at(origin=[2.6, 0.0, 2.6], target=[0.0, 0.0, 0.0], up=[0.0, 1.0, 0.0])
        .scale([0.2, 0.2, 1.0]),
        "bsdf": {"type": "diffuse", "reflectance": _rgb(0.0)},
        "emitter": {"type": "area", "radiance": _rgb([radiance, radiance, radiance])},
    }
    bv, bf = quad_arrays((1.4137, 0.0211, 1.45), 0.22, 0.3)
    blocker = make_mesh("blocker", bv, bf, bsdf={"type": "diffuse", "reflectance": _rgb(0.0)})
    return {
        "type": "scene",
        "sensor": _sensor(
            origin=[0.0, 0.0, 4.0],
            target=[0.0, 0.0, 0.0],
            up=[0.0, 1.0, 0.0],
            fov=35.0,
            res=res,
            rfilter=rfilter,
            sample_border=sample_border,
        ),
        "floor": floor,
        "light": light,
        "blocker": blocker,
    }


def shadow(res: int = 32, rfilter: str = "box", sample_border: bool = False) -> ReferenceScene:
    """A blocker (never seen by the camera) translating between an area light and a floor."""
    return ReferenceScene(
        name="shadow",
        scene=_shadow_dict(res, rfilter, sample_border),
        key="blocker.vertex_positions",
        perturbation=Perturbation("translate", ("blocker.vertex_positions",), axis=(1, 0, 0)),
        description="black blocker translating in x between an area light and a diffuse floor",
        max_depth=2,
    )


def shadow_receiver(res: int = 32, rfilter: str = "box", sample_border: bool = False):
    """The shadow scene with the floor (the shadow receiver) rising along +z instead.

    The shadow slides over the floor while the blocker and the light stay put, so the
    boundary term comes from static edges seen from moving shading points.
    """
    return ReferenceScene(
        name="shadow_receiver",
        scene=_shadow_dict(res, rfilter, sample_border),
        key="floor.vertex_positions",
        perturbation=Perturbation("translate", ("floor.vertex_positions",), axis=(0, 0, 1)),
        description="floor translating along its normal under a static blocker and light",
        max_depth=2,
    )


def _ball_shadow_dict(
    res, rfilter, sample_border, two_sided=False, light_visible=False, blocker_visible=False
) -> dict:
    """Diffuse ground (z = 0), black ball mesh above it, rectangle light facing down above that.

    The default camera looks at the ground from low down, so it sees neither the light nor
    the ball: only the ground and the ball's soft shadow.
    """
    import mitsuba as mi

    fv, ff = quad_arrays((0.0, 0.0, 0.0), 10.0, 10.0)
    ground = make_mesh("ground", fv, ff, bsdf={"type": "diffuse", "reflectance": _rgb(0.6)})
    radiance = _rgb([30.0, 30.0, 30.0])
    black = {"type": "diffuse", "reflectance": _rgb(0.0)}
    if two_sided:
        # Two quads back to back (one facing down, one up 1 mm above it, so a ray from
        # either side meets the front of one first): a light that emits both ways.
        lv, lf = quad_arrays((0.0213, -0.0141, 2.5), 0.5, 0.5)
        verts = np.concatenate([lv, lv + np.array([0.0, 0.0, 1e-3], np.float32)])
        faces = np.concatenate([lf[:, ::-1], lf + 4]).astype(np.uint32)  # down, then up
        light = make_mesh(
            "light", verts, faces, bsdf=black, emitter={"type": "area", "radiance": radiance}
        )
    else:
        # Mitsuba's rectangle faces +z; flipped about x it faces the ground (one-sided).
        light = {
            "type": "rectangle",
            "to_world": mi.ScalarTransform4f()
            .translate([0.0213, -0.0141, 2.5])
            .rotate([1.0, 0.0, 0.0], 180.0)
            .scale([0.5, 0.5, 1.0]),
            "bsdf": black,
            "emitter": {"type": "area", "radiance": radiance},
        }
    bv, bf, _ = uv_sphere_arrays((0.0137, 0.0211, 1.2), 0.35, n_lat=10, n_lon=20)
    ball = make_mesh("blocker", bv, bf, None, bsdf=black)
    # The ball is seen against the ground (a large one), so its outline has contrast.
    if light_visible:  # sees the ground, the ball and the light's underside
        origin, target, fov = [0.0, -4.5, 2.0], [0.0, 0.0, 1.0], 60.0
    elif blocker_visible:  # sees the ground and the ball, the light is above the frame
        origin, target, fov = [0.0, -3.5, 2.2], [0.0, 0.0, 0.5], 40.0
    else:
        origin, target, fov = [0.0, -4.5, 1.0], [0.0, 0.3, 0.0], 26.0
    return {
        "type": "scene",
        "sensor": _sensor(
            origin=origin,
            target=target,
            up=[0.0, 0.0, 1.0],
            fov=fov,
            res=res,
            rfilter=rfilter,
            sample_border=sample_border,
        ),
        "ground": ground,
        "light": light,
        "blocker": ball,
    }


def ball_shadow(
    res: int = 64,
    rfilter: str = "box",
    sample_border: bool = True,
    two_sided: bool = False,
    light_visible: bool = False,
    blocker_visible: bool = False,
) -> ReferenceScene:
    """A black ball mesh translating in x between a one-sided light facing down and the ground.

    Variations: ``two_sided`` (the light emits both ways), ``light_visible`` /
    ``blocker_visible`` (a higher, wider camera that sees the light and the ball too).
    """
    return ReferenceScene(
        name="ball_shadow",
        scene=_ball_shadow_dict(
            res, rfilter, sample_border, two_sided, light_visible, blocker_visible
        ),
        key="blocker.vertex_positions",
        perturbation=Perturbation("translate", ("blocker.vertex_positions",), axis=(1, 0, 0)),
        description="black ball mesh translating in x under a one-sided light facing down",
        max_depth=2,
    )


def albedo(res: int = 32, rfilter: str = "box", sample_border: bool = False) -> ReferenceScene:
    """The shadow scene with a static blocker; theta adds to the floor's diffuse albedo."""
    return ReferenceScene(
        name="albedo",
        scene=_shadow_dict(res, rfilter, sample_border),
        key="floor.bsdf.reflectance.value",
        perturbation=Perturbation("add", ("floor.bsdf.reflectance.value",)),
        description="diffuse albedo of the floor",
        max_depth=2,
    )


def light_intensity(res: int = 32, rfilter: str = "box", sample_border: bool = False):
    """The shadow scene with a static blocker; theta adds to the area light's radiance."""
    return ReferenceScene(
        name="light_intensity",
        scene=_shadow_dict(res, rfilter, sample_border),
        key="light.emitter.radiance.value",
        perturbation=Perturbation("add", ("light.emitter.radiance.value",)),
        description="radiance of the rectangular area light",
        max_depth=2,
    )


def camera_translation(res: int = 32, rfilter: str = "box", sample_border: bool = False):
    """The silhouette scene with the camera translating along +x.

    Differentiated as every mesh moving along -x (Mitsuba's camera pose is not
    differentiable); finite differences move the real camera.
    """
    keys = ("object.vertex_positions", "backdrop.vertex_positions")
    return ReferenceScene(
        name="camera_translation",
        scene=_silhouette_dict(res, rfilter, sample_border),
        key="sensor.to_world",
        perturbation=Perturbation("translate", keys, axis=(-1, 0, 0)),
        primal_perturbation=Perturbation("to_world", ("sensor.to_world",), axis=(1, 0, 0)),
        description="camera translating in x (as the opposite motion of all meshes)",
        max_depth=2,
    )


def analytic_sphere(res: int = 32, rfilter: str = "box", sample_border: bool = False):
    """A glowing analytic ``sphere`` shape (no mesh) translating in x before a backdrop."""
    import mitsuba as mi

    ball = {
        "type": "sphere",
        "to_world": mi.ScalarTransform4f().translate(list(_OBJ_CENTER)).scale(0.45),
        "bsdf": {"type": "diffuse", "reflectance": _rgb(0.0)},
        "emitter": {"type": "area", "radiance": _rgb([1.0, 0.6, 0.3])},
    }
    scene = {
        "type": "scene",
        "sensor": _sensor(**_CAM, res=res, rfilter=rfilter, sample_border=sample_border),
        "ball": ball,
        "backdrop": _emissive_backdrop(),
    }
    return ReferenceScene(
        name="analytic_sphere",
        scene=scene,
        key="ball.to_world",
        perturbation=Perturbation("to_world", ("ball.to_world",), axis=(1, 0, 0)),
        description="emissive analytic sphere translating in x (not a mesh)",
        max_depth=2,
    )


def glossy_reflection(res: int = 32, rfilter: str = "box", sample_border: bool = False):
    """A glowing sphere mesh, out of direct view, moving in x; seen only in a rough mirror."""
    center = (0.0137, 1.0, 1.4)
    v, f, _ = uv_sphere_arrays(center, 0.35)
    obj = make_mesh(
        "object",
        v,
        f,
        None,
        bsdf={"type": "diffuse", "reflectance": _rgb(0.0)},
        emitter={"type": "area", "radiance": _rgb([3.0, 2.0, 1.0])},
    )
    fv, ff = quad_arrays((0.0, 0.0, 0.0), 3.0, 3.0)
    floor = make_mesh("floor", fv, ff, bsdf={"type": "roughconductor", "alpha": 0.15})
    scene = {
        "type": "scene",
        "sensor": _sensor(
            origin=[0.0, -4.0, 1.5],
            target=[0.0, 0.0, 0.0],
            up=[0.0, 0.0, 1.0],
            fov=30.0,
            res=res,
            rfilter=rfilter,
            sample_border=sample_border,
        ),
        "object": obj,
        "floor": floor,
    }
    return ReferenceScene(
        name="glossy_reflection",
        scene=scene,
        key="object.vertex_positions",
        perturbation=Perturbation("translate", ("object.vertex_positions",), axis=(1, 0, 0)),
        description="emissive sphere mesh seen only in a roughconductor floor, moving in x",
        max_depth=3,
    )


def smooth_silhouette(res: int = 64, rfilter: str = "box", sample_border: bool = False):
    """A diffuse sphere mesh *with smooth vertex normals* translating in x before a bright
    emissive wall; a dim constant environment lights its front."""
    v, f, n = uv_sphere_arrays(_OBJ_CENTER, 0.45, n_lat=16, n_lon=32)
    obj = make_mesh("object", v, f, n, bsdf={"type": "diffuse", "reflectance": _rgb(0.6)})
    wv, wf = quad_arrays((0.0, 0.0, -1.0), 3.0, 3.0)
    wall = make_mesh(
        "backdrop",
        wv,
        wf,
        bsdf={"type": "diffuse", "reflectance": _rgb(0.0)},
        emitter={"type": "area", "radiance": _rgb([2.0, 2.0, 2.0])},
    )
    scene = {
        "type": "scene",
        "sensor": _sensor(**_CAM, res=res, rfilter=rfilter, sample_border=sample_border),
        "object": obj,
        "backdrop": wall,
        "env": {"type": "constant", "radiance": _rgb(0.3)},
    }
    return ReferenceScene(
        name="smooth_silhouette",
        scene=scene,
        key="object.vertex_positions",
        perturbation=Perturbation("translate", ("object.vertex_positions",), axis=(1, 0, 0)),
        description="smooth-normal diffuse sphere mesh translating before a bright wall",
        max_depth=3,
    )


def glossy_scaling(res: int = 64, rfilter: str = "gaussian", sample_border: bool = False):
    """A smooth-normal glossy (rough plastic) sphere mesh scaling about its centre under an
    environment map."""
    center = (0.0213, -0.0117, 0.0)
    v, f, n = uv_sphere_arrays(center, 0.5, n_lat=16, n_lon=32)
    bsdf = {
        "type": "roughplastic",
        "alpha": 0.1,
        "diffuse_reflectance": _rgb([0.4, 0.3, 0.2]),
    }
    obj = make_mesh("object", v, f, n, bsdf=bsdf)
    scene = {
        "type": "scene",
        "sensor": _sensor(**_CAM, res=res, rfilter=rfilter, sample_border=sample_border),
        "object": obj,
        "env": {"type": "envmap", "bitmap": procedural_envmap()},
    }
    return ReferenceScene(
        name="glossy_scaling",
        scene=scene,
        key="object.vertex_positions",
        perturbation=Perturbation("scale", ("object.vertex_positions",), center=center),
        description="glossy smooth-normal sphere mesh scaling under an envmap",
        max_depth=3,
    )


# Name -> builder. The first six are the issue-3 acceptance scenes; the rest were added later.
SCENES: dict[str, SceneBuilder] = {
    "silhouette": silhouette,
    "scaling_envmap": scaling_envmap,
    "shadow": shadow,
    "albedo": albedo,
    "light_intensity": light_intensity,
    "camera_translation": camera_translation,
    "analytic_sphere": analytic_sphere,
    "shadow_receiver": shadow_receiver,
    "glossy_reflection": glossy_reflection,
    "ball_shadow": ball_shadow,
    "smooth_silhouette": smooth_silhouette,
    "glossy_scaling": glossy_scaling,
}


def build(name: str, **kwargs: Any) -> ReferenceScene:
    """Build the reference scene called ``name`` (see :data:`SCENES`)."""
    if name not in SCENES:
        raise KeyError(f"unknown reference scene {name!r}; choose from {', '.join(SCENES)}")
    return SCENES[name](**kwargs)
