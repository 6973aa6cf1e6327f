"""invrender's differentiable integrators, registered as Mitsuba plugins.

Mitsuba registers plugins per variant, so :func:`register` must run again after every
``mi.set_variant``; :func:`invrender.variant.select_variant` does this. Importing this
package after a variant is set registers the plugins for it.
"""

from __future__ import annotations

import importlib

# Module name -> plugin name. Each module defines ``register()``.
_PLUGIN_MODULES: dict[str, str] = {
    "invrender.integrators.edge_sampling": "edge_sampling",
    "invrender.integrators.reparam": "reparam",
}


def register() -> list[str]:
    """Register every available integrator for the current Mitsuba variant; returns their names."""
    import mitsuba as mi

    if "_ad_" not in (mi.variant() or ""):
        # Both plugins are AD integrators. Importing them (hence mitsuba.ad.integrators) in a
        # non-AD variant would initialise that package without `prb`, breaking later AD variants.
        return []
    names = []
    for module_name, plugin in _PLUGIN_MODULES.items():
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:  # not written yet in this checkout
                continue
            raise
        module.register()
        names.append(plugin)
    return names


def _register_if_variant_set() -> None:
    import sys

    if "mitsuba" in sys.modules:
        import mitsuba as mi

        if mi.variant() is not None:
            register()


_register_if_variant_set()
