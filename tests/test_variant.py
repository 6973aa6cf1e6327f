"""LLVM discovery and variant selection."""

from __future__ import annotations

import pytest

from invrender import llvm as v
from invrender.errors import SetupError


def test_llvm_major_parses_common_names():
    assert v._llvm_major("/venv/lib/libLLVM.so.23.1") == 23
    assert v._llvm_major("/usr/lib/x86_64-linux-gnu/libLLVM-15.so.1") == 15
    assert v._llvm_major("/usr/lib/llvm-19/lib/libLLVM.so.1") == 19


def test_old_system_llvm_is_skipped(tmp_path):
    old = tmp_path / "libLLVM-15.so.1"
    new = tmp_path / "libLLVM-19.so.1"
    old.write_bytes(b"")
    assert v._newest_usable([str(old)]) is None
    new.write_bytes(b"")
    assert v._newest_usable([str(old), str(new)]) == str(new)


def test_missing_llvm_says_how_to_get_one(monkeypatch):
    monkeypatch.delenv("DRJIT_LIBLLVM_PATH", raising=False)
    monkeypatch.setattr(v, "_pip_llvm_candidates", lambda: [])
    monkeypatch.setattr(v, "_system_llvm_candidates", lambda: [])
    with pytest.raises(SetupError, match=r"pip install 'invrender\[llvm\]'.*libllvm19"):
        v.ensure_llvm()


def test_bad_env_path_is_reported(monkeypatch):
    monkeypatch.setenv("DRJIT_LIBLLVM_PATH", "/nonexistent/libLLVM.so")
    with pytest.raises(SetupError, match="DRJIT_LIBLLVM_PATH=/nonexistent"):
        v.ensure_llvm()


def test_select_variant_sets_llvm(variant):
    import mitsuba as mi

    assert variant == "llvm_ad_rgb"
    assert mi.variant() == "llvm_ad_rgb"
