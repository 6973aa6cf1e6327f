"""Pipeline registry: ``optimize.pipeline`` names one of these."""

from __future__ import annotations

import difflib
import importlib

from invrender.config.names import PIPELINES as PIPELINE_NAMES
from invrender.errors import ConfigError
from invrender.pipelines.base import Pipeline, RunContext

PIPELINES: dict[str, type[Pipeline]] = {}

# Built-in pipelines, imported on first use so that a missing optional one never breaks the rest.
_BUILTIN = {name: f"invrender.pipelines.{name}" for name in PIPELINE_NAMES}


def register_pipeline(cls: type[Pipeline]) -> type[Pipeline]:
    """Class decorator: make ``cls`` available as ``optimize.pipeline: <cls.name>``."""
    PIPELINES[cls.name] = cls
    return cls


def available() -> list[str]:
    for module in _BUILTIN.values():
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise
    return sorted(PIPELINES)


def get_pipeline(name: str, config_name: str = "config") -> type[Pipeline]:
    if name not in PIPELINES and name in _BUILTIN:
        try:
            importlib.import_module(_BUILTIN[name])
        except ModuleNotFoundError as exc:
            if exc.name != _BUILTIN[name]:
                raise
    if name in PIPELINES:
        return PIPELINES[name]
    names = available()
    close = difflib.get_close_matches(name, names, n=1)
    hint = f"did you mean '{close[0]}'?" if close else "choose one of " + ", ".join(names)
    raise ConfigError([f"{config_name}: optimize.pipeline: unknown pipeline '{name}' ({hint})"])


__all__ = ["PIPELINES", "Pipeline", "RunContext", "available", "get_pipeline", "register_pipeline"]
