"""From a folder with only photos + masks to a finished run: `invrender cameras`, `init`,
`check`, `optimize`; and the scene template (no Mitsuba XML) on its own."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from invrender.cli.main import main
from invrender.config.loader import load_config
from tests.photo_helpers import photo_cameras, render_photos


def run(*args) -> object:
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture(scope="module")
def dataset(tmp_path_factory, variant) -> Path:
    root = tmp_path_factory.mktemp("init")
    render_photos(root / "photos", photo_cameras(16, 256, 192), spp=16, mask_folder=root / "masks")
    res = run("cameras", root / "photos", "--out", root / "ds", "--masks", root / "masks")
    assert res.exit_code == 0, res.output
    return root / "ds"


@pytest.mark.parametrize("pipeline", ["material", "lighting", "geometry", "joint"])
def test_init_writes_a_config_that_check_passes(dataset, tmp_path, pipeline):
    cfg = tmp_path / "my.yaml"
    res = run("init", dataset, "--out", cfg, "--pipeline", pipeline)
    assert res.exit_code == 0, res.output
    assert "masks: files" in res.output
    text = cfg.read_text()
    assert text.startswith("# Starting config written by `invrender init")
    loaded = load_config(cfg).config
    assert loaded.targets.masks == "files" and loaded.targets.holdout == [3, 11]
    # The central sphere has radius 0.55 at camera distance 3; the dataset is scaled to 4.
    assert loaded.scene.object.radius == pytest.approx(0.55 * 4 / 3, rel=0.2)
    assert loaded.optimize.params, "the template brings its parameters"
    res = run("check", cfg)
    assert res.exit_code == 0, res.output
    assert run("init", dataset, "--out", cfg).exit_code == 2  # never overwrites


def test_init_then_optimize_runs_to_the_end(dataset, tmp_path):
    cfg = tmp_path / "my.yaml"
    assert run("init", dataset, "--out", cfg).exit_code == 0  # joint: shape, albedo, sky
    res = run(
        "optimize",
        cfg,
        "--set",
        "optimize.iterations=3",
        "--set",
        "targets.downscale=4",
        "--set",
        "optimize.eval_spp=4",
        "--output",
        tmp_path / "run",
        "--quiet",
    )
    assert res.exit_code == 0, res.output
    assert "status: completed" in res.output, res.output
    assert (tmp_path / "run" / "summary.json").is_file()


def test_template_parameters_and_errors(tmp_path):
    base = {
        "targets": {"cameras": [{"image": "a.png", "look_at": {"origin": [0, 0, 4]}}]},
        "scene": {"object": {"shape": "sphere", "material": "principled"}},
        "optimize": {"pipeline": "material"},
    }
    (tmp_path / "a.png").write_bytes(b"")

    def load(data) -> object:
        path = tmp_path / "c.yaml"
        path.write_text(yaml.safe_dump(data))
        return load_config(path).config

    keys = [g.key for g in load(base).optimize.params]
    assert keys == ["object.bsdf.base_color.data", "object.bsdf.roughness.value"]
    joint = {**base, "optimize": {"pipeline": "joint"}}
    keys = [g.key for g in load(joint).optimize.params]
    assert keys[0] == "object.vertex_positions" and "env.data" in keys
    assert "object.bsdf.base_color.volume.data" in keys  # a grid albedo survives remeshing
    from invrender.errors import ConfigError

    hull = {**base, "scene": {"object": {"shape": "visual_hull"}}}
    with pytest.raises(ConfigError, match="visual_hull starts a geometry or joint pipeline"):
        load(hull)
    hull_joint = {**hull, "optimize": {"pipeline": "joint"}}
    assert load(hull_joint).geometry.init.type == "visual_hull"  # issue 13's carving start
    both = {**base, "scene": {"object": {"shape": "sphere"}, "file": "x.xml"}}
    with pytest.raises(ConfigError, match="exactly one of scene.file, scene.dict or scene.object"):
        load(both)
