"""Fast tier: the config schema, its error messages, overrides and round trips."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from invrender.config.loader import apply_override, dump_config, load_config
from invrender.errors import ConfigError
from tests.helpers import CONFIGS

BASE = """\
targets:
  transforms: t.json
scene:
  file: s.xml
optimize:
  params:
    - key: object.bsdf.reflectance.data
"""


def write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "t.json").write_text("{}")
    (tmp_path / "s.xml").write_text("<scene version='3.0.0'/>")
    path = tmp_path / "c.yaml"
    path.write_text(text)
    return path


def errors_of(path: Path, overrides=()) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_config(path, overrides)
    return info.value.problems


@pytest.mark.parametrize("config", sorted(CONFIGS.glob("*.yaml")), ids=lambda p: p.name)
def test_every_bundled_config_validates(config):
    loaded = load_config(config)
    again = yaml.safe_load(dump_config(loaded.config))
    assert again["optimize"]["params"], "resolved config lost its parameters"


def test_minimal_config_gets_defaults(tmp_path):
    cfg = load_config(write(tmp_path, BASE)).config
    assert cfg.optimize.pipeline == "material"
    assert cfg.integrator["type"] == "prb"
    assert Path(cfg.scene.file).is_absolute()


def test_unknown_key_names_line_and_suggests(tmp_path):
    path = write(tmp_path, BASE + "  iteratons: 10\n")
    assert errors_of(path) == [
        f"{path}:8: optimize.iteratons: unknown key (did you mean 'iterations'?)"
    ]


def test_all_problems_reported_at_once(tmp_path):
    text = BASE.replace("    - key:", "    - lr: -1\n      key:") + "  spp: zero\noutputt: {}\n"
    problems = errors_of(write(tmp_path, text))
    joined = "\n".join(problems)
    assert len(problems) == 3, joined
    assert "optimize.params.0.lr: Input should be greater than 0 (got -1)" in joined
    assert "optimize.spp: Input should be a valid integer" in joined
    assert "outputt: unknown key (did you mean 'output'?)" in joined


def test_missing_section_and_missing_file(tmp_path):
    path = write(tmp_path, BASE.replace("  file: s.xml", "  file: gone.xml"))
    assert errors_of(path) == [f"{path}:4: scene.file: scene file not found: {tmp_path}/gone.xml"]
    path.write_text("scene: {file: s.xml}\n")
    problems = errors_of(path)
    assert f"{path}: targets: required key is missing (add it)" in problems
    assert f"{path}: optimize: required key is missing (add it)" in problems


def test_overrides_apply_and_are_named_in_errors(tmp_path):
    path = write(tmp_path, BASE)
    cfg = load_config(path, ["optimize.iterations=7", "optimize.params.0.lr=0.5"]).config
    assert cfg.optimize.iterations == 7 and cfg.optimize.params[0].lr == 0.5
    assert errors_of(path, ["optimize.loss=l3"]) == [
        "--set: optimize.loss: Input should be 'l1', 'l2' or 'relative_l2' (got 'l3')"
    ]
    assert errors_of(path, ["optimize.iterations"]) == [
        "--set optimize.iterations: expected key.path=value"
    ]


def test_apply_override_builds_nested_keys():
    data: dict = {"a": [{"b": 1}]}
    apply_override(data, "a.0.b=[1, 2]")
    apply_override(data, "x.y=true")
    assert data == {"a": [{"b": [1, 2]}], "x": {"y": True}}


def test_invalid_yaml_reports_line(tmp_path):
    path = write(tmp_path, BASE + "  spp: [1\n")
    (problem,) = errors_of(path)
    assert problem.startswith(f"{path}:") and "invalid YAML" in problem


def test_resolved_config_replays_through_the_schema(tmp_path):
    cfg = load_config(write(tmp_path, BASE)).config
    replay = tmp_path / "config.resolved.yaml"
    replay.write_text(dump_config(cfg))
    assert load_config(replay).config == cfg
