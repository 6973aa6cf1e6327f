"""Shared test setup: one Mitsuba variant for the whole session (LLVM on CPU)."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(scope="session")
def variant() -> str:
    from invrender.variant import select_variant

    return select_variant(os.environ.get("INVRENDER_TEST_VARIANT", "llvm_ad_rgb"))
