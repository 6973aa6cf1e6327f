"""Typed reads of an integrator plugin's parameters.

``mi.Properties.get`` is typed ``object``; these narrow what it returns to what ``int()`` and
``float()`` accept, and convert it as the plugins always did.
"""

from __future__ import annotations

from typing import SupportsFloat, SupportsInt

import mitsuba as mi


def prop_int(props: mi.Properties, name: str, default: int) -> int:
    """``int(props.get(name, default))``."""
    value = props.get(name, default)
    if isinstance(value, (str, SupportsInt)):
        return int(value)
    raise TypeError(f"integrator parameter {name!r} must be an integer, got {value!r}")


def prop_float(props: mi.Properties, name: str, default: float) -> float:
    """``float(props.get(name, default))``."""
    value = props.get(name, default)
    if isinstance(value, (str, SupportsFloat)):
        return float(value)
    raise TypeError(f"integrator parameter {name!r} must be a number, got {value!r}")
