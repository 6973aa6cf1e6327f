"""The fixed vocabularies of a config, written once: variants, pipelines, export formats.

Cheap to import (no pydantic, no Mitsuba), so that the command line can offer them as choices
without slowing ``invrender --help``. The schema takes its ``Literal`` types from here.
"""

from __future__ import annotations

from typing import Literal, get_args

Variant = Literal["auto", "llvm_ad_rgb", "cuda_ad_rgb"]
PipelineName = Literal["material", "lighting", "geometry", "joint"]
ExportFormat = Literal["mitsuba", "ply", "obj", "gltf", "blender", "cameras"]

VARIANTS: tuple[str, ...] = get_args(Variant)
PIPELINES: tuple[str, ...] = get_args(PipelineName)
#: Every export format, in the order they are written; "all" stands for all of them.
EXPORT_FORMATS: tuple[str, ...] = get_args(ExportFormat)
