"""Load a YAML run config: apply ``--set`` overrides, validate, resolve paths, report all errors.

Every problem is reported at once as ``FILE:LINE: key.path: problem (hint)``.
"""

from __future__ import annotations

import difflib
import os
import re
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from invrender.config.schema import RunConfig
from invrender.config.yaml_lines import KeyPath, duplicate_keys, line_index, line_of
from invrender.errors import ConfigError

OVERRIDE_SOURCE = "--set"


@dataclass
class LoadedConfig:
    """A validated config with every path made absolute, and where it came from."""

    config: RunConfig
    path: Path

    @property
    def name(self) -> str:
        return self.config.name or self.path.stem.replace(".resolved", "").replace("config", "run")


def load_config(path: str | Path, overrides: typing.Sequence[str] = ()) -> LoadedConfig:
    """Read, override, validate and resolve a config; raise ConfigError listing every problem."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError([f"{path}: config file not found (check the path)"])
    text = path.read_text()
    try:
        data = yaml.safe_load(text)
        lines = line_index(text)
        repeated = duplicate_keys(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f"{path}:{mark.line + 1}" if mark else str(path)
        raise ConfigError([f"{at}: invalid YAML: {getattr(exc, 'problem', exc)}"]) from None
    if repeated:
        raise ConfigError(
            [
                f"{path}:{again}: {'.'.join(map(str, key))}: key given twice (first at line "
                f"{first}); keep one"
                for key, first, again in repeated
            ]
        )
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError([f"{path}:1: the config must be a mapping of sections (targets, ...)"])

    problems: list[str] = []
    overridden: set[KeyPath] = set()
    for item in overrides:
        try:
            overridden.add(apply_override(data, item))
        except ValueError as exc:
            problems.append(f"{OVERRIDE_SOURCE} {item}: {exc}")
    if problems:
        raise ConfigError(problems)

    def where(loc: KeyPath) -> str:
        if any(loc[: len(o)] == o for o in overridden):
            return OVERRIDE_SOURCE
        line = line_of(lines, loc)
        return f"{path}:{line}" if line else str(path)

    # Paths first, on the raw mapping, so missing files and schema errors come in one report.
    problems = _resolve_paths(data, path.resolve().parent, where)
    try:
        config = RunConfig.model_validate(data)
    except ValidationError as exc:
        problems += [_format_pydantic_error(err, where) for err in exc.errors()]
    problems = _merge_same_key(problems)
    if problems:
        raise ConfigError(sorted(problems, key=_line_number))
    return LoadedConfig(config=config, path=path)


def _line_number(problem: str) -> int:
    """Sort key: a problem's line in the file (``--set`` problems and unknown lines last)."""
    match = re.match(r"[^:]*:(\d+): ", problem)
    return int(match.group(1)) if match else 1 << 30


def _merge_same_key(messages: list[str]) -> list[str]:
    """One line per key: union types yield one pydantic error per member."""
    merged: dict[str, list[str]] = {}
    for m in messages:
        head, _, problem = m.partition(": ")
        key, _, detail = problem.partition(": ")
        merged.setdefault(f"{head}: {key}", []).append(detail)
    return [f"{k}: {' or '.join(dict.fromkeys(v))}" for k, v in merged.items()]


def apply_override(data: dict[str, Any], item: str) -> KeyPath:
    """Apply ``a.b.0.c=value`` (value parsed as YAML) to nested ``data``; return the key path."""
    if "=" not in item:
        raise ValueError("expected key.path=value")
    dotted, raw = item.split("=", 1)
    keys: list[str | int] = [int(k) if k.isdigit() else k for k in dotted.strip().split(".")]
    if not dotted.strip() or any(k == "" for k in keys):
        raise ValueError("empty key in key.path=value")
    value = yaml.safe_load(raw) if raw.strip() else ""
    node: Any = data
    for i, key in enumerate(keys[:-1]):
        nxt = keys[i + 1]
        if isinstance(node, list):
            if not isinstance(key, int) or key >= len(node):
                raise ValueError(f"no list item {key} at {'.'.join(map(str, keys[: i + 1]))}")
            node = node[key]
            continue
        if key not in node or node[key] is None:
            node[key] = [] if isinstance(nxt, int) else {}
        node = node[key]
    last = keys[-1]
    if isinstance(node, list):
        if not isinstance(last, int) or last > len(node):
            raise ValueError(f"no list item {last} to set")
        if last == len(node):
            node.append(value)
        else:
            node[last] = value
    else:
        node[last] = value
    return tuple(keys)


def _format_pydantic_error(err: Any, where: typing.Callable[[KeyPath], str]) -> str:
    kind = err["type"]
    raw = tuple(err["loc"])
    loc = (*_clean_loc(raw[:-1]), raw[-1]) if kind == "extra_forbidden" else _clean_loc(raw)
    dotted = ".".join(str(p) for p in loc) or "(top level)"
    if kind == "extra_forbidden":
        allowed = _fields_at(loc[:-1])
        hint = _did_you_mean(str(loc[-1]), allowed)
        return f"{where(loc)}: {dotted}: unknown key ({hint})"
    if kind == "missing":
        return f"{where(loc)}: {dotted}: required key is missing (add it)"
    msg = err["msg"].removeprefix("Value error, ")
    value = err.get("input")
    shown = "" if isinstance(value, dict | list) or value is None else f" (got {value!r})"
    return f"{where(loc)}: {dotted}: {msg}{shown}"


def _clean_loc(loc: tuple[Any, ...]) -> KeyPath:
    """Drop pydantic's union-member tags (e.g. 'int', 'tuple[int, int]') from an error location."""
    out: list[str | int] = []
    model: Any = RunConfig
    for part in loc:
        if isinstance(part, int):
            out.append(part)
            continue
        fields = _model_fields(model)
        if fields is not None and part in fields:
            out.append(part)
            model = _submodel(fields[part].annotation)
        # else: a union-member tag below a leaf field (e.g. 'int'): skip it
    return tuple(out)


