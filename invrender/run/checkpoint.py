"""Checkpoints: optimizer variables, Adam moments, iteration and pipeline state in one .npz.

Written atomically; resuming restores Adam's moments exactly, so a resumed run with the same seed
ends where an uninterrupted one does.
"""

from __future__ import annotations

import io
import json
import os
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from invrender.errors import DataError
from invrender.faults import fault_point
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
    buf = io.BytesIO()
    np.savez(buf, **arrays)  # type: ignore[arg-type]  # numpy stubs: **kwds are arrays too
    data = buf.getvalue()
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        f.write(data[: len(data) // 2])
        f.flush()
        fault_point("checkpoint_write", path.name)  # tests: die half-way through the write
        f.write(data[len(data) // 2 :])
        f.flush()
        os.fsync(f.fileno())  # on disk before it replaces anything: survives power loss too
    fault_point("checkpoint_rotate", path.name)
    for old in sorted(folder.glob("ckpt_*.npz"))[:-KEEP_LAST]:
        old.unlink(missing_ok=True)
    return path


def all_checkpoints(folder: Path) -> list[Path]:
    """The checkpoints in ``folder``, oldest first (partial writes have other names)."""
    found = sorted(
        (int(m.group(1)), p) for p in folder.glob("ckpt_*.npz") if (m := _NAME.fullmatch(p.name))
    )
    return [p for _, p in found]


def latest(folder: Path) -> Path | None:
    found = all_checkpoints(folder)
    return found[-1] if found else None


def load_latest(folder: Path) -> tuple[Checkpoint, Path, list[str]]:
    """The newest checkpoint that reads back whole, its path, and one warning per one skipped.

    A checkpoint can be cut short (a copy, a sync tool, a disk that lied about a write) or damaged;
    resume then falls back to the one before. None readable: one DataError line."""
    warnings: list[str] = []
    paths = all_checkpoints(folder)
    for path in reversed(paths):
        try:
            ckpt = load(path)
        except DataError as exc:
            warnings.append(str(exc))
            continue
        if warnings:
            warnings[-1] += f"; resuming from {path.name} instead"
        return ckpt, path, warnings
    if not paths:
        raise DataError(f"{folder}: no checkpoint to resume from")
    raise DataError(
        f"{folder}: none of the {len(paths)} checkpoint(s) can be read (newest: "
        f"{paths[-1].name}: {warnings[0].split(': ', 2)[-1]}); start a new run instead of --resume"
    )


def load(path: Path) -> Checkpoint:
    """Read a checkpoint and check it whole (every array read, CRC checked, values finite)."""
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {name: data[name] for name in data.files}
        ckpt = _from_arrays(arrays)
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"{path}: cannot read checkpoint ({reason})") from None
    for key, value in ckpt.variables.items():
        if value.dtype.kind == "f" and not np.isfinite(value).all():
            raise DataError(f"{path}: cannot read checkpoint (variable '{key}' is not finite)")
    return ckpt


def _from_arrays(data: dict[str, np.ndarray]) -> Checkpoint:
    variables, adam, pipe = {}, {}, {}
    for name, value in data.items():
        kind, _, key = name.partition("/")
        if kind == "var":
            variables[key] = value
        elif kind == "pipe":
            pipe[key] = value
    for key in variables:
        adam[key] = (int(data[f"adam_t/{key}"]), data[f"adam_m/{key}"], data[f"adam_v/{key}"])
    meta = json.loads(str(data["meta"])) if "meta" in data else {}
    return Checkpoint(int(data["iteration"]), variables, adam, pipe, meta)
