"""Scenes: loading (XML, dict, mesh files, the template) and selecting their parameters."""
