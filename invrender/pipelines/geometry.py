"""Geometry pipeline: optimize mesh vertex positions through a visibility-aware integrator.

Per mesh (an ``optimize.params`` key ``<shape>.vertex_positions``) it keeps the current topology
and, with large steps on, the latent coordinates u = (I + λL) v that Adam actually updates
(UniformAdam for them). The ``geometry:`` config section (see :mod:`invrender.config.geometry`)
sets the initial shape (sphere/ellipsoid fitted to the cameras, a file, or the scene's mesh),
remeshing (Botsch–Kobbelt at given iterations and triangle counts), regularizer weights,
coarse-to-fine image resolution, and a ground-truth mesh for Chamfer / normal-consistency metrics.
The integrator must handle visibility (``direct_projective``, ``prb_projective``,
``edge_sampling``, ``reparam``): ``prb`` gives wrong gradients for moving geometry.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from invrender.config.geometry import GeometrySpec
from invrender.errors import ConfigError
from invrender.geometry.hull_field import HullField
from invrender.pipelines import register_pipeline
from invrender.pipelines.base import Pipeline, RunContext, StepViews
from invrender.pipelines.param_groups import ResolvedGroup

POSITIONS_SUFFIX = ".vertex_positions"
VISIBILITY_INTEGRATORS = ("direct_projective", "prb_projective", "edge_sampling", "reparam")


@dataclass
class MeshVariable:
    """One optimized mesh: its scene keys, current topology and (optional) large-steps solver."""

    key: str  # "<shape>.vertex_positions"
    vertices: np.ndarray  # (n, 3) float64, as of the last apply/remesh
    faces: np.ndarray  # (m, 3) int32
    large_steps: Any = None  # LargeStepsParameterization or None
    topology: Any = None  # MeshTopology (for regularizers)
    positions: Any = None  # mi.Float attached to the optimizer variable (last apply)
    # Vertices the solver was built from: mi.ad.LargeSteps orders its latent rows by sorting
    # these, so a resumed run must rebuild it from the same array to read its saved latent.
    anchor: np.ndarray | None = None

    @property
    def prefix(self) -> str:
        return self.key[: -len(POSITIONS_SUFFIX)]


@register_pipeline
class GeometryPipeline(Pipeline):
    name = "geometry"
    categories = ("geometry",)

    def __init__(self, ctx: RunContext, groups: list[ResolvedGroup] | None = None) -> None:
        super().__init__(ctx, groups)
        self.spec: GeometrySpec = ctx.config.geometry or GeometrySpec()
        self.meshes: dict[str, MeshVariable] = {}
        self._reference: tuple[np.ndarray, np.ndarray] | None = None
        self._silhouettes: Any = None  # SilhouetteRenderer, when geometry.mask_weight > 0
        self._mask_views: dict[tuple[int, int], tuple[Any, Any]] = {}
        self._start_topology: dict[str, Any] = {}  # Topology of each mesh's start, kept by remesh
        # The visual hull the shape is held within (geometry.init.keep_inside; above the table
        # always), and how many vertex moves it has undone so far (summary.json)
        self._hull: HullField | None = None
        self._kept_inside = 0

    # -- set-up ----------------------------------------------------------------------------
    def validate(self) -> list[str]:
        problems = super().validate()
        for g in self.groups:
            for key in g.keys:
                if not key.endswith(POSITIONS_SUFFIX):
                    problems.append(
                        f"{self.ctx.config_name}: optimize.params.{g.index}.key: '{key}': the "
                        f"geometry pipeline optimizes '<shape>{POSITIONS_SUFFIX}' keys only"
                    )
                elif g.spec.bounds is not None or g.spec.init is not None:
                    problems.append(
                        f"{self.ctx.config_name}: optimize.params.{g.index}: bounds/init do not "
                        "apply to vertex positions; set geometry.init instead"
                    )
        if not problems and self.spec.init.type != "scene" and len(self.geometry_keys()) > 1:
            problems.append(
                f"{self.ctx.config_name}: geometry.init.type: '{self.spec.init.type}' needs one "
                f"optimized mesh, got {len(self.geometry_keys())}; use init.type: scene"
            )
        if self.spec.mask_weight > 0 and len(self.geometry_keys()) > 1:
            problems.append(
                f"{self.ctx.config_name}: geometry.mask_weight: the silhouette loss supports one "
                "optimized mesh; optimize one mesh or set the weight to 0"
            )
        views = self.ctx.dataset.views
        if self.spec.init.type == "visual_hull" and (
            self.ctx.config.targets.masks == "none"
            or any(i < len(views) and views[i].mask is None for i in self.ctx.dataset.train)
        ):
            problems.append(
                f"{self.ctx.config_name}: geometry.init.type: 'visual_hull' carves the masks of "
                "the training views; set targets.masks to 'alpha' (image alpha) or 'files' "
                "(mask_path per frame)"
            )
        if self.spec.mask_weight > 0 and any(
            self.ctx.dataset.views[i].mask is None for i in self.ctx.dataset.train
        ):
            problems.append(
                f"{self.ctx.config_name}: geometry.mask_weight: needs a mask for every training "
                "view; set targets.masks to 'alpha' or 'files' (or the weight to 0)"
            )
        integrator = self.ctx.config.integrator.get("type")
        if integrator not in VISIBILITY_INTEGRATORS:
            problems.append(
                f"{self.ctx.config_name}: integrator.type: '{integrator}' ignores visibility "
                "changes, so vertex gradients are wrong; use one of "
                + ", ".join(VISIBILITY_INTEGRATORS)
            )
        return problems

    def geometry_keys(self) -> list[str]:
        return [k for g in self.groups for k in g.keys if g.categories.get(k) == "geometry"]

    def _setup(self) -> None:
        """Put the initial shape into the scene and build the solvers (once, lazily)."""
        if self.meshes:
            return
        from invrender.geometry.initial import initial_shape
        from invrender.geometry.topology import mesh_topology

        for key in self.geometry_keys():
            current = np.array(self.ctx.params[key], dtype=np.float64).reshape(-1, 3)
            faces = np.array(self.ctx.params[key[: -len(POSITIONS_SUFFIX)] + ".faces"])
            (vertices, faces), hull = initial_shape(
                self.spec.init, self.ctx.dataset, (current, faces.reshape(-1, 3).astype(np.int32))
            )
            if hull is not None and (
                self.spec.init.keep_inside is not None or hull.support is not None
            ):
                self._hull = hull
            self.meshes[key] = MeshVariable(key, vertices, faces)
            self._set_topology(self.meshes[key])
            self._start_topology[key] = mesh_topology(faces)

    def _setup_from(self, state: dict[str, np.ndarray]) -> None:
        """Set up from a checkpoint's shapes alone: an export after the run needs neither the
        targets nor the initial shape (a visual hull would carve masks that may be gone)."""
        for key in self.geometry_keys():
            vertices = np.asarray(state[f"{key}/anchor"], dtype=np.float64)
            self.meshes[key] = MeshVariable(key, vertices, np.asarray(state[f"{key}/faces"]))

    def _set_topology(self, mesh: MeshVariable) -> None:
        """Write the mesh's topology into the scene and rebuild its solver and regularizer data."""
        import mitsuba as mi

        from invrender.geometry.largesteps import LargeStepsParameterization
        from invrender.geometry.regularizers import MeshTopology

        params = self.ctx.params
        params[mesh.prefix + ".faces"] = mi.UInt(mesh.faces.astype(np.uint32).ravel())
        params[mesh.key] = mi.Float(mesh.vertices.astype(np.float32).ravel())
        texcoords = mesh.prefix + ".vertex_texcoords"
        if texcoords in params.keys() and dr_width(params[texcoords]) not in (
            0,
            2 * len(mesh.vertices),
        ):
            params[texcoords] = mi.Float()  # stale after a topology change
        params.update()
        ls = self.spec.large_steps
        mesh.anchor = mesh.vertices.copy()
        mesh.large_steps = (
            LargeStepsParameterization(mesh.vertices, mesh.faces, ls.lambda_)
            if ls.enabled
            else None
        )
        mesh.topology = MeshTopology.from_faces(mesh.faces, len(mesh.vertices))
        if self.spec.mask_weight > 0:
            from invrender.geometry.silhouette import SilhouetteRenderer

            if self._silhouettes is None:
                self._silhouettes = SilhouetteRenderer(self.ctx.config.integrator)
            self._silhouettes.set_mesh(mesh.vertices, mesh.faces)

    def variables(self) -> dict[str, Any]:
        self._setup()
        out = super().variables()
        for key, mesh in self.meshes.items():
            out[key] = optimizer_variable(mesh)
        return out

    def make_optimizer(self) -> Any:
        from invrender.geometry.optimizer import SelectiveUniformAdam

        cfg = self.ctx.config.optimize
        ls = self.spec.large_steps
        uniform = self.geometry_keys() if ls.enabled and ls.uniform_adam else []
        return SelectiveUniformAdam(
            0.01, uniform_keys=uniform, beta_1=cfg.beta_1, beta_2=cfg.beta_2
        )

    # -- every iteration -------------------------------------------------------------------
    def apply(self, opt: Any) -> None:
        self._setup()
        for key, mesh in self.meshes.items():
            mesh.positions = self._positions(opt, key, mesh)
            self.ctx.params[key] = mesh.positions
        others = [g for g in self.groups if not any(k in self.meshes for k in g.keys)]
        if others:
            Pipeline(self.ctx, others).apply(opt)

    def _positions(self, opt: Any, key: str, mesh: MeshVariable) -> Any:
        """The mesh's vertex positions (flat, differentiable w.r.t. the optimizer's variable).

        With a hull bound, the vertices that left the hull by more than geometry.init.keep_inside
        voxels are first moved back to that distance, and those below the table (the dataset's
        support plane) onto it; the optimizer's variable is overwritten (Adam's moments kept).
        The positions the bound checked are returned as they are when nothing moved, so the
        large-steps solve runs once per iteration."""
        import mitsuba as mi

        ls = mesh.large_steps

        def positions_of(variable: Any) -> Any:
            return ls.positions(variable) if ls is not None else variable

        positions = positions_of(opt[key])
        if self._hull is None:
            return positions
        points = np.array(positions, dtype=np.float64).reshape(-1, 3)
        keep = self.spec.init.keep_inside
        tolerance = None if keep is None else keep * self._hull.voxel
        moved, count = self._hull.keep_inside(points, tolerance)
        if count == 0:
            return positions
        self._kept_inside += count
        flat = mi.Float(moved.astype(np.float32).ravel())
        opt[key] = ls.latent_of(flat) if ls is not None else flat
        return positions_of(opt[key])

    def regularizer(self, opt: Any, iteration: int, views: StepViews) -> Any | None:
        from invrender.geometry import regularizers as reg

        weights = self.spec.regularizers
        terms = [
            (weights.laplacian, reg.laplacian_smoothness),
            (weights.edge_length, reg.edge_length_uniformity),
            (weights.normal_consistency, reg.normal_consistency),
        ]
        total = super().regularizer(opt, iteration, views)
        if self.spec.mask_weight > 0:
            total = self._mask_term(iteration, views, total)
        for mesh in self.meshes.values():
            if mesh.positions is None:
                continue
            for weight, term in terms:
                if weight > 0:
                    value = weight * term(mesh.positions, mesh.topology)
                    total = value if total is None else total + value
        return total

    def _mask_term(self, iteration: int, views: StepViews, total: Any) -> Any:
        """Silhouette loss on the views the runner rendered this iteration."""
        from invrender.geometry.silhouette import mask_loss

        cfg = self.ctx.config.optimize
        mesh = next(iter(self.meshes.values()))
        factor = self.resolution_factor(iteration)
        for v, render_seed in zip(views.indices, views.seeds, strict=True):
            sensor, mask = self._mask_view(v, factor)
            seed = render_seed ^ 0x5A5A5A5
            coverage = self._silhouettes.coverage(mesh.positions, sensor, cfg.spp, seed)
            term = self.spec.mask_weight / len(views.indices) * mask_loss(coverage, mask)
            total = term if total is None else total + term
        return total

    def _mask_view(self, index: int, factor: int) -> tuple[Any, Any]:
        """Sensor and (H, W, 3) mask tensor of a view at 1/factor resolution, cached."""
        if (index, factor) not in self._mask_views:
            import mitsuba as mi

            from invrender.data.images import downscale

            view = self.ctx.dataset.views[index]
            mask = downscale(np.asarray(view.mask, np.float32), factor)
            h, w = mask.shape[:2]
            sensor = mi.load_dict(
                view.camera.with_resolution(w, h).sensor_dict(spp=self.ctx.config.optimize.spp)
            )
            rgb = np.repeat(mask[..., None], 3, axis=2)
            self._mask_views[(index, factor)] = (sensor, mi.TensorXf(rgb))
        return self._mask_views[(index, factor)]

    def after_step(self, opt: Any, iteration: int) -> None:
        super().after_step(opt, iteration)
        for mesh in self.meshes.values():
            mesh.vertices = current_vertices(mesh)
        remesh = self.spec.remesh
        if (iteration + 1) in remesh.at:
            self.remesh(opt, remesh.triangles[remesh.at.index(iteration + 1)])

    def remesh(self, opt: Any, triangles: int) -> None:
        """Isotropic remesh of every optimized mesh to about ``triangles`` faces.

        The remesh must keep the start's genus and components (a coarse one can pinch a thin
        handle shut): it is redone finer, and refused (the mesh is kept) if that does not help.
        """
        from invrender.geometry.remesh import RemeshError
        from invrender.geometry.topology import mesh_topology
        from invrender.geometry.visual_hull import remesh_keeping_topology

        for key, mesh in self.meshes.items():
            expected = self._start_topology.get(key) or mesh_topology(mesh.faces)
            try:
                vertices, faces = remesh_keeping_topology(
                    mesh.vertices, mesh.faces, triangles, self.spec.remesh.iterations, expected
                )
            except RemeshError as exc:
                print(f"invrender: {key}: {exc}; keeping the current mesh")
                continue
            mesh.vertices, mesh.faces = vertices, faces
            self._set_topology(mesh)
            opt[key] = optimizer_variable(mesh)  # new size: Adam resets its moments
            opt.reset(key)
            self.apply(opt)

    def resolution_factor(self, iteration: int) -> int:
        return self.spec.coarse_to_fine.factor_at(iteration)

    # -- metrics ---------------------------------------------------------------------------
    def reference_mesh(self) -> tuple[np.ndarray, np.ndarray] | None:
        if self.spec.reference is None:
            return None
        if self._reference is None:
            from invrender.geometry.shapes import load_mesh

            self._reference = load_mesh(self.spec.reference)
        return self._reference

    def metrics(self, iteration: int) -> dict[str, Any]:
        every = self.spec.eval_every
        if not every or (iteration + 1) % every or not self.meshes:
            return {}
        from invrender.geometry.metrics import chamfer_and_normals

        mesh = next(iter(self.meshes.values()))
        row: dict[str, Any] = {}
        reference = self.reference_mesh()
        if reference is not None:
            chamfer, _, consistency = chamfer_and_normals(
                (mesh.vertices, mesh.faces),
                reference,
                min(self.spec.eval_samples, 50_000),
            )
            row = {"chamfer": f"{chamfer:.6g}", "normal_consistency": f"{consistency:.6g}"}
        row["triangles"] = len(mesh.faces)
        row.update(topology_report(mesh.vertices, mesh.faces))
        return row

    def summary(self) -> dict[str, Any]:
        """Final mesh quality: always watertightness and self-intersections; vs the reference
        mesh (if given) Chamfer as a fraction of its bbox diagonal and normal consistency."""
        from invrender.geometry.metrics import compare_meshes, is_watertight, self_intersections
        from invrender.geometry.topology import mesh_topology

        out: dict[str, Any] = {}
        for key, mesh in self.meshes.items():
            mesh.vertices = current_vertices(mesh)
            reference = self.reference_mesh()
            if reference is not None:
                report = compare_meshes(
                    (mesh.vertices, mesh.faces), reference, self.spec.eval_samples
                ).as_dict()
            else:
                report = {
                    "watertight": is_watertight(mesh.vertices, mesh.faces),
                    "self_intersections": self_intersections(mesh.vertices, mesh.faces),
                }
            report["triangles"] = len(mesh.faces)
            topology = mesh_topology(mesh.faces)
            report.update(genus=topology.genus, components=topology.components)
            if key in self._start_topology:
                report["genus_at_start"] = self._start_topology[key].genus
            if self._hull is not None:
                report["vertex_moves_kept_inside_hull"] = self._kept_inside
            out[key] = report
        if len(out) == 1:
            return {"geometry": next(iter(out.values()))}
        return {"geometry": out}

    # -- checkpoints -----------------------------------------------------------------------
    def state_dict(self) -> dict[str, np.ndarray]:
        state = {}
        for key, mesh in self.meshes.items():
            assert mesh.anchor is not None  # set with the solver, before the first checkpoint
            state[f"{key}/anchor"] = mesh.anchor  # the optimizer variable holds the current shape
            state[f"{key}/faces"] = mesh.faces
        if self._hull is not None:
            state["kept_inside_hull"] = np.asarray(self._kept_inside)  # a resumed run goes on
        return state

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        missing = [k for k in self.geometry_keys() if f"{k}/faces" not in state]
        if missing:
            raise ConfigError([f"checkpoint has no topology for '{missing[0]}'; start a new run"])
        if not self.ctx.dataset.has_images:
            self._setup_from(state)  # no photos loaded (export): the checkpoint's shape only
        else:
            self._setup()
        for key, mesh in self.meshes.items():
            mesh.vertices = np.asarray(state[f"{key}/anchor"], dtype=np.float64)
            mesh.faces = np.asarray(state[f"{key}/faces"], dtype=np.int32)
            self._set_topology(mesh)
        if "kept_inside_hull" in state:
            self._kept_inside = int(state["kept_inside_hull"])


def topology_report(vertices: np.ndarray, faces: np.ndarray) -> dict[str, Any]:
    """Genus, components, watertightness and self-intersections of a mesh (metrics/summary)."""
    from invrender.geometry.metrics import is_watertight, self_intersections
    from invrender.geometry.topology import mesh_topology

    topology = mesh_topology(faces)
    return {
        "genus": topology.genus,
        "components": topology.components,
        "watertight": is_watertight(vertices, faces),
        "self_intersections": self_intersections(vertices, faces),
    }


def current_vertices(mesh: MeshVariable) -> np.ndarray:
    """The mesh's vertex positions now (numpy (n, 3)), from the last applied variable."""
    if mesh.positions is None:
        return mesh.vertices
    return np.array(mesh.positions, dtype=np.float64).reshape(-1, 3)


def optimizer_variable(mesh: MeshVariable) -> Any:
    """What Adam updates for this mesh: latent coordinates (large steps) or raw positions."""
    import mitsuba as mi

    if mesh.large_steps is not None:
        return mesh.large_steps.latent
    return mi.Float(mesh.vertices.astype(np.float32).ravel())


def dr_width(value: Any) -> int:
    import drjit as dr

    return dr.width(value)
