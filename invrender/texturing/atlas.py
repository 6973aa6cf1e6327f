"""UV atlas of a closed mesh with xatlas: charts, packing, and per-corner UVs as split vertices.

xatlas cuts the surface into charts and packs them into the unit square; a vertex on a seam
belongs to several charts, so the result has more vertices than the input (``vmapping`` gives
each new vertex its source). Positions and smooth normals of the split copies are taken from
the source vertex, so shading stays continuous across seams; the mesh must not move
independently per copy afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Atlas:
    """A mesh with one UV per vertex, as Mitsuba stores it (v = 0 at the image top)."""

    vertices: np.ndarray  # (n, 3) float64, split along seams
    faces: np.ndarray  # (m, 3) int32, same triangles and order as the input
    uvs: np.ndarray  # (n, 2) float64 in [0, 1]
    vmapping: np.ndarray  # (n,) int64: source vertex of each split vertex
    normals: np.ndarray | None = None  # (n, 3) float64, from the welded mesh

    @property
    def seam_vertices(self) -> int:
        """How many vertices the seams added."""
        return len(self.vertices) - len(np.unique(self.vmapping))


def unwrap(
    vertices: np.ndarray,
    faces: np.ndarray,
    resolution: int = 256,
    padding: int = 2,
    normals: np.ndarray | None = None,
) -> Atlas:
    """Charts and packing for a ``resolution``² texture with ``padding`` texels between charts."""
    import xatlas

    vertices = np.asarray(vertices, dtype=np.float64)
    faces = np.asarray(faces, dtype=np.int64)
    atlas = xatlas.Atlas()
    atlas.add_mesh(vertices.astype(np.float32), faces.astype(np.uint32))
    pack = xatlas.PackOptions()
    pack.resolution = int(resolution)
    pack.padding = int(padding)
    pack.bilinear = True  # keep bilinear lookups of neighbouring charts apart
    atlas.generate(xatlas.ChartOptions(), pack)
    vmapping, indices, uvs = atlas[0]
    vmapping = vmapping.astype(np.int64)
    split_faces = indices.astype(np.int32).reshape(-1, 3)
    if len(split_faces) != len(faces) or not np.array_equal(vmapping[split_faces], faces):
        raise RuntimeError("xatlas changed the triangles of the mesh")
    return Atlas(
        vertices=vertices[vmapping],
        faces=split_faces,
        uvs=np.asarray(uvs, dtype=np.float64).reshape(-1, 2),
        vmapping=vmapping,
        normals=None if normals is None else np.asarray(normals, np.float64)[vmapping],
    )
