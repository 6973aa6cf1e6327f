"""``scene.lighting.sky``: a sky captured with the photos, kept fixed, pins the albedo's scale.

Under one learned sky the albedo and the light trade a factor freely (docs/benchmark.md: the
Cycles ring's learned sky held ~70 % of the true irradiance and the albedo made up the rest).
With the capture's own sky given, the same tiny material run recovers the true albedo, and only
when the sky is placed right (``sky_up``): placed wrong, its sun paints shading into the albedo.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from invrender.cli.main import main
from invrender.config.loader import load_config
from invrender.errors import ConfigError, DataError
from invrender.run.launch import run_optimization
from invrender.scene.sky import Y_UP_TO_Z_UP
from tests.helpers import final_variables

ALBEDO = 0.3
SCENE = """<scene version="3.0.0">
    <emitter type="envmap">
        <string name="filename" value="{sky}"/>
        <transform name="to_world"><matrix value="{to_world}"/></transform>
    </emitter>
    <shape type="sphere">
        <bsdf type="diffuse"><rgb name="reflectance" value="{albedo}"/></bsdf>
    </shape>
</scene>
"""


def sunny_sky(path: Path) -> None:
    """A dim sky with a sun 40 degrees above the horizon of its +Y, towards its +X."""
    import mitsuba as mi

    sky = np.full((32, 64, 3), 0.3, np.float32)
    sky[8:11, 15:18] = 30.0  # theta ~ 50 deg from +Y, u ~ 0.25 (local +X)
    mi.Bitmap(sky).write(str(path))


def truth_scene(tmp_path: Path) -> Path:
    """The sky file and the true scene: the unit sphere, albedo 0.3, under the sky turned Z-up."""
    sky = tmp_path / "sky.exr"
    if not sky.exists():
        sunny_sky(sky)
        matrix = " ".join(f"{v:g}" for v in Y_UP_TO_Z_UP.ravel())
        (tmp_path / "truth.xml").write_text(SCENE.format(sky=sky, to_world=matrix, albedo=ALBEDO))
    return tmp_path / "truth.xml"


def known_sky_config(tmp_path: Path, sky_up: str) -> Path:
    """A material run on the unit sphere (8x8 UV albedo from 0.5) under the known sky; the
    targets are :func:`truth_scene` seen from a Z-up ring of cameras."""
    truth_scene(tmp_path)
    config = {
        "targets": {
            "transforms": str(tmp_path / "targets" / "transforms.json"),
            "synth": {
                "scene": str(truth_scene(tmp_path)),
                "views": 6,
                "resolution": 32,
                "spp": 64,
                "elevations": [30, 10],
                "up": "z",
            },
            "holdout": [5],
        },
        "scene": {
            "object": {"shape": "sphere", "radius": 1.0, "albedo": 0.5, "texture": 8},
            "lighting": {"sky": "sky.exr", "sky_up": sky_up},
        },
        "integrator": {"type": "prb", "max_depth": 2},
        "optimize": {"pipeline": "material", "iterations": 60, "spp": 8, "views_per_iter": 2},
        "output": {
            "dir": str(tmp_path / f"run-{sky_up}"),
            "preview_every": 0,
            "checkpoint_every": 60,
            "export": [],
        },
    }
    path = tmp_path / f"sky-{sky_up}.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def seen_albedo(run_dir: Path) -> np.ndarray:
    """The grey level of the albedo texels the views see well: UV rows 0-5 of 8 (the cameras
    look down 10-30 degrees; the bottom rows are seen at grazing angles or not at all)."""
    value = np.array(final_variables(run_dir)["object.bsdf.reflectance.data"])
    return value.reshape(8, 8, 3).mean(axis=2)[:6].ravel()


def spread(values: np.ndarray) -> float:
    return float(np.percentile(values, 90) - np.percentile(values, 10))


def test_a_known_sky_pins_the_albedo_and_must_be_placed_right(tmp_path, variant):
    right = known_sky_config(tmp_path, "z")
    config = load_config(right).config
    assert [g.key for g in config.optimize.params] == ["object.bsdf.reflectance.data"]
    run_optimization(right, variant=variant)
    albedo = seen_albedo(tmp_path / "run-z")  # measured: median 0.30, spread 0.03
    assert np.median(albedo) == pytest.approx(ALBEDO, abs=0.02)
    assert spread(albedo) < 0.06

    run_optimization(known_sky_config(tmp_path, "y"), variant=variant)  # the sun misplaced
    assert spread(seen_albedo(tmp_path / "run-y")) > 0.2  # measured: 0.46


def test_init_writes_a_known_sky_that_stays_fixed(tmp_path, variant):
    """``init --sky``: the sky's lines, no sky parameter, and ``check`` passes."""
    runner = CliRunner()
    truth = truth_scene(tmp_path)
    res = runner.invoke(
        main,
        [
            "synth",
            str(truth),
            "--views",
            "4",
            "--resolution",
            "16",
            "--spp",
            "4",
            "--out",
            str(tmp_path / "ds"),
        ],
    )
    assert res.exit_code == 0, res.output
    cfg = tmp_path / "cfg.yaml"
    args = ["init", str(tmp_path / "ds"), "--out", str(cfg), "--sky", str(tmp_path / "sky.exr")]
    res = runner.invoke(main, [*args, "--sky-up", "z"])
    assert res.exit_code == 0, res.output
    assert "known sky" in res.output
    config = load_config(cfg).config
    assert config.scene.lighting.sky == str(tmp_path / "sky.exr")
    assert config.scene.lighting.sky_up == "z"
    keys = [g.key for g in config.optimize.params]
    assert "object.vertex_positions" in keys and "env.data" not in keys
    res = runner.invoke(main, ["check", str(cfg)])
    assert res.exit_code == 0, res.output
    # Asked for anyway, a sun to gather from a sky that is not learned is refused in one line.
    res = runner.invoke(main, ["check", str(cfg), "--set", "geometry.texture.sun_at=300"])
    assert res.exit_code != 0
    assert "geometry.texture.sun_at: no sky is optimized" in res.output, res.output


def test_a_bad_sky_is_one_line(tmp_path, variant):
    base = known_sky_config(tmp_path, "z")
    data = yaml.safe_load(base.read_text())
    data["scene"]["lighting"]["sky"] = "missing.exr"
    path = tmp_path / "missing.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ConfigError, match=r"scene\.lighting\.sky: sky EXR not found"):
        load_config(path)
    (tmp_path / "sky.png").write_bytes(b"not an image")
    data["scene"]["lighting"]["sky"] = "sky.png"
    path.write_text(yaml.safe_dump(data))
    from invrender.scene.template import sky_emitter

    with pytest.raises(DataError, match=r"not an EXR \(scene\.lighting\.sky wants"):
        sky_emitter(load_config(path).config.scene.lighting, None)
    res = CliRunner().invoke(
        main, ["init", str(tmp_path), "--out", str(tmp_path / "x.yaml"), "--sky", "nope.exr"]
    )
    assert res.exit_code != 0 and "Traceback" not in res.output
