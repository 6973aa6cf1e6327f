"""``space: log`` parameters: Adam steps the logarithm, so a sky texel can grow into a sun."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from invrender.errors import ConfigError
from invrender.run.launch import run_optimization
from tests.helpers import final_variables

SUN = 40.0  # one texel of a 16x8 sky, 80x the rest: what a captured outdoor sky holds
SCENE = """<scene version="3.0.0">
    <default name="sky" value="{sky}"/>
    <emitter type="envmap" id="sky"><string name="filename" value="$sky"/></emitter>
    <shape type="sphere" id="ball">
        <bsdf type="roughplastic">
            <rgb name="diffuse_reflectance" value="0.6, 0.6, 0.6"/>
            <float name="alpha" value="0.1"/>
        </bsdf>
    </shape>
</scene>
"""


def sunny_sky_config(tmp_path: Path, space: str, iterations: int) -> Path:
    """A lighting run on a glossy ball under a dim sky with one sun texel, the sky starting
    uniform at 0.5 and stepped at lr 0.1 in ``space``."""
    import mitsuba as mi

    sky = np.full((8, 16, 3), 0.5, np.float32)
    sky[2, 5] = SUN
    mi.Bitmap(sky).write(str(tmp_path / "sky.exr"))
    (tmp_path / "scene.xml").write_text(SCENE.format(sky=tmp_path / "sky.exr"))
    bounds = [1e-4, 1000.0] if space == "log" else [0.0, 1000.0]
    config = {
        "targets": {
            "transforms": str(tmp_path / "targets" / "transforms.json"),
            "synth": {
                "scene": str(tmp_path / "scene.xml"),
                "views": 6,
                "resolution": 32,
                "spp": 64,
                "elevations": [30, 10],
            },
            "holdout": [5],
        },
        "scene": {"file": str(tmp_path / "scene.xml")},
        "integrator": {"type": "prb", "max_depth": 2},
        "optimize": {
            "pipeline": "lighting",
            "iterations": iterations,
            "spp": 8,
            "views_per_iter": 2,
            "loss": "l2",
            "params": [
                {"key": "sky.data", "lr": 0.1, "bounds": bounds, "init": 0.5, "space": space}
            ],
        },
        "output": {
            "dir": str(tmp_path / f"run-{space}"),
            "preview_every": 0,
            "checkpoint_every": iterations,
            "export": [],
        },
    }
    path = tmp_path / f"{space}.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def recovered_sun(run_dir: Path, space: str) -> float:
    value = np.array(final_variables(run_dir)["sky.data"], dtype=np.float64)
    sky = np.exp(value) if space == "log" else value
    return float(sky.reshape(-1, 3).mean(axis=1).max())  # the brightest texel: the sun's


@pytest.mark.parametrize("space", ["log", "linear"])
def test_a_sun_is_reached_in_log_space_and_not_in_linear_steps(tmp_path, variant, space):
    # 60 steps of lr 0.1 move a linear texel by at most ~6, far from 40; in log space the same
    # steps span e^6 = 400x. The linear case shows the test can tell the two apart.
    summary, run_dir = run_optimization(
        sunny_sky_config(tmp_path, space, iterations=60), progress=False
    )
    sun = recovered_sun(run_dir, space)
    rmse = summary["parameter_error"]["sky.data"]["rmse"]
    print(f"{space}: sun {sun:.1f} of {SUN}, sky rmse {rmse:.3f}")
    if space == "log":
        assert sun >= 0.4 * SUN, f"log space reached {sun:.1f} of a {SUN} sun"
        assert rmse < 2.0
    else:
        assert sun <= 0.2 * SUN, f"linear steps reached {sun:.1f}: the sun is too easy"


def test_log_space_needs_positive_bounds(tmp_path, variant):
    path = sunny_sky_config(tmp_path, "log", iterations=2)
    data = yaml.safe_load(path.read_text())
    data["optimize"]["params"][0]["bounds"] = [0.0, 100.0]
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ConfigError) as info:
        run_optimization(path, progress=False)
    message = str(info.value)
    assert "space: log needs bounds above 0" in message and "optimize.params" in message
