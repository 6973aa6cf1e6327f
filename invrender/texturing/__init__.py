"""Texture stage of geometry/joint runs: UV atlas (xatlas), baking, texture-space materials.

After the last remesh the optimized mesh is unwrapped into a UV atlas (:mod:`.atlas`), the
material's position-based textures (e.g. a 3D albedo grid, which survives remeshing) are baked
into UV bitmaps (:mod:`.bake`), and the shape is swapped for a textured mesh with a principled
BSDF whose base colour, roughness and metallic maps are optimized from then on
(:mod:`.stage`). The scene then holds only bitmaps, so every exporter can write it.
"""
