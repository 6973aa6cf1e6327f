"""The --set values scripts/bench_default_estimator.py gives optimize (no runs here)."""

from __future__ import annotations

import yaml

from scripts.bench_default_estimator import ESTIMATORS, integrator_spec


def test_integrator_spec_is_yaml_of_the_estimator_and_keeps_a_hidden_sky():
    hidden = {"integrator": {"type": "direct_projective", "sppi": 0, "hide_emitters": True}}
    for name, spec in ESTIMATORS.items():
        assert yaml.safe_load(integrator_spec(name, {})) == spec
        assert yaml.safe_load(integrator_spec(name, hidden)) == {**spec, "hide_emitters": True}
    shipped = yaml.safe_load(integrator_spec("edge_sampling", {"integrator": {"type": "prb"}}))
    assert shipped == {"type": "edge_sampling", "max_depth": 2}  # shadow edges at their default
