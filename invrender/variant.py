"""Choose the Mitsuba variant (a working libLLVM first, see :mod:`invrender.llvm`) and register
our integrator plugins for it."""

from __future__ import annotations

import os

from invrender.config.names import VARIANTS
from invrender.errors import SetupError
from invrender.llvm import LLVM_HELP, ensure_llvm


def _cuda_works() -> bool:
    import drjit as dr

    try:
        return bool(dr.has_backend(dr.JitBackend.CUDA))
    except Exception:
        return False


def select_variant(name: str = "auto") -> str:
    """Set the Mitsuba variant (``auto``: CUDA when a device works, else LLVM) and register plugins.

    Returns the variant name that is active afterwards.
    """
    if name not in VARIANTS:
        raise SetupError(f"unknown variant {name!r}; choose one of {', '.join(VARIANTS)}")
    if name != "cuda_ad_rgb":
        ensure_llvm()
    import mitsuba as mi

    if name == "auto":
        name = "cuda_ad_rgb" if _cuda_works() else "llvm_ad_rgb"
    if name == "cuda_ad_rgb" and not _cuda_works():
        raise SetupError(
            "variant cuda_ad_rgb needs an NVIDIA GPU with a CUDA driver; "
            "use --variant llvm_ad_rgb or auto"
        )
    if mi.variant() != name:
        try:
            mi.set_variant(name)
        except Exception as exc:  # pragma: no cover - depends on the machine
            raise SetupError(f"cannot set Mitsuba variant {name}: {exc}") from exc
    if name == "llvm_ad_rgb":
        _check_llvm_backend()

    from invrender import integrators

    integrators.register()
    return name


def _check_llvm_backend() -> None:
    import drjit as dr

    if not dr.has_backend(dr.JitBackend.LLVM):
        raise SetupError(LLVM_HELP + f" (tried {os.environ.get('DRJIT_LIBLLVM_PATH')})")
