"""Which triangle lies across each edge of each triangle, for every mesh of a scene.

The outline warp field (:mod:`invrender.integrators.reparam_outline`) asks, for a ray that
hit triangle f, whether each edge of f can be a discontinuity seen from the ray's origin: a
boundary edge, a silhouette (the neighbour faces the other way) or a crease of a flat-shaded
mesh. An edge inside a smooth surface must not pull the warp field, and telling them apart
needs the neighbour across the edge, looked up inside a kernel.
"""

from __future__ import annotations

from typing import cast

import drjit as dr
import mitsuba as mi
import numpy as np

from invrender.integrators.silhouette import edge_topology_arrays

# Neighbour index of a boundary (or non-manifold) edge.
NO_NEIGHBOUR = 0xFFFFFFFF


def half_edge_neighbours(faces: np.ndarray) -> np.ndarray:
    """Flat (3F,) array: for face f and local edge j (vertex j to j+1), the face across it.

    Boundary and non-manifold edges get :data:`NO_NEIGHBOUR`.
    """
    faces = np.asarray(faces, dtype=np.int64).reshape(-1, 3)
    _, adjacent = edge_topology_arrays(faces)
    a = faces.reshape(-1)
    b = faces[:, [1, 2, 0]].reshape(-1)
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    key = lo * (int(faces.max(initial=0)) + 1) + hi
    # edge_topology_arrays lists edges in sorted-key order, as np.unique does.
    edge_of = np.searchsorted(np.unique(key), key)
    face_of = np.repeat(np.arange(len(faces), dtype=np.int64), 3)
    f0, f1 = adjacent[edge_of, 0], adjacent[edge_of, 1]
    other = np.where(f0 == face_of, f1, f0)
    return np.where(other < 0, NO_NEIGHBOUR, other).astype(np.uint32)


def shape_id(shape: mi.ShapePtr) -> mi.UInt32:
    """The registry id Dr.Jit uses for a shape pointer (the same inside and outside kernels)."""
    # dr.reinterpret_array() is typed `object`; it returns the type it is given.
    return cast("mi.UInt32", dr.reinterpret_array(mi.UInt32, shape))


class NeighbourTable:
    """:func:`half_edge_neighbours` of every mesh in a scene, addressed by (shape, face, edge)."""

    def __init__(self, scene: mi.Scene) -> None:
        chunks, offsets, total = [], {}, 0
        for shape in scene.shapes():
            if not shape.is_mesh():
                continue
            faces = np.array(dr.detach(shape.faces_buffer()), dtype=np.int64)
            table = half_edge_neighbours(faces)
            offsets[int(shape_id(mi.ShapePtr(shape))[0])] = total
            chunks.append(table)
            total += len(table)
        base = np.zeros(max(offsets, default=0) + 1, dtype=np.uint32)
        for key, offset in offsets.items():
            base[key] = offset
        self.base = mi.UInt32(base)
        self.table = mi.UInt32(np.concatenate(chunks) if chunks else np.zeros(1, np.uint32))

    def neighbour(
        self, shape: mi.ShapePtr, face: mi.UInt32, edge: int, active: mi.Bool
    ) -> mi.UInt32:
        """Face across local edge ``edge`` of ``face`` of mesh ``shape`` (or NO_NEIGHBOUR)."""
        base = dr.gather(mi.UInt32, self.base, shape_id(shape), active)
        return dr.gather(mi.UInt32, self.table, base + face * 3 + edge, active)


_CACHE: dict[tuple, NeighbourTable] = {}


def neighbour_table(scene: mi.Scene) -> NeighbourTable:
    """Cached :class:`NeighbourTable`; rebuilt when a mesh's face buffer is replaced."""
    key = (id(scene),) + tuple(
        (id(sh), sh.faces_buffer().index, sh.face_count()) for sh in scene.shapes() if sh.is_mesh()
    )
    table = _CACHE.get(key)
    if table is None:
        if len(_CACHE) > 16:
            _CACHE.clear()
        table = _CACHE[key] = NeighbourTable(scene)
    return table
