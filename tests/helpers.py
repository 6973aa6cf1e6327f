"""Small builders shared by the spine's tests."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = ROOT / "configs"


def tiny_example(tmp_path: Path, name: str, **overrides) -> Path:
    """A copy of configs/<name>.yaml at 32 px with targets in tmp_path, as a file path."""
    data = yaml.safe_load((CONFIGS / f"{name}.yaml").read_text())
    data["targets"]["transforms"] = str(tmp_path / "targets" / "transforms.json")
    synth = data["targets"]["synth"]
    synth["scene"] = str((CONFIGS / synth["scene"]).resolve())
    synth.update(resolution=32, spp=64, views=4)
    data["targets"]["holdout"] = [3]
    data["scene"]["file"] = str((CONFIGS / data["scene"]["file"]).resolve())
    data["output"]["dir"] = str(tmp_path / "run")
    for dotted, value in overrides.items():
        node = data
        keys = dotted.split("__")
        for k in keys[:-1]:
            node = node[int(k)] if k.isdigit() else node[k]
        node[keys[-1]] = value
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def runner_stopping_after(iterations: int) -> type:
    """A Runner that stops as Ctrl-C does once ``iterations`` iterations are done (for resume
    tests); imported lazily so that importing this module loads no Mitsuba."""
    from invrender.runner import Runner

    class StopAfter(Runner):
        def on_iteration_end(self, iteration: int) -> None:
            if iteration + 1 == iterations:
                self.stop_requested = True

    return StopAfter


def final_variables(run_dir: Path) -> dict:
    """The optimized variables in a run folder's latest checkpoint."""
    from invrender import checkpoint

    return checkpoint.load(checkpoint.latest(run_dir / "checkpoints")).variables
