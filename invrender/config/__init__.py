"""The run config: a strict schema, YAML loading with file:line errors, ``--set`` overrides."""