def _model_fields(model: Any) -> dict[str, Any] | None:
    if isinstance(model, type) and issubclass(model, BaseModel):
        return {(f.alias or name): f for name, f in model.model_fields.items()}
    return None


def _submodel(annotation: Any) -> Any:
    """The BaseModel inside an annotation such as ``list[X] | None``, if any."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType, list):
        for arg in typing.get_args(annotation):
            sub = _submodel(arg)
            if sub is not None:
                return sub
    return None


def _fields_at(loc: KeyPath) -> list[str]:
    model: Any = RunConfig
    for part in loc:
        if isinstance(part, int):
            continue
        fields = _model_fields(model)
        if not fields or part not in fields:
            return []
        model = _submodel(fields[part].annotation)
    fields = _model_fields(model)
    return sorted(fields) if fields else []


def _did_you_mean(word: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.5)
    if close:
        return f"did you mean '{close[0]}'?"
    return "allowed: " + ", ".join(choices) if choices else "remove it"


# Where the schema keeps file paths: (key path, must exist, what it is). "*" is any list index.
_PATHS: tuple[tuple[KeyPath, bool, str], ...] = (
    (("targets", "synth", "scene"), True, "scene file"),
    (("targets", "cameras", "*", "image"), True, "image"),
    (("targets", "cameras", "*", "mask"), True, "mask"),
    (("scene", "file"), True, "scene file"),
    (("scene", "object", "path"), True, "mesh file"),
    (("scene", "lighting", "sky"), True, "sky EXR"),
    (("targets", "colmap"), True, "COLMAP model folder"),
    (("targets", "images"), True, "image folder"),
    (("geometry", "init", "path"), True, "mesh file"),
    (("geometry", "reference"), True, "reference mesh"),
    (("output", "dir"), False, "run folder"),
)


def _resolve_paths(
    data: dict[str, Any], base: Path, where: typing.Callable[[KeyPath], str]
) -> list[str]:
    """Make the raw config's file paths absolute (relative to its folder); report missing inputs.

    Works on the raw mapping, before validation, so it skips anything of the wrong shape (the
    schema reports that)."""
    problems: list[str] = []

    def resolve(loc: KeyPath, must_exist: bool, what: str) -> None:
        *parents, last = loc
        node: Any = data
        for key in parents:
            if isinstance(node, list) and isinstance(key, int) and key < len(node):
                node = node[key]
            else:
                node = node.get(key) if isinstance(node, dict) else None
        if not isinstance(node, dict) or not isinstance(node.get(last), str):
            return
        p = Path(node[last]).expanduser()
        p = Path(os.path.normpath(p if p.is_absolute() else base / p))
        node[last] = str(p)
        if must_exist and not p.exists():
            problems.append(f"{where(loc)}: {'.'.join(map(str, loc))}: {what} not found: {p}")

    for loc, must_exist, what in _expand_list_indices(data, _PATHS):
        resolve(loc, must_exist, what)
    raw_targets = data.get("targets")
    targets: dict[str, Any] = raw_targets if isinstance(raw_targets, dict) else {}
    # transforms.json may be missing when targets.synth will render it.
    resolve(("targets", "transforms"), "synth" not in targets, "transforms.json")
    split = _split_with_held_out_views(targets.get("transforms"))
    if split is not None and targets.get("holdout"):
        problems.append(
            f"{where(('targets', 'holdout'))}: targets.holdout: {split} is a NeRF split folder, "
            "its test views are the held-out views; remove targets.holdout"
        )
    scene = data.get("scene")
    if isinstance(scene, dict) and isinstance(scene.get("dict"), dict):
        scene["dict"] = absolute_filenames(scene["dict"], base)
    return problems


def _split_with_held_out_views(transforms: Any) -> Path | None:
    """The NeRF split folder ``targets.transforms`` names (the folder or its
    transforms_train.json) when it has test or val views (see invrender/data/nerf_splits.py)."""
    if not isinstance(transforms, str):
        return None
    path = Path(transforms)
    folder = path if path.is_dir() else path.parent
    if path.is_file() and path.name != "transforms_train.json":
        return None
    if not (folder / "transforms_train.json").is_file():
        return None
    held = any((folder / f"transforms_{s}.json").is_file() for s in ("test", "val"))
    return folder if held else None


def _expand_list_indices(data: dict[str, Any], paths):
    """Each path with "*" replaced by every index of the list found there in ``data``."""
    for loc, must_exist, what in paths:
        if "*" not in loc:
            yield loc, must_exist, what
            continue
        star = loc.index("*")
        node: Any = data
        for key in loc[:star]:
            node = node.get(key) if isinstance(node, dict) else None
        for i in range(len(node) if isinstance(node, list) else 0):
            yield (*loc[:star], i, *loc[star + 1 :]), must_exist, what


def dump_config(config: RunConfig) -> str:
    """Plain YAML of a config, which validates again through the same schema."""
    data = config.model_dump(mode="json", by_alias=True, exclude_none=True)
    return yaml.safe_dump(data, sort_keys=False)


def absolute_filenames(node: Any, base: Path) -> Any:
    """A copy of a Mitsuba dict with every relative ``filename`` made absolute against ``base``
    (so that resolved configs and --resume work from any folder)."""
    if isinstance(node, list):
        return [absolute_filenames(v, base) for v in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for key, value in node.items():
        if key == "filename" and isinstance(value, str):
            p = Path(value).expanduser()
            out[key] = str(p if p.is_absolute() else base / p)
        else:
            out[key] = absolute_filenames(value, base)
    return out
