"""A run folder written before the application-layer move still resumes and exports.

The fixture (tests/data/run_before_app_layer, see its README) was made by the code at b664bc8;
its config.resolved.yaml names files under /tmp/fixture, as any run folder names absolute paths.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from click.testing import CliRunner

from invrender.cli.main import main

FIXTURE = Path(__file__).parent / "data" / "run_before_app_layer"
MADE_AT = "/tmp/fixture"


def _copy_fixture(tmp_path: Path) -> Path:
    """The fixture under tmp_path with its recorded paths pointing at the copy."""
    root = tmp_path / "fixture"
    shutil.copytree(FIXTURE, root)
    config = root / "run" / "config.resolved.yaml"
    config.write_text(config.read_text().replace(MADE_AT, str(root)))
    return root


def test_old_run_exports_without_its_targets(tmp_path: Path) -> None:
    root = _copy_fixture(tmp_path)
    assert not (root / "data" / "targets").exists()  # export must not need (or render) them
    result = CliRunner().invoke(main, ["export", str(root / "run"), "--format", "gltf"])
    assert result.exit_code == 0, result.output
    assert (root / "run" / "export" / "gltf" / "scene.glb").stat().st_size > 1000
    assert not (root / "data" / "targets").exists()


def test_old_run_resumes(tmp_path: Path) -> None:
    root = _copy_fixture(tmp_path)
    run = root / "run"
    result = CliRunner().invoke(
        main,
        ["optimize", "--resume", str(run), "--set", "optimize.iterations=6", "--quiet"],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads((run / "summary.json").read_text())
    assert summary["status"] == "completed"
    assert summary["iterations"] == 6
    rows = (run / "metrics.csv").read_text().strip().splitlines()
    assert [r.split(",")[0] for r in rows[1:]] == ["0", "1", "2", "3", "4", "5"]
