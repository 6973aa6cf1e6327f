"""Shared test setup: one Mitsuba variant for the whole session (LLVM on CPU)."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(scope="session")
def variant() -> str:
    from invrender.variant import select_variant

    return select_variant(os.environ.get("INVRENDER_TEST_VARIANT", "llvm_ad_rgb"))


@pytest.fixture(autouse=True)
def _collect_garbage():
    """Free each test's Dr.Jit objects before the next test differentiates.

    Objects kept alive by reference cycles (e.g. tracebacks that pytest or click hold) would
    otherwise join the next test's AD graph; Dr.Jit then refuses to propagate across them
    ("lies outside of the current dr.isolate_grad() scope")."""
    yield
    import gc

    gc.collect()
