"""The texture stage's smoothness term: total variation of each map inside its UV charts.

Without it, texels whose image gradients are mostly Monte Carlo noise random-walk under Adam
(each step moves a texel by about its lr, whatever the gradient's size): the benchmark vase's
roughness map ended as salt and pepper over [0, 1] and its renders speckled.
"""

from __future__ import annotations

import numpy as np
import pytest

from invrender.config.texturing import TextureStage
from invrender.texturing.atlas import unwrap
from invrender.texturing.bake import rasterize
from invrender.texturing.stage import MAPS, TexturedSurface


def _box_mesh() -> tuple[np.ndarray, np.ndarray]:
    """An axis-aligned box of 12 triangles: six charts at most, with gaps between them."""
    v = np.array([[x, y, z] for x in (0, 1) for y in (0, 1) for z in (0, 2)], dtype=np.float64)
    quads = [(0, 1, 3, 2), (4, 6, 7, 5), (0, 4, 5, 1), (2, 3, 7, 6), (0, 2, 6, 4), (1, 5, 7, 3)]
    faces = [tri for a, b, c, d in quads for tri in ((a, b, c), (a, c, d))]
    return v, np.array(faces, dtype=np.int32)


@pytest.fixture()
def surface(variant):
    spec = TextureStage(
        at=1, resolution=32, tv_weight=0.5, roughness={"tv_weight": 2.0}, metallic={"lr": 0.01}
    )
    s = TexturedSurface(spec, "object")
    s.atlas = unwrap(*_box_mesh(), resolution=32, padding=2)
    return s


def test_tv_weights_come_from_the_config(surface):
    assert surface.tv_weights() == {"base_color": 0.5, "roughness": 2.0, "metallic": 0.0}


def test_the_term_is_the_mean_difference_of_neighbours_inside_charts(surface):
    import drjit as dr
    import mitsuba as mi

    rng = np.random.default_rng(1)
    maps = {"base_color": rng.random((32, 32, 3)), "roughness": rng.random((32, 32, 1))}
    maps["metallic"] = rng.random((32, 32, 1))
    opt = {surface.key(k): mi.TensorXf(v.astype(np.float32)) for k, v in maps.items()}
    for value in opt.values():
        dr.enable_grad(value)
    term = surface.regularizer(opt)
    dr.backward(term)

    face_of, _ = rasterize(surface.atlas.uvs, surface.atlas.faces, 32)
    covered = face_of >= 0
    assert 0.2 < covered.mean() < 0.95  # charts and gaps between them

    def tv(a: np.ndarray) -> float:
        ys = (covered[1:] & covered[:-1])[..., None]
        xs = (covered[:, 1:] & covered[:, :-1])[..., None]
        total = (np.abs(np.diff(a, axis=0)) * ys).sum() + (np.abs(np.diff(a, axis=1)) * xs).sum()
        return total / ((ys.sum() + xs.sum()) * a.shape[2])

    expected = 0.5 * tv(maps["base_color"]) + 2.0 * tv(maps["roughness"])
    assert float(np.array(term).ravel()[0]) == pytest.approx(expected, rel=1e-5)
    # Texels outside every chart get no pull, and metallic (weight 0) none at all.
    grad = np.array(dr.grad(opt[surface.key("roughness")]))[..., 0]
    assert np.all(grad[~covered] == 0) and np.any(grad[covered] != 0)
    assert not np.any(np.array(dr.grad(opt[surface.key("metallic")])))


def test_adam_on_the_term_alone_removes_texel_noise_but_keeps_the_charts_apart(surface):
    """Salt and pepper inside the charts flattens; two charts of different values stay apart."""
    import drjit as dr
    import mitsuba as mi

    face_of, _ = rasterize(surface.atlas.uvs, surface.atlas.faces, 32)
    covered = face_of >= 0
    chart_value = np.where(face_of >= 6, 0.8, 0.2)  # faces 6..: one level, the rest another
    rng = np.random.default_rng(2)
    noisy = np.clip(chart_value + rng.uniform(-0.2, 0.2, chart_value.shape), 0, 1)
    key = surface.key("roughness")
    opt = mi.ad.Adam(lr=0.01)
    opt[key] = mi.TensorXf(noisy[..., None].astype(np.float32))
    for name in ("base_color", "metallic"):
        opt[surface.key(name)] = mi.TensorXf(np.full((32, 32, MAPS[name]), 0.5, np.float32))
    for _ in range(150):
        dr.backward(surface.regularizer(opt))
        opt.step()
    result = np.array(opt[key])[..., 0]
    before = np.abs(noisy - chart_value)[covered].mean()
    after = np.abs(result - chart_value)[covered].mean()
    assert after < 0.5 * before
    high, low = covered & (face_of >= 6), covered & (face_of < 6) & (face_of >= 0)
    assert high.sum() > 20 and low.sum() > 20
    assert np.median(result[high]) - np.median(result[low]) > 0.4


def test_a_map_level_moves_with_the_sum_of_its_texels_gradients(variant):
    """``offset_lr``: one value added to every texel of the roughness map. The scene holds map +
    level clipped to [0, 1]; the level has its own learning rate; and on texel gradients that are
    mostly noise around a common pull (what a few views at 4 spp give), the level carries the
    map most of the way to the material's value."""
    import drjit as dr
    import mitsuba as mi

    spec = TextureStage(at=1, resolution=32, roughness={"lr": 0.03, "offset_lr": 0.03})
    s = TexturedSurface(spec, "object")
    s.atlas = unwrap(*_box_mesh(), resolution=32, padding=2)
    s.maps = {name: np.full((32, 32, c), 0.5, np.float32) for name, c in MAPS.items()}
    assert s.offsets() == {"roughness": 0.03}  # metallic has none: offset_lr defaults to 0
    rates = s.learning_rates(1, 101)
    assert rates[s.offset_key("roughness")] == pytest.approx(0.03)

    opt = mi.ad.Adam(lr=0.03)
    for key, value in s.variables().items():
        opt[key] = value
    opt.set_learning_rate(rates)
    params: dict = {}
    key, level = s.key("roughness"), s.offset_key("roughness")
    target, rng = 0.2, np.random.default_rng(0)
    for _ in range(100):
        s.apply(opt, params)
        value = params[key]
        # Per texel: the pull towards the target under noise three times as large.
        noise = mi.TensorXf(rng.normal(0.0, 0.1, (32, 32, 1)).astype(np.float32))
        dr.backward(dr.sum(value * (0.1 * (dr.detach(value) - target) + noise)))
        opt.step()
    s.apply(opt, params)
    total = np.array(params[key]).reshape(32, 32)
    assert abs(float(np.median(total)) - target) < 0.05
    # Most of the way is the level's: the texels keep the detail around it.
    assert float(np.array(opt[level])[0]) < -0.15
    assert total.min() >= 0.0 and total.max() <= 1.0
