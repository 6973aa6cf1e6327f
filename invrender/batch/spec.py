"""The batch file: which configs, which sweeps, which executor and SLURM settings. Strict.

Every problem is reported as ``FILE:LINE: key: problem (fix)``, all at once, before anything is
submitted. The shorthand on the command line (configs + ``--sweep key=a,b``) builds the same model.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import Field, PrivateAttr, ValidationError
from pydantic_core import ErrorDetails

from invrender.config.names import Variant
from invrender.config.strict import Strict
from invrender.config.yaml_lines import line_index, line_of
from invrender.errors import ConfigError

EXECUTORS = ("local", "slurm", "debug")


class SlurmSettings(Strict):
    """What each array task asks SLURM for (submitit's parameters under our names)."""

    partition: str | None = Field(None, description="SLURM partition (default: the cluster's)")
    gpus_per_job: int = Field(0, ge=0)
    cpus_per_job: int = Field(1, ge=1)
    mem_gb: float | None = Field(None, gt=0)
    timeout_min: int = Field(60, ge=1, description="time limit; a job near it is requeued")
    array_parallelism: int = Field(64, ge=1, description="array tasks running at once")
    signal_delay_s: int = Field(90, ge=10, description="USR2 this long before the time limit")
    sbatch: dict[str, Any] = Field(
        default_factory=dict, description="extra #SBATCH options, e.g. {account: x, qos: y}"
    )


class BatchSpec(Strict):
    """A whole batch file."""

    name: str | None = None
    configs: list[str] = Field(min_length=1, description="run configs (relative to this file)")
    set: dict[str, Any] = Field(default_factory=dict, description="overrides for every run")
    sweep: dict[str, list[Any]] = Field(default_factory=dict, description="grid product")
    zip: dict[str, list[Any]] = Field(
        default_factory=dict, description="lists of equal length, taken together"
    )
    executor: Literal["local", "slurm", "debug"] = "local"
    variant: Variant = "auto"
    out: str | None = Field(None, description="batch folder (default batches/<name>)")
    slurm: SlurmSettings = Field(default_factory=SlurmSettings)
    _where: Any = PrivateAttr(default=None)  # key path -> "FILE:LINE" of the batch file

    def where(self, *loc: Any) -> str:
        return self._where(loc) if self._where else "command line"


def read_batch_file(path: Path) -> tuple[BatchSpec, Path]:
    """Parse and validate a batch file; config paths become absolute. Raise ConfigError."""
    if not path.is_file():
        raise ConfigError([f"{path}: batch file not found (check the path)"])
    text = path.read_text()
    try:
        data = yaml.safe_load(text)
        lines = line_index(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f"{path}:{mark.line + 1}" if mark else str(path)
        raise ConfigError([f"{at}: invalid YAML: {getattr(exc, 'problem', exc)}"]) from None
    if not isinstance(data, dict):
        raise ConfigError([f"{path}:1: a batch file is a mapping (configs, sweep, executor, ...)"])

    def where(loc: tuple[Any, ...]) -> str:
        line = line_of(lines, loc)
        return f"{path}:{line}" if line else str(path)

    spec = validate(data, where)
    base = path.resolve().parent
    spec.configs = [str(_absolute(c, base)) for c in spec.configs]
    if spec.out is not None:
        spec.out = str(_absolute(spec.out, base))
    check_grid(spec, where)
    spec._where = where
    return spec, base


def validate(data: dict[str, Any], where: Any) -> BatchSpec:
    try:
        return BatchSpec.model_validate(data)
    except ValidationError as exc:
        raise ConfigError([_format(err, where) for err in exc.errors()]) from None


def _format(err: ErrorDetails, where: Any) -> str:
    loc = tuple(err["loc"])
    dotted = ".".join(str(p) for p in loc) or "(top level)"
    kind = err["type"]
    if kind == "extra_forbidden":
        model: Any = BatchSpec if len(loc) == 1 else SlurmSettings
        allowed = ", ".join(model.model_fields)
        return f"{where(loc)}: {dotted}: unknown key (allowed: {allowed})"
    if kind == "missing":
        return f"{where(loc)}: {dotted}: required key is missing (add it)"
    if kind == "literal_error" and loc[-1] == "executor":
        got = err.get("input")
        return (
            f"{where(loc)}: executor: unknown executor {got!r} (use one of {', '.join(EXECUTORS)})"
        )
    if kind == "too_short" and loc == ("configs",):
        return f"{where(loc)}: configs: empty (list at least one run config)"
    msg = err["msg"].removeprefix("Value error, ")
    return f"{where(loc)}: {dotted}: {msg}"


def check_grid(spec: BatchSpec, where: Any) -> None:
    """Empty sweep lists, zip lists of different lengths, a key both swept and zipped."""
    problems = []
    for section in ("sweep", "zip"):
        for key, values in getattr(spec, section).items():
            if not values:
                problems.append(
                    f"{where((section, key))}: {section}.{key}: empty list, the grid has no runs "
                    "(give at least one value)"
                )
    lengths = {k: len(v) for k, v in spec.zip.items()}
    if len(set(lengths.values())) > 1:
        shown = ", ".join(f"{k}: {n}" for k, n in lengths.items())
        problems.append(
            f"{where(('zip',))}: zip: lists differ in length ({shown}); make them equal"
        )
    for key in set(spec.sweep) & set(spec.zip):
        problems.append(f"{where(('zip', key))}: zip.{key}: also in sweep (keep it in one)")
    if problems:
        raise ConfigError(problems)


def _absolute(p: str, base: Path) -> Path:
    path = Path(p).expanduser()
    return Path(os.path.normpath(path if path.is_absolute() else base / path))


def parse_sweep_option(item: str) -> tuple[str, list[Any]]:
    """``key.path=a,b,c`` -> (key.path, [a, b, c]) with each value parsed as YAML."""
    if "=" not in item:
        raise ConfigError([f"--sweep {item}: expected key.path=value1,value2 (comma separated)"])
    key, raw = item.split("=", 1)
    key = key.strip()
    if not key:
        raise ConfigError([f"--sweep {item}: empty key (expected key.path=value1,value2)"])
    if raw.strip().startswith("["):
        values = yaml.safe_load(raw)
    else:
        values = [yaml.safe_load(v) for v in raw.split(",") if v.strip()]
    if not isinstance(values, list) or not values:
        raise ConfigError([f"--sweep {item}: empty grid (give at least one value after '=')"])
    return key, values


def shorthand_spec(
    configs: list[Path],
    sweeps: list[str],
    sets: list[str],
    executor: str | None,
) -> BatchSpec:
    """The batch of ``invrender batch run a.yaml b.yaml --sweep k=1,2 --set k=v``."""
    data: dict[str, Any] = {"configs": [str(c.resolve()) for c in configs], "sweep": {}}
    for item in sweeps:
        key, values = parse_sweep_option(item)
        data["sweep"][key] = values
    data["set"] = {}
    for item in sets:
        if "=" not in item:
            raise ConfigError([f"--set {item}: expected key.path=value"])
        key, raw = item.split("=", 1)
        data["set"][key.strip()] = yaml.safe_load(raw) if raw.strip() else ""
    if executor is not None:
        data["executor"] = executor
    spec = validate(data, lambda loc: "command line")
    check_grid(spec, lambda loc: "command line")
    return spec
