"""A batch's runs: configs x sweep grid x zipped lists, each with a stable readable name.

Every run's config is validated through the run-config loader (with its overrides, as ``--set``
would apply them) before anything is submitted; a swept key must name a value of the config.
"""

from __future__ import annotations

import itertools
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from invrender.batch.spec import BatchSpec
from invrender.config.loader import load_config
from invrender.errors import ConfigError, InvrenderError


@dataclass
class RunPlan:
    """One run of the batch: which config, which overrides, where it writes."""

    name: str
    config: str
    overrides: list[str]
    swept: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "config": self.config,
            "overrides": self.overrides,
            "swept": self.swept,
        }


def override(key: str, value: Any) -> str:
    """``key=value`` with the value in JSON (valid YAML), as the config loader's ``--set`` reads."""
    return f"{key}={json.dumps(value)}"


def grid(spec: BatchSpec) -> list[dict[str, Any]]:
    """Every combination of swept values (the grid product, times the zipped tuples)."""
    keys = list(spec.sweep)
    combos = [
        dict(zip(keys, vals, strict=True)) for vals in itertools.product(*spec.sweep.values())
    ]
    if spec.zip:
        zkeys = list(spec.zip)
        zipped = [
            dict(zip(zkeys, vals, strict=True)) for vals in zip(*spec.zip.values(), strict=True)
        ]
        combos = [{**c, **z} for c in combos for z in zipped]
    return combos


def _slug(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, separators=(",", ""))
    return re.sub(r"[^A-Za-z0-9.+-]+", "_", str(text)).strip("_") or "x"


def _short_keys(keys: list[str]) -> dict[str, str]:
    """The last part of each dotted key, or more parts where the last ones collide."""
    for depth in range(1, max((k.count(".") + 1 for k in keys), default=1) + 1):
        short = {k: "_".join(k.split(".")[-depth:]) for k in keys}
        if len(set(short.values())) == len(keys):
            return short
    return {k: k.replace(".", "_") for k in keys}


def expand(spec: BatchSpec) -> list[RunPlan]:
    """The runs of ``spec``, in order, validated; raise ConfigError listing every problem."""
    combos = grid(spec)
    short = _short_keys([*spec.sweep, *spec.zip])
    fixed = [override(k, v) for k, v in spec.set.items()]
    runs: list[RunPlan] = []
    problems: list[str] = []
    bases: dict[str, int] = {}
    for i, config in enumerate(spec.configs):
        if not Path(config).is_file():
            problems.append(f"{spec.where('configs', i)}: configs.{i}: config not found: {config}")
            continue
        try:
            loaded = load_config(config)
        except InvrenderError as exc:
            problems += str(exc).splitlines()
            continue
        data = loaded.config.model_dump(mode="json", by_alias=True)
        for section in ("set", "sweep", "zip"):
            for key in getattr(spec, section):
                problem = _key_problem(data, key)
                if problem:
                    where = spec.where(section, key)
                    problems.append(f"{where}: {section}.{key}: {problem} in {config}")
        base = loaded.name
        bases[base] = bases.get(base, 0) + 1
        stem = base if bases[base] == 1 else f"{base}-{bases[base]}"
        for combo in combos:
            parts = [f"{short[k]}-{_slug(v)}" for k, v in combo.items()]
            name = ".".join([stem, *parts])
            overrides = [*fixed, *(override(k, v) for k, v in combo.items())]
            runs.append(RunPlan(name, config, overrides, combo))
    if not problems:
        problems = _validate(runs)
    if problems:
        raise ConfigError(list(dict.fromkeys(problems)))
    return runs


def _validate(runs: list[RunPlan]) -> list[str]:
    """Each run's config with its overrides, through the loader (values of the wrong type, ...)."""
    problems: list[str] = []
    for run in runs:
        try:
            load_config(run.config, run.overrides)
        except InvrenderError as exc:
            problems += [f"run {run.name}: {line}" for line in str(exc).splitlines()]
    return problems


def _key_problem(data: Any, dotted: str) -> str | None:
    """Why ``dotted`` names no value of the (validated, defaults filled in) config, if it does not.

    Pydantic rejects unknown keys of the schema itself; this also covers free-form sections such
    as ``integrator`` (a Mitsuba dict), where a typo would otherwise pass silently."""
    node = data
    path: list[str] = []
    for part in dotted.split("."):
        if isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            at = ".".join(path) or "(top level)"
            known = ", ".join(sorted(node)) if isinstance(node, dict) else f"{len(node)} items"
            return f"not a key of the config (at {at}: {known})"
        path.append(part)
    return None


def runs_dir(batch_dir: Path) -> Path:
    return batch_dir / "runs"
