"""The texture stage: swap the optimized shape for a UV-mapped mesh with principled UV maps.

Mitsuba cannot change a loaded BSDF's plugin type (a ``diffuse`` with a ``volume`` texture
cannot become a ``principled`` with bitmaps), so the stage builds a new scene: the other
shapes, emitters and sensors are handed over as the same live objects (their parameter keys
stay the same), and the optimized shape becomes a new mesh (split along the atlas seams, with
the welded mesh's normals) whose principled BSDF reads ``base_color``, ``roughness`` and
``metallic`` from bitmaps. The maps start baked from the old material where it has that
parameter (diffuse ``reflectance`` -> base colour) and from ``geometry.texture.*.init`` where
not, and are optimized in texture space from then on. The mesh is frozen.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from invrender.config.texturing import TextureStage
from invrender.errors import ConfigError
from invrender.texturing.atlas import Atlas, unwrap
from invrender.texturing.bake import bake_texture, rasterize, texel_surface

#: Principled parameters that get a UV map, with their channel counts.
MAPS = {"base_color": 3, "roughness": 1, "metallic": 1}
#: Where each map's initial values come from in the old BSDF, by its plugin type.
SOURCES = {
    "diffuse": {"base_color": "reflectance"},
    "principled": {name: name for name in MAPS},
    "roughplastic": {"base_color": "diffuse_reflectance"},
    "plastic": {"base_color": "diffuse_reflectance"},
}


class TexturedSurface:
    """State of the texture stage for one shape: its atlas and the optimized UV maps."""

    def __init__(self, spec: TextureStage, shape_id: str) -> None:
        self.spec = spec
        self.shape_id = shape_id
        self.atlas: Atlas | None = None
        self.maps: dict[str, np.ndarray] = {}
        self.specular = 0.5 if spec.specular is None else spec.specular
        self._covered: np.ndarray | None = None  # (H, W) texels on a chart, from the atlas
        self._pairs: dict[int, tuple[Any, Any]] = {}  # channels -> TV pair masks (Dr.Jit)

    @property
    def active(self) -> bool:
        return self.atlas is not None

    def key(self, name: str) -> str:
        return f"{self.shape_id}.bsdf.{name}.data"

    @property
    def specular_key(self) -> str:
        return f"{self.shape_id}.bsdf.specular"

    def offset_key(self, name: str) -> str:
        """The optimizer variable of a map's level (see ``offsets``); not a scene parameter."""
        return f"{self.shape_id}.bsdf.{name}.offset"

    def offsets(self) -> dict[str, float]:
        """Maps with a level optimized apart from their texels, and its learning rate.

        A texel is seen in a few views at a few samples, so its gradient is mostly noise and
        Adam moves it by about its lr in a random direction: after 250 steps the benchmark's
        roughness maps still had their start (0.5) as median, the metallic pen's metallic map
        0.1 against a true 0.8. One value added to every texel gets the sum of all their
        gradients, where the noise cancels and the material's level does not."""
        specs = {"roughness": self.spec.roughness, "metallic": self.spec.metallic}
        return {name: spec.offset_lr for name, spec in specs.items() if spec.offset_lr > 0}

    def keys(self) -> list[str]:
        """The optimized keys: the maps, and ``specular`` when it has a learning rate."""
        keys = [self.key(name) for name in MAPS]
        return keys + [self.specular_key] if self.spec.specular_lr > 0 else keys

    # -- the swap ------------------------------------------------------------------------
    def bake(self, ctx: Any, vertices: np.ndarray, faces: np.ndarray) -> None:
        """Unwrap the mesh, bake the old material into UV maps and swap the scene."""
        from invrender.export.mitsuba_access import children, plugin_name

        shape = self._shape(ctx.scene)
        normals = None
        if shape.has_vertex_normals():
            normals = np.array(shape.vertex_normals_buffer(), np.float64).reshape(-1, 3)
            if len(normals) != len(vertices):
                normals = None
        self.atlas = unwrap(vertices, faces, self.spec.resolution, self.spec.padding, normals)
        self._pairs = {}
        surface = texel_surface(self.atlas, self.spec.resolution)
        self._covered = surface.covered
        bsdf = shape.bsdf()
        items = children(bsdf)
        kind = plugin_name(bsdf)
        sources = SOURCES.get(kind, {})
        if self.spec.specular is None:  # the material's own: a diffuse one has no specular lobe
            self.specular = 0.0 if kind == "diffuse" else 0.5
            if kind == "principled" and "specular" in items:
                self.specular = float(np.array(items["specular"]).reshape(-1)[0])
        size = self.spec.resolution
        for name, channels in MAPS.items():
            source = items.get(sources.get(name, ""))
            if source is None:
                value = getattr(self.spec, name).init if name != "base_color" else 0.5
                self.maps[name] = np.full((size, size, channels), value, np.float32)
            else:
                baked = np.clip(bake_texture(source, surface, channels), 0.0, 1.0)
                if not self.spec.bake:  # flat start: texture-space optimization alone
                    baked = np.broadcast_to(baked.mean(axis=(0, 1)), baked.shape)
                self.maps[name] = baked.astype(np.float32)
        self.swap_scene(ctx)

    def swap_scene(self, ctx: Any) -> None:
        """Replace ``ctx.scene``/``ctx.params`` with the scene holding the textured mesh."""
        import mitsuba as mi

        from invrender.export.mitsuba_access import plugin_name

        old = ctx.scene
        shape = self._shape(old)
        if shape.emitter() is not None:
            raise ConfigError([f"geometry.texture: shape '{self.shape_id}' is an emitter"])
        atlas = self.atlas
        assert atlas is not None
        bsdf = mi.load_dict(
            {
                "type": "principled",
                "specular": float(self.specular),
                **{
                    name: {"type": "bitmap", "data": mi.TensorXf(self.maps[name]), "raw": True}
                    for name in MAPS
                },
            }
        )
        props = mi.Properties()
        props["bsdf"] = bsdf
        mesh = mi.Mesh(
            self.shape_id,
            len(atlas.vertices),
            len(atlas.faces),
            props,
            atlas.normals is not None,
            True,
        )
        buffers = mi.traverse(mesh)
        buffers["vertex_positions"] = mi.Float(atlas.vertices.astype(np.float32).ravel())
        buffers["faces"] = mi.UInt(atlas.faces.astype(np.uint32).ravel())
        buffers["vertex_texcoords"] = mi.Float(atlas.uvs.astype(np.float32).ravel())
        if atlas.normals is not None:
            buffers["vertex_normals"] = mi.Float(atlas.normals.astype(np.float32).ravel())
        buffers.update()
        objects: dict[str, Any] = {self.shape_id: mesh}
        for index, other in enumerate(old.shapes()):
            if other.id() != self.shape_id:
                objects[other.id() or f"shape_{index}"] = other
        for index, emitter in enumerate(old.emitters()):
            if plugin_name(emitter) != "area":  # area lights travel with their shapes
                objects[emitter.id() or f"emitter_{index}"] = emitter
        for index, sensor in enumerate(old.sensors()):
            objects[sensor.id() or f"sensor_{index}"] = sensor
        if old.integrator() is not None:
            objects["integrator"] = old.integrator()
        ctx.scene = mi.load_dict({"type": "scene", **objects})
        ctx.params = mi.traverse(ctx.scene)

    def _shape(self, scene: Any) -> Any:
        for shape in scene.shapes():
            if shape.id() == self.shape_id:
                return shape
        raise ConfigError([f"geometry.texture: the scene has no shape '{self.shape_id}'"])

    # -- optimization --------------------------------------------------------------------
    def variables(self) -> dict[str, Any]:
        import mitsuba as mi

        out: dict[str, Any] = {
            self.key(name): mi.TensorXf(value) for name, value in self.maps.items()
        }
        if self.spec.specular_lr > 0:
            out[self.specular_key] = mi.Float(self.specular)
        for name in self.offsets():
            out[self.offset_key(name)] = mi.Float(0.0)
        return out

    def apply(self, opt: Any, params: Any) -> None:
        """The optimizer's values into the scene: each map kept in [0, 1], a map with a level
        as the sum (what renders and what is exported), its texels kept so that the sum is."""
        import drjit as dr

        levels = {self.key(name): self.offset_key(name) for name in self.offsets()}
        for key in self.keys():
            level = levels.get(key)
            if level is None:
                opt[key] = dr.clip(opt[key], 0.0, 1.0)
                params[key] = opt[key]
                continue
            # Projected, not clipped in the graph: a clip there would zero the gradient of
            # every texel outside [0, 1] and hold it there for good.
            opt[level] = dr.clip(opt[level], -1.0, 1.0)
            shift = float(np.array(opt[level]).reshape(-1)[0])
            opt[key] = dr.clip(opt[key], -shift, 1.0 - shift)
            params[key] = opt[key] + opt[level]

    def learning_rates(self, iteration: int, total: int) -> dict[str, float]:
        """Cosine decay from ``at`` to the last iteration, to ``final_factor`` of each lr."""
        frac = (iteration - self.spec.at) / max(total - 1 - self.spec.at, 1)
        frac = min(max(frac, 0.0), 1.0)
        final = self.spec.final_factor
        factor = final + (1 - final) * 0.5 * (1 + math.cos(math.pi * frac))
        base = {
            "base_color": self.spec.lr,
            "roughness": self.spec.roughness.lr,
            "metallic": self.spec.metallic.lr,
        }
        rates = {self.key(name): lr * factor for name, lr in base.items()}
        if self.spec.specular_lr > 0:
            rates[self.specular_key] = self.spec.specular_lr * factor
        for name, lr in self.offsets().items():
            rates[self.offset_key(name)] = lr * factor
        return rates

    def tv_weights(self) -> dict[str, float]:
        """Each map's total-variation weight (0: no smoothness term)."""
        return {
            "base_color": self.spec.tv_weight,
            "roughness": self.spec.roughness.tv_weight,
            "metallic": self.spec.metallic.tv_weight,
        }

    def regularizer(self, opt: Any) -> Any | None:
        """Total variation of the maps inside their charts, weighted per map.

        Each texel's gradient from the images is Monte Carlo noise plus signal, and Adam moves a
        texel by about its lr per step whatever the gradient's size, so a texel whose signal is
        weak (seen in few views, a glossy lobe at low spp) random-walks: roughness and metallic
        maps ended as salt and pepper over [0, 1]. The TV term pulls each texel toward its
        neighbours on the surface with a steady gradient that the noise averages out against.
        """
        from invrender.losses import masked_total_variation

        total = None
        for name, weight in self.tv_weights().items():
            if weight <= 0:
                continue
            pairs_y, pairs_x = self._pair_masks(MAPS[name])
            term = weight * masked_total_variation(opt[self.key(name)], pairs_y, pairs_x)
            total = term if total is None else total + term
        return total

    def _coverage(self) -> np.ndarray:
        """(H, W) texels on a chart: from the bake, or rasterized once after a resume."""
        if self._covered is None:  # resumed: the atlas came from a checkpoint, not a bake
            assert self.atlas is not None
            face_of, _ = rasterize(self.atlas.uvs, self.atlas.faces, self.spec.resolution)
            self._covered = face_of >= 0
        return self._covered

    def _pair_masks(self, channels: int) -> tuple[Any, Any]:
        """Weights of the vertical and horizontal texel pairs that both lie on a chart (sum 1)."""
        import mitsuba as mi

        if channels not in self._pairs:
            covered = self._coverage()
            ys = (covered[1:, :] & covered[:-1, :]).astype(np.float64)
            xs = (covered[:, 1:] & covered[:, :-1]).astype(np.float64)
            count = max((ys.sum() + xs.sum()) * channels, 1.0)
            ys, xs = (ys / count).astype(np.float32), (xs / count).astype(np.float32)
            rep = (1, 1, channels)
            self._pairs[channels] = (
                mi.TensorXf(np.tile(ys[..., None], rep)),
                mi.TensorXf(np.tile(xs[..., None], rep)),
            )
        return self._pairs[channels]

    # -- reporting and checkpoints -------------------------------------------------------
    def summary(self, params: Any) -> dict[str, Any]:
        if self.atlas is None:
            return {}
        if self.spec.specular_lr > 0:
            self.specular = float(np.array(params[self.specular_key]).reshape(-1)[0])
        texture: dict[str, Any] = {
            "resolution": self.spec.resolution,
            "vertices": len(self.atlas.vertices),
            "seam_vertices": self.atlas.seam_vertices,
            "maps": list(MAPS),
            "specular": self.specular,
        }
        levelled = self.offsets()
        if levelled:  # each such map's median over its charts, level included
            covered = self._coverage()
            for name in levelled:
                value = np.array(params[self.key(name)]).reshape(self.maps[name].shape)
                median = float(np.median(value[covered])) if covered.any() else None
                texture[f"{name}_median"] = median
        return {"texture": texture}

    def state_dict(self) -> dict[str, np.ndarray]:
        if self.atlas is None:
            return {}
        state = {
            "vertices": self.atlas.vertices,
            "faces": self.atlas.faces,
            "uvs": self.atlas.uvs,
            "vmapping": self.atlas.vmapping,
        }
        if self.atlas.normals is not None:
            state["normals"] = self.atlas.normals
        state["specular"] = np.array(self.specular)
        return state

    def load_state_dict(self, ctx: Any, state: dict[str, np.ndarray]) -> None:
        """Rebuild the textured scene; the maps come back as optimizer variables."""
        if "faces" not in state:
            return
        self.atlas = Atlas(
            vertices=np.asarray(state["vertices"], np.float64),
            faces=np.asarray(state["faces"], np.int32),
            uvs=np.asarray(state["uvs"], np.float64),
            vmapping=np.asarray(state["vmapping"], np.int64),
            normals=np.asarray(state["normals"], np.float64) if "normals" in state else None,
        )
        self._covered, self._pairs = None, {}
        self.specular = float(state.get("specular", self.specular))
        size = self.spec.resolution
        self.maps = {
            name: np.zeros((size, size, channels), np.float32) for name, channels in MAPS.items()
        }
        self.swap_scene(ctx)
