"""The one base of every config model: unknown keys are errors, defaults are validated too."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Strict(BaseModel):
    """A typo in a config key must fail loudly, never be ignored: ``extra="forbid"``.
    ``populate_by_name`` lets aliased fields (e.g. a stage's ``lr``) be set by either name."""

    model_config = ConfigDict(extra="forbid", validate_default=True, populate_by_name=True)
