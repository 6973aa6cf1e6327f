"""Fast tier: CLI plumbing and bad input, through click's CliRunner."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from invrender import __version__
from invrender.cli.main import main
from tests.helpers import CONFIGS, tiny_example


def run(*args: str):
    return CliRunner().invoke(main, [str(a) for a in args])


def test_version_and_help_do_not_import_mitsuba():
    code = "import sys, invrender.cli.main; print('mitsuba' in sys.modules, 'drjit' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
    result = run("--version")
    assert result.exit_code == 0 and __version__ in result.output
    assert "optimize" in run("--help").output


def test_check_accepts_every_bundled_config(variant):
    result = run("check", *sorted(CONFIGS.glob("*.yaml")))
    assert result.exit_code == 0, result.output
    assert result.output.count(": ok (") == len(list(CONFIGS.glob("*.yaml")))


def test_check_lists_parameters_with_categories(variant):
    result = run("check", "--list-params", CONFIGS / "envmap.yaml")
    assert result.exit_code == 0, result.output
    assert "  sky.data  [lighting] (16, 34, 3)" in result.output
    assert "  ball2.bsdf.reflectance.value  [material]" in result.output


def test_bad_config_exits_2_with_one_line_per_problem(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("targets: {transforms: x.json}\nscene: {file: y.xml}\noptimize: {}\n")
    result = run("optimize", bad, "--output", tmp_path / "run")
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert lines == [  # every problem at once, in file order: missing files and schema errors
        f"error: {bad}:1: targets.transforms: transforms.json not found: {tmp_path}/x.json",
        f"error: {bad}:2: scene.file: scene file not found: {tmp_path}/y.xml",
        f"error: {bad}:3: optimize.params: required key is missing (add it)",
    ]
    assert not (tmp_path / "run").exists(), "no run folder for bad input"


@pytest.fixture(scope="module")
def synth_dir(tmp_path_factory, variant):
    out = tmp_path_factory.mktemp("synth")
    scene = CONFIGS.parent / "datasets" / "material_texture" / "scene.xml"
    result = run("synth", scene, "--views", 3, "--resolution", "24x16", "--spp", 8, "--out", out)
    assert result.exit_code == 0, result.output
    return out


def test_synth_writes_images_and_transforms(synth_dir):
    meta = json.loads((synth_dir / "transforms.json").read_text())
    assert len(meta["frames"]) == 3
    from invrender.data.images import read_image

    rgb, alpha = read_image(synth_dir / meta["frames"][0]["file_path"])
    assert rgb.shape == (16, 24, 3) and alpha is not None
    assert 0.05 < alpha.mean() < 0.95, "alpha is the object's coverage mask"


def config_on(synth_dir, tmp_path, **changes) -> str:
    data = {
        "targets": {"transforms": str(synth_dir / "transforms.json")},
        "scene": {"file": str(CONFIGS.parent / "datasets/material_texture/scene.xml")},
        "optimize": {
            "iterations": 1,
            "spp": 2,
            "params": [{"key": "object.bsdf.reflectance.data"}],
        },
    }
    for dotted, value in changes.items():
        node = data
        *head, last = dotted.split(".")
        for k in head:
            node = node[int(k)] if k.isdigit() else node[k]
        node[last] = value
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(data))
    return str(path)


@pytest.mark.parametrize(
    "changes, expected",
    [
        (
            {"optimize.params.0.key": "object.bsdf.reflectance.dat"},
            "optimize.params.0.key: no scene parameter matches 'object.bsdf.reflectance.dat' "
            "(did you mean 'object.bsdf.reflectance.data'?)",
        ),
        (
            {"optimize.params.0.key": "object.faces"},
            "optimize.params.0.key: 'object.faces' is not differentiable in Mitsuba",
        ),
        (
            {"optimize.pipeline": "lighting"},
            "'object.bsdf.reflectance.data' is a material parameter; the lighting pipeline "
            "optimizes lighting parameters",
        ),
        (
            {"optimize.pipeline": "materia"},
            "optimize.pipeline: unknown pipeline 'materia' (did you mean 'material'?)",
        ),
        (
            {"integrator": {"type": "no_such_integrator"}},
            "integrator: Mitsuba cannot create 'no_such_integrator'",
        ),
        ({"targets.holdout": [7]}, "targets.holdout: indices [7] out of range for 3 views"),
        ({"targets.masks": "files"}, "targets.masks is 'files' but no mask is given"),
    ],
    ids=[
        "typo-key",
        "non-differentiable",
        "wrong-pipeline",
        "pipeline-typo",
        "integrator",
        "holdout",
        "masks",
    ],
)
def test_bad_input_is_one_clear_line(synth_dir, tmp_path, changes, expected):
    result = run(
        "optimize",
        config_on(synth_dir, tmp_path, **changes),
        "--output",
        tmp_path / "run",
        "--quiet",
    )
    assert result.exit_code == 2, result.output
    assert expected in result.output
    assert all(line.startswith("error: ") for line in result.output.strip().splitlines())
    assert "Traceback" not in result.output
    assert not (tmp_path / "run").exists()


def test_image_that_does_not_match_its_camera(synth_dir, tmp_path):
    meta = json.loads((synth_dir / "transforms.json").read_text())
    meta["frames"][1]["w"] = 32
    broken = tmp_path / "transforms.json"
    broken.write_text(json.dumps(meta))
    for f in ("images",):
        (tmp_path / f).symlink_to(synth_dir / f)
    result = run(
        "optimize",
        config_on(synth_dir, tmp_path, **{"targets.transforms": str(broken)}),
        "--output",
        tmp_path / "run",
    )
    assert result.exit_code == 2
    assert "frames[1]: image" in result.output
    assert "is 24x16 but the camera says 32x16" in result.output


def test_unreadable_image_and_unwritable_output(synth_dir, tmp_path):
    images = tmp_path / "images"
    images.mkdir()
    for p in (synth_dir / "images").iterdir():
        (images / p.name).write_bytes(p.read_bytes())
    (images / "r_002.exr").write_bytes(b"not an image")
    (tmp_path / "transforms.json").write_text((synth_dir / "transforms.json").read_text())
    moved = {"targets.transforms": str(tmp_path / "transforms.json")}
    cfg = config_on(synth_dir, tmp_path, **moved)
    result = run("optimize", cfg, "--output", tmp_path / "run")
    assert result.exit_code == 2 and "frames[2]: cannot read image" in result.output

    blocker = tmp_path / "file"
    blocker.write_text("")
    result = run("optimize", config_on(synth_dir, tmp_path), "--output", blocker / "run")
    assert result.exit_code == 2 and "cannot create the output folder" in result.output


def test_zero_iterations_evaluates_and_exports_the_initial_scene(tmp_path, variant):
    cfg = tiny_example(tmp_path, "material_texture", optimize__iterations=0)
    result = run("optimize", cfg, "--quiet")
    assert result.exit_code == 0, result.output
    assert "final loss: n/a (no iterations)" in result.output
    assert (tmp_path / "run" / "export" / "mitsuba" / "scene.xml").is_file()


def test_tiny_optimize_writes_a_complete_run_folder(tmp_path, variant):
    cfg = tiny_example(
        tmp_path,
        "material_texture",
        optimize__iterations=4,
        output__preview_every=2,
        output__checkpoint_every=2,
    )
    result = run("optimize", cfg, "--quiet")
    assert result.exit_code == 0, result.output
    rd = tmp_path / "run"
    for name in ("config.resolved.yaml", "metrics.csv", "loss.png", "summary.json"):
        assert (rd / name).is_file(), name
    assert sorted(p.name for p in (rd / "previews").iterdir())[:2] == [
        "iter_000002.png",
        "iter_000004.png",
    ]
    summary = json.loads((rd / "summary.json").read_text())
    assert summary["status"] == "completed" and summary["iterations"] == 4
    assert np.isfinite(summary["psnr"]) and summary["psnr_views"].startswith("held-out")
    assert "object.bsdf.reflectance.data" in summary["parameter_error"]
    # The resolved config replays: same schema, absolute paths.
    assert run("check", rd / "config.resolved.yaml").exit_code == 0
