"""``invrender.scene.sun``: a learned sky's bright lobe gathered into a sun keeps its power.

The texel layout is checked against Mitsuba's own envmap emitter (a wrong azimuth convention
would put the sun on the wrong side of the object), and the gather against a synthetic sky whose
lobe, floor and power are known.
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest

from invrender.config.schema import ParamGroup
from invrender.pipelines.lighting import LightingPipeline
from invrender.pipelines.param_groups import ResolvedGroup
from invrender.scene.sun import MIN_SUN_SHARE, gather_sun, texel_directions


def _power(sky: np.ndarray) -> np.ndarray:
    _, solid = texel_directions(*sky.shape[:2])
    return (sky * solid[..., None]).sum(axis=(0, 1))


def _lobe_sky(centre: np.ndarray, floor: float = 0.3, peak: float = 2.0, width_deg: float = 12.0):
    dirs, _ = texel_directions(32, 66)
    angle = np.degrees(np.arccos(np.clip(dirs @ centre, -1.0, 1.0)))
    lum = floor + (peak - floor) * np.exp(-0.5 * (angle / width_deg) ** 2)
    return np.repeat(lum[..., None], 3, axis=2) * np.array([1.0, 0.9, 0.8])


def test_texel_directions_are_mitsubas(variant) -> None:
    """Each texel's direction is where Mitsuba's envmap shows that texel (bitmap column c is
    tensor column c + 1), and the solid angles tile the sphere."""
    import drjit as dr
    import mitsuba as mi

    height, width = 16, 32
    dirs, solid = texel_directions(height, width + 2)
    assert abs(solid.sum() - 4 * math.pi) < 0.01 * 4 * math.pi
    for row, col in [(5, 3), (9, 20), (12, 31)]:
        image = np.zeros((height, width, 3), np.float32)
        image[row, col] = 10.0
        emitter = mi.load_dict({"type": "envmap", "bitmap": mi.Bitmap(image)})
        tensor = np.array(mi.traverse(emitter)["data"])
        assert tensor.shape == (height, width + 2, 3)
        assert tensor[row, col + 1, 0] == 10.0
        np.testing.assert_array_equal(tensor[:, 0], tensor[:, -2])  # the wrap-around borders
        np.testing.assert_array_equal(tensor[:, -1], tensor[:, 1])
        d = dirs[row, col + 1]
        si = dr.zeros(mi.SurfaceInteraction3f)
        si.wi = mi.Vector3f(*[float(-x) for x in d])
        seen = float(emitter.eval(si)[0][0])
        si.wi = mi.Vector3f(*[float(x) for x in d])
        opposite = float(emitter.eval(si)[0][0])
        assert seen == pytest.approx(10.0, rel=1e-3)
        assert opposite == 0.0


def test_gather_keeps_power_and_finds_the_lobe() -> None:
    centre = np.array([0.6, 0.5, -0.62])
    centre /= np.linalg.norm(centre)
    sky = _lobe_sky(centre)
    out, sun = gather_sun(sky)
    assert sun is not None
    np.testing.assert_allclose(_power(out), _power(sky), rtol=1e-5)
    # One texel is ~6 x 11 degrees here: the sun lands on the lobe's centre within one.
    angle = math.degrees(math.acos(float(np.dot(sun.direction, centre))))
    assert angle < 6.0
    assert sun.peak > 10 * 2.0  # far brighter than the lobe it came from
    assert 0.1 < sun.share < 0.9
    # Far from the lobe the sky is untouched; the border columns still wrap.
    dirs, _ = texel_directions(*sky.shape[:2])
    far = np.degrees(np.arccos(np.clip(dirs @ centre, -1, 1))) > 40
    np.testing.assert_allclose(out[far], sky[far], rtol=1e-6)
    np.testing.assert_array_equal(out[:, 0], out[:, -2])
    np.testing.assert_array_equal(out[:, -1], out[:, 1])
    assert out.min() >= 0.0


def test_an_overcast_sky_has_no_sun() -> None:
    rng = np.random.default_rng(3)
    sky = 1.0 + 0.01 * rng.standard_normal((32, 66, 3))
    out, sun = gather_sun(sky)
    assert sun is None
    np.testing.assert_allclose(out, sky, rtol=1e-6)
    # The threshold is a share of the power: a faint lobe stays where it is too.
    faint = _lobe_sky(np.array([0.0, 1.0, 0.0]), floor=1.0, peak=1.05, width_deg=5.0)
    assert gather_sun(faint)[1] is None
    assert MIN_SUN_SHARE > 0


@pytest.mark.parametrize("space", ["linear", "log"])
def test_the_lighting_pipeline_gathers_within_its_bounds(variant, space) -> None:
    """The optimizer's variable gets the gathered sky in its own space; a sun above the
    group's upper bound is spread over the texels around the peak, its power kept."""
    import mitsuba as mi

    centre = np.array([0.0, 0.6, 0.8])
    sky = _lobe_sky(centre).astype(np.float32)
    expected, _ = gather_sun(sky)
    assert expected.max() > 20.0
    for upper in (1000.0, 20.0):
        spec = ParamGroup(key="env.data", lr=0.1, bounds=(0.001, upper), space=space)
        group = ResolvedGroup(0, spec, ["env.data"], {"env.data": "lighting"})
        # gather_sun reads the groups and the scene values' shapes only
        pipeline = LightingPipeline.__new__(LightingPipeline)
        pipeline.groups = [group]
        pipeline.ctx = SimpleNamespace(params={"env.data": mi.TensorXf(sky)})  # type: ignore[assignment]
        opt = {"env.data": mi.TensorXf(np.log(sky) if space == "log" else sky)}
        moved = pipeline.gather_sun(opt)
        assert set(moved) == {"env.data"}
        value = np.array(opt["env.data"])
        scene_value = np.exp(value) if space == "log" else value
        if upper > expected.max():
            np.testing.assert_allclose(scene_value, expected, rtol=1e-4)
        else:
            assert scene_value.max() <= upper * (1 + 1e-5)
            assert (scene_value >= upper * 0.5).sum() > 1  # a spot of several texels
        np.testing.assert_allclose(_power(scene_value), _power(sky), rtol=1e-4)
