"""Checkpoints: optimizer variables, Adam moments, iteration and pipeline state in one .npz.

Written atomically; resuming restores Adam's moments exactly, so a resumed run with the same seed
ends where an uninterrupted one does.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from invrender.errors import DataError
from invrender.files import atomic_path

KEEP_LAST = 3
_NAME = re.compile(r"ckpt_(\d+)\.npz$")


@dataclass
class Checkpoint:
    iteration: int  # number of completed iterations
    variables: dict[str, np.ndarray]
    adam: dict[str, tuple[int, np.ndarray, np.ndarray]]
    pipeline: dict[str, np.ndarray] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)


def snapshot(
    opt: Any, iteration: int, pipeline_state: dict[str, np.ndarray], meta: dict[str, Any]
) -> Checkpoint:
    """Copy the optimizer's variables and Adam state to host memory."""
    variables, adam = {}, {}
    for key in opt.keys():
        value, _promoted, _lr, extra = opt.state[key]
        variables[key] = _to_numpy(value)
        t, m, v = extra[0], extra[1], extra[2]
        adam[key] = (int(np.array(t).ravel()[0]), np.array(m), np.array(v))
    return Checkpoint(iteration, variables, adam, dict(pipeline_state), dict(meta))


def _to_numpy(value: Any) -> np.ndarray:
    arr = np.array(value)
    return arr.astype(np.float32) if arr.dtype == np.float64 else arr


def restore(opt: Any, ckpt: Checkpoint, template: dict[str, Any]) -> None:
    """Load variables into ``opt`` (types taken from ``template``) and put back Adam's moments."""
    for key, arr in ckpt.variables.items():
        if key not in template:
            raise DataError(f"checkpoint has variable '{key}' that this config does not optimize")
        opt[key] = type(template[key])(arr)
        value, promoted, lr, extra = opt.state[key]
        t, m, v = ckpt.adam[key]
        new_extra = (type(extra[0])(t), type(extra[1])(m), type(extra[2])(v), *extra[3:])
        opt.state[key] = (value, promoted, lr, new_extra)


def save(ckpt: Checkpoint, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    arrays: dict[str, np.ndarray] = {"iteration": np.array(ckpt.iteration)}
    for k, v in ckpt.variables.items():
        arrays[f"var/{k}"] = v
    for k, (t, m, v) in ckpt.adam.items():
        arrays[f"adam_t/{k}"] = np.array(t)
        arrays[f"adam_m/{k}"] = m
        arrays[f"adam_v/{k}"] = v
    for k, v in ckpt.pipeline.items():
        arrays[f"pipe/{k}"] = v
    arrays["meta"] = np.array(json.dumps(ckpt.meta))
    path = folder / f"ckpt_{ckpt.iteration:06d}.npz"
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.savez(f, **arrays)
    for old in sorted(folder.glob("ckpt_*.npz"))[:-KEEP_LAST]:
        old.unlink(missing_ok=True)
    return path


def latest(folder: Path) -> Path | None:
    found = sorted(
        (int(m.group(1)), p) for p in folder.glob("ckpt_*.npz") if (m := _NAME.search(p.name))
    )
    return found[-1][1] if found else None


def load(path: Path) -> Checkpoint:
    try:
        data = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: cannot read checkpoint: {exc}") from None
    variables, adam, pipe = {}, {}, {}
    for name in data.files:
        kind, _, key = name.partition("/")
        if kind == "var":
            variables[key] = data[name]
        elif kind == "pipe":
            pipe[key] = data[name]
    for key in variables:
        adam[key] = (int(data[f"adam_t/{key}"]), data[f"adam_m/{key}"], data[f"adam_v/{key}"])
    meta = json.loads(str(data["meta"])) if "meta" in data.files else {}
    return Checkpoint(int(data["iteration"]), variables, adam, pipe, meta)
