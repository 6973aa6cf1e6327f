"""Find a working libLLVM for Dr.Jit's CPU backend before Dr.Jit is imported.

Dr.Jit loads libLLVM at run time; Debian's LLVM 14/15 crash in code generation, so we point
``DRJIT_LIBLLVM_PATH`` at a known-good one first. Order: an existing ``DRJIT_LIBLLVM_PATH``, a
pip-installed LLVM (``karellen-llvm-core``, the ``[llvm]`` extra), then the system's newest >= 16.
Cheap (a few file globs) and free of Mitsuba, so ``import invrender`` can run it.
"""

from __future__ import annotations

import glob
import os
import re
import sys

from invrender.errors import SetupError

MIN_LLVM_MAJOR = 16

LLVM_HELP = (
    f"no working libLLVM (>= {MIN_LLVM_MAJOR}) found for Dr.Jit's CPU backend; install one with "
    "`pip install 'invrender[llvm]'` (no root) or `apt-get install libllvm19`, "
    "or point DRJIT_LIBLLVM_PATH at a libLLVM.so"
)


def _llvm_major(path: str) -> int | None:
    """The LLVM major version encoded in a library file name, if any."""
    name = os.path.basename(path)
    match = re.search(r"llvm-(\d+)/", path) or re.search(r"LLVM[-.]?(?:so\.)?(\d+)", name)
    return int(match.group(1)) if match else None


def _pip_llvm_candidates() -> list[str]:
    """libLLVM shipped by a wheel into the current environment (karellen-llvm-core)."""
    found: list[str] = []
    for prefix in {sys.prefix, sys.base_prefix}:
        found += glob.glob(os.path.join(prefix, "lib", "libLLVM.so.*"))
        found += glob.glob(os.path.join(prefix, "lib", "libLLVM-*.so"))
    return found


def _system_llvm_candidates() -> list[str]:
    patterns = [
        "/usr/lib/llvm-*/lib/libLLVM*.so*",
        "/usr/lib/x86_64-linux-gnu/libLLVM*.so*",
        "/usr/lib/aarch64-linux-gnu/libLLVM*.so*",
        "/usr/local/lib/libLLVM*.so*",
        "/opt/homebrew/opt/llvm/lib/libLLVM*.dylib",
        "/usr/local/opt/llvm/lib/libLLVM*.dylib",
    ]
    return [p for pat in patterns for p in glob.glob(pat)]


def _newest_usable(paths: list[str]) -> str | None:
    usable = [(v, p) for p in paths if (v := _llvm_major(p)) and v >= MIN_LLVM_MAJOR]
    usable = [(v, p) for v, p in usable if os.path.isfile(p)]
    return max(usable)[1] if usable else None


def find_libllvm() -> str | None:
    """Path of a libLLVM that Dr.Jit can use, or None."""
    env = os.environ.get("DRJIT_LIBLLVM_PATH")
    if env and os.path.isfile(env):
        return env
    return _newest_usable(_pip_llvm_candidates()) or _newest_usable(_system_llvm_candidates())


def preselect_llvm() -> None:
    """Set DRJIT_LIBLLVM_PATH if unset and a working LLVM exists; never raises (import time)."""
    if "drjit" in sys.modules or os.environ.get("DRJIT_LIBLLVM_PATH"):
        return
    path = find_libllvm()
    if path is not None:
        os.environ["DRJIT_LIBLLVM_PATH"] = path


def ensure_llvm() -> str:
    """Set DRJIT_LIBLLVM_PATH to a working LLVM before Dr.Jit loads; raise SetupError if none."""
    env = os.environ.get("DRJIT_LIBLLVM_PATH")
    if env and not os.path.isfile(env):
        raise SetupError(f"DRJIT_LIBLLVM_PATH={env} does not exist; unset it or fix the path")
    path = find_libllvm()
    if path is None:
        raise SetupError(LLVM_HELP)
    if "drjit" in sys.modules and os.environ.get("DRJIT_LIBLLVM_PATH") != path:
        import warnings

        warnings.warn(
            "drjit was imported before invrender, so invrender could not point it at a working "
            f"libLLVM; if Dr.Jit crashes, import invrender first or set DRJIT_LIBLLVM_PATH={path}",
            stacklevel=2,
        )
        return os.environ.get("DRJIT_LIBLLVM_PATH", path)
    os.environ["DRJIT_LIBLLVM_PATH"] = path
    return path
