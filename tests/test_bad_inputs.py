"""The bad-input corpus (tests/bad_inputs/cases.yaml): each case exits 2 with one or two lines
that name the key or file, no traceback, and writes nothing. Cases are data: add entries there."""

from __future__ import annotations

import copy
import json
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from invrender.cli.main import main
from tests.helpers import CONFIGS

DATA = Path(__file__).parent / "bad_inputs"
CASES = yaml.safe_load((DATA / "cases.yaml").read_text())["cases"]
SCENE = CONFIGS.parent / "datasets" / "material_texture" / "scene.xml"


def invoke(args: list[str]):
    return CliRunner().invoke(main, args)


@pytest.fixture(scope="module")
def synth_dir(tmp_path_factory, variant) -> Path:
    out = tmp_path_factory.mktemp("synth")
    result = invoke(
        [
            "synth",
            str(SCENE),
            "--views",
            "3",
            "--resolution",
            "24x16",
            "--spp",
            "8",
            "--out",
            str(out),
        ]
    )
    assert result.exit_code == 0, result.output
    return out


def base_config(synth_dir: Path) -> dict[str, Any]:
    return {
        "targets": {"transforms": str(synth_dir / "transforms.json")},
        "scene": {"file": str(SCENE)},
        "optimize": {
            "iterations": 2,
            "spp": 2,
            "eval_spp": 2,
            "params": [{"key": "object.bsdf.reflectance.data", "lr": 0.05, "bounds": [0, 1]}],
        },
        "output": {"preview_every": 0, "checkpoint_every": 1, "export": []},
    }


@pytest.fixture(scope="module")
def run_dir(synth_dir, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("run")
    cfg = folder / "c.yaml"
    cfg.write_text(yaml.safe_dump(base_config(synth_dir)))
    result = invoke(["optimize", str(cfg), "--output", str(folder / "run"), "--quiet"])
    assert result.exit_code == 0, result.output
    return folder / "run"


def set_dotted(data: Any, dotted: str, value: Any) -> None:
    *head, last = dotted.split(".")
    for k in head:
        data = data[int(k)] if isinstance(data, list) else data.setdefault(k, {})
    if isinstance(data, list):
        data[int(last)] = value
    else:
        data[last] = value


def substitute(value: Any, subs: dict[str, str]) -> Any:
    if isinstance(value, str):
        for k, v in subs.items():
            value = value.replace(k, v)
        return value
    if isinstance(value, list):
        return [substitute(v, subs) for v in value]
    if isinstance(value, dict):
        return {k: substitute(v, subs) for k, v in value.items()}
    return value


def make_file(path: Path, spec: Any, synth_dir: Path, run_dir: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(spec, str):
        path.write_text(spec)
    elif "symlink" in spec:
        path.symlink_to(spec["symlink"])
    elif "image" in spec:
        from invrender.files import write_exr

        w, h = spec["image"]
        write_exr(path, np.full((h, w, 4 if spec.get("alpha") else 3), spec["value"], np.float32))
    elif "photo" in spec:  # an 8-bit PNG of seeded noise, as a camera would give
        import imageio.v3 as iio

        w, h = spec["photo"]
        rng = np.random.default_rng(spec.get("seed", 0))
        iio.imwrite(path, rng.integers(0, 256, (h, w, 3), dtype=np.uint8))
    elif "transforms" in spec:
        meta = json.loads((synth_dir / "transforms.json").read_text())
        for dotted, value in spec["transforms"].items():
            set_dotted(meta, dotted, value)
        if "keep" in spec:
            meta["frames"] = meta["frames"][: spec["keep"]]
        path.write_text(json.dumps(meta))  # NaN/Infinity literals, as Python writes them
        (path.parent / "images").symlink_to(synth_dir / "images")
    elif spec.get("copy_run") == "no_checkpoints":  # a run folder stopped before its first
        shutil.copytree(run_dir, path)
        for ckpt in (path / "checkpoints").glob("ckpt_*.npz"):
            ckpt.unlink()
    elif spec.get("copy_run") == "corrupt":
        shutil.copytree(run_dir, path)
        for ckpt in (path / "checkpoints").glob("ckpt_*.npz"):
            ckpt.write_bytes(ckpt.read_bytes()[:100])  # cut short, as a full disk or copy would
    else:
        raise ValueError(f"unknown file spec {spec}")


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    return {
        str(p): (p.stat().st_mtime_ns, p.stat().st_size) for p in folder.rglob("*") if p.is_file()
    }


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_bad_input(case, synth_dir, run_dir, tmp_path):
    tmp = tmp_path / "case"  # a folder of its own: "nothing written" is checked on it
    tmp.mkdir()
    cfg = tmp / "config.yaml"
    subs = {"@CFG@": str(cfg), "@TMP@": str(tmp), "@SYNTH@": str(synth_dir)}
    subs.update({"@SCENE@": str(SCENE), "@RUN@": str(run_dir), "@DATA@": str(DATA)})
    for rel, spec in case.get("files", {}).items():
        make_file(tmp / rel, substitute(spec, subs), synth_dir, run_dir)
    if "text" in case:
        cfg.write_text(substitute(case["text"], subs))
    else:
        data = copy.deepcopy(base_config(synth_dir))
        data["output"]["dir"] = str(tmp / "run")
        for dotted in case.get("unset", []):
            *head, last = dotted.split(".")
            node = data
            for k in head:
                node = node[k]
            node.pop(last)
        for dotted, value in substitute(case.get("set", {}), subs).items():
            set_dotted(data, dotted, value)
        cfg.write_text(yaml.safe_dump(data, allow_unicode=True))
    unchanged = Path(substitute(case["unchanged"], subs)) if "unchanged" in case else None
    before = snapshot(unchanged) if unchanged else None
    files_before = snapshot(tmp)

    result = invoke(substitute(case["cmd"], subs))

    err = result.stderr
    assert result.exit_code == 2, f"exit {result.exit_code}: {result.output}{result.exception!r}"
    lines = [line for line in err.splitlines() if line.strip()]
    assert 1 <= len(lines) <= 2, err
    assert all(line.startswith("error: ") for line in lines), err
    assert "Traceback" not in result.output
    assert substitute(case["expect"], subs) in err
    assert not (tmp / "run").exists(), "a run folder or output was written"
    if unchanged is not None:
        assert snapshot(unchanged) == before, f"{unchanged} was changed"
    if unchanged != tmp:
        new = set(snapshot(tmp)) - set(files_before)
        assert not new, f"written: {sorted(new)}"
    assert not os.path.exists(tmp / "run")
