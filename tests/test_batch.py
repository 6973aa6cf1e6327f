"""Batch files and plans: strict schema with one located line per problem, stable run names.

Nothing here renders: bad batches must be refused before anything is written or submitted."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from invrender.batch.plan import expand
from invrender.batch.spec import read_batch_file, shorthand_spec
from invrender.cli.main import main
from tests.helpers import tiny_example


@pytest.fixture()
def config(tmp_path: Path) -> Path:
    return tiny_example(tmp_path, "material_texture", optimize__iterations=3)


def run_cli(*args: str):
    return CliRunner().invoke(main, ["batch", "run", *args])


def batch_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "batch.yaml"
    path.write_text(textwrap.dedent(text))
    return path


@pytest.mark.parametrize(
    "body, line, expected",
    [
        ("configs: [material_texture.yaml]\nsweeep: {optimize.spp: [2]}\n", 2, "unknown key"),
        (
            "configs: [material_texture.yaml]\nsweep:\n  integrator.max_dept: [2, 3]\n",
            3,
            "sweep.integrator.max_dept: not a key of the config (at integrator: max_depth, type)",
        ),
        (
            "configs: [material_texture.yaml]\nsweep:\n  optimize.spp: []\n",
            3,
            "empty list, the grid has no runs",
        ),
        ("configs: [material_texture.yaml]\nexecutor: pbs\n", 2, "unknown executor 'pbs'"),
        ("configs: [material_texture.yaml, nope.yaml]\n", 1, "configs.1: config not found"),
        ("configs: [material_texture.yaml]\nslurm: {gpus: 1}\n", 2, "slurm.gpus: unknown key"),
        (
            "configs: [material_texture.yaml]\nsweep: {optimize.spp: [0, 4]}\n",
            None,
            "optimize.spp: Input should be greater than or equal to 1",
        ),
    ],
)
def test_bad_batch_file_is_one_line_exit_2_nothing_written(tmp_path, config, body, line, expected):
    path = batch_file(tmp_path, body + f"out: {tmp_path / 'out'}\n")
    result = run_cli(str(path))
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    assert expected in lines[0]
    if line is not None:
        assert f"{path}:{line}: " in lines[0]
    assert "Traceback" not in result.output
    assert not (tmp_path / "out").exists()  # nothing written, nothing submitted


def test_sweep_key_unknown_to_the_schema_and_empty_shorthand_grid(tmp_path, config):
    out = tmp_path / "out"
    bad = run_cli(str(config), "--sweep", "optimize.spq=2,4", "--out", str(out))
    assert bad.exit_code == 2 and "optimize.spq" in bad.output, bad.output
    empty = run_cli(str(config), "--sweep", "optimize.spp=", "--out", str(out))
    assert empty.exit_code == 2 and "empty grid" in empty.output, empty.output
    assert not out.exists()


def test_grid_zip_and_run_names(tmp_path, config):
    path = batch_file(
        tmp_path,
        f"""\
        configs: [{config.name}, {config.name}]
        set: {{optimize.iterations: 2}}
        sweep:
          optimize.spp: [2, 4]
          integrator.type: [prb, direct_projective]
        zip:
          optimize.seed: [0, 1]
          optimize.params.0.lr: [0.01, 0.03]
        """,
    )
    spec, _ = read_batch_file(path)
    runs = expand(spec)
    assert len(runs) == 2 * 2 * 2 * 2
    names = [r.name for r in runs]
    assert len(set(names)) == len(names)
    assert names[0] == "material_texture.spp-2.type-prb.seed-0.lr-0.01"
    assert names[-1] == "material_texture-2.spp-4.type-direct_projective.seed-1.lr-0.03"
    assert runs[0].overrides[:2] == ["optimize.iterations=2", "optimize.spp=2"]
    # Same batch, same names (a re-run finds its runs again).
    assert [r.name for r in expand(read_batch_file(path)[0])] == names


def test_shorthand_builds_the_same_plan(tmp_path, config):
    spec = shorthand_spec([config], ["optimize.spp=2,4"], ["optimize.iterations=2"], "debug")
    runs = expand(spec)
    assert [r.name for r in runs] == ["material_texture.spp-2", "material_texture.spp-4"]
    assert spec.executor == "debug"
    assert runs[1].swept == {"optimize.spp": 4}


def test_dry_run_lists_runs_and_submits_nothing(tmp_path, config):
    out = tmp_path / "out"
    result = run_cli(str(config), "--sweep", "optimize.spp=2,4", "--out", str(out), "--dry-run")
    assert result.exit_code == 0, result.output
    assert "2 runs" in result.output and "material_texture.spp-4" in result.output
    assert not out.exists()


def test_slurm_settings_become_sbatch_lines(tmp_path, config):
    """The batch file's slurm section, through submitit, as the #SBATCH header of the array."""
    import submitit

    from invrender.batch.submit import slurm_parameters

    data = {
        "configs": [str(config)],
        "slurm": {
            "partition": "gpu",
            "gpus_per_job": 1,
            "cpus_per_job": 8,
            "mem_gb": 32,
            "timeout_min": 120,
            "array_parallelism": 4,
            "sbatch": {"account": "vision", "qos": "normal"},
        },
    }
    spec, _ = read_batch_file(batch_file(tmp_path, yaml.safe_dump(data)))
    params = slurm_parameters(spec.slurm, "sweep")
    script = submitit.slurm.slurm._make_sbatch_string(
        command="true", folder=str(tmp_path / "f"), map_count=6, **params
    )
    for line in (
        "#SBATCH --partition=gpu",
        "#SBATCH --gpus-per-node=1",
        "#SBATCH --cpus-per-task=8",
        "#SBATCH --mem=32768MB",
        "#SBATCH --time=120",
        "#SBATCH --array=0-5%4",
        "#SBATCH --account=vision",
        "#SBATCH --qos=normal",
        "#SBATCH --signal=USR2@90",
    ):
        assert line in script, script


def test_shipped_batch_example_validates():
    from tests.helpers import CONFIGS

    spec, _ = read_batch_file(CONFIGS / "batches" / "texture_sweep.yaml")
    names = [r.name for r in expand(spec)]
    assert names == [
        "material_texture.spp-4.type-prb",
        "material_texture.spp-4.type-direct_projective",
        "material_texture.spp-16.type-prb",
        "material_texture.spp-16.type-direct_projective",
    ]
