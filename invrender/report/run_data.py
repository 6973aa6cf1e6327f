"""Everything report.html shows, read from the run folder alone.

Only files inside the run folder are read (never the dataset or the config's sources), so the
report can be rebuilt on another machine, and runs made before a file existed still get a page:
each part is optional and missing parts become notes on the page.
"""

from __future__ import annotations

import csv
import json
import math
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from invrender.export.cameras import BLENDER_TO_MITSUBA  # transforms.json: Z up
from invrender.report.eval_views import EVAL_DIR, FLIP_X_Z, VIEWS_NAME, fov_x_deg
from invrender.report.glb import Camera
from invrender.report.overrides import read_overrides
from invrender.run.folder import RunFolder

CONFIG_NAME = RunFolder.CONFIG
GLB_PATH = "export/gltf/scene.glb"
SCENE_XML = "export/mitsuba/scene.xml"
CAMERAS_JSON = "export/cameras/transforms.json"
COLOUR_MAPS = {"base_color", "reflectance", "diffuse_reflectance", "specular_reflectance"}


@dataclass
class TextureMap:
    """A bitmap texture of the exported scene: which BSDF input, of which shape, which file."""

    shape: str
    name: str
    path: Path

    @property
    def colour(self) -> bool:
        return self.name in COLOUR_MAPS


@dataclass
class Envmap:
    path: Path
    scale: float = 1.0
    to_world: np.ndarray | None = None


@dataclass
class RunData:
    run_dir: Path
    config_text: str | None = None
    config: dict[str, Any] = field(default_factory=dict)
    summary: dict[str, Any] | None = None
    metrics: list[dict[str, str]] = field(default_factory=list)
    overrides: list[dict[str, Any]] | None = None
    previews: list[Path] = field(default_factory=list)
    eval_views: list[dict[str, Any]] = field(default_factory=list)
    glb: Path | None = None
    textures: list[TextureMap] = field(default_factory=list)
    scalars: dict[str, dict[str, str]] = field(default_factory=dict)  # shape -> BSDF constants
    envmap: Envmap | None = None
    cameras: list[Camera] = field(default_factory=list)
    cameras_source: str | None = None
    notes: list[str] = field(default_factory=list)  # files that exist but could not be read

    @property
    def name(self) -> str:
        return str(self.config.get("name") or self.run_dir.name)

    @property
    def total_iterations(self) -> int | None:
        value = (self.config.get("optimize") or {}).get("iterations")
        return int(value) if isinstance(value, int | float) else None

    @property
    def finished(self) -> bool:
        return self.summary is not None and self.summary.get("status") in ("completed",)


def _read_json(path: Path, notes: list[str]) -> Any:
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        notes.append(f"{path.name}: cannot read ({exc})")
        return None


def load_run(run_dir: Path) -> RunData:
    """Read what there is of a run folder (a finished run, one still going, or an old one)."""
    import yaml

    run_dir = Path(run_dir)
    data = RunData(run_dir)
    config_path = run_dir / CONFIG_NAME
    if config_path.is_file():
        data.config_text = config_path.read_text()
        try:
            loaded = yaml.safe_load(data.config_text)
            data.config = loaded if isinstance(loaded, dict) else {}
        except yaml.YAMLError as exc:
            data.notes.append(f"{CONFIG_NAME}: invalid YAML ({exc})")
    summary = _read_json(RunFolder(run_dir).summary, data.notes)
    data.summary = summary if isinstance(summary, dict) else None
    data.metrics = _read_metrics(RunFolder(run_dir).metrics, data.notes)
    data.overrides = read_overrides(run_dir)
    data.previews = sorted(RunFolder(run_dir).previews.glob("iter_*.png"))
    views = _read_json(run_dir / EVAL_DIR / VIEWS_NAME, data.notes)
    if isinstance(views, dict):
        data.eval_views = [
            v
            for v in views.get("views", [])
            if all((run_dir / EVAL_DIR / v.get(k, "")).is_file() for k in ("target", "render"))
        ]
        data.cameras = [_camera(c) for c in views.get("cameras", []) if _valid_camera(c)]
        data.cameras_source = f"{EVAL_DIR}/{VIEWS_NAME}" if data.cameras else None
    glb = run_dir / GLB_PATH
    data.glb = glb if glb.is_file() else None
    if (run_dir / SCENE_XML).is_file():
        _read_scene_xml(run_dir / SCENE_XML, data)
    if not data.cameras and (run_dir / CAMERAS_JSON).is_file():
        data.cameras = _cameras_from_transforms(run_dir / CAMERAS_JSON, data)
        data.cameras_source = CAMERAS_JSON if data.cameras else None
    return data


def _read_metrics(path: Path, notes: list[str]) -> list[dict[str, str]]:
    if not path.is_file():
        return []
    try:
        with open(path, newline="") as f:
            return list(csv.DictReader(f))
    except (OSError, csv.Error) as exc:
        notes.append(f"metrics.csv: cannot read ({exc})")
        return []


def _valid_camera(c: Any) -> bool:
    try:
        return np.asarray(c["c2w"], float).shape == (4, 4) and float(c["fov_x_deg"]) > 0
    except (KeyError, TypeError, ValueError):
        return False


def _camera(c: dict[str, Any]) -> Camera:
    return Camera(
        name=str(c.get("name", "")),
        c2w=np.asarray(c["c2w"], float),
        fov_x_deg=float(c["fov_x_deg"]),
        width=int(c.get("width", 1)),
        height=int(c.get("height", 1)),
        heldout=bool(c.get("heldout", False)),
    )


def heldout_indices(config: dict[str, Any]) -> set[int]:
    holdout = (config.get("targets") or {}).get("holdout") or []
    return {int(i) for i in holdout if isinstance(i, int)}


def _cameras_from_transforms(path: Path, data: RunData) -> list[Camera]:
    """Cameras from the run's ``transforms.json`` export (Blender's Z-up world)."""
    meta = _read_json(path, data.notes)
    if not isinstance(meta, dict):
        return []
    held = heldout_indices(data.config)
    cameras = []
    for i, frame in enumerate(meta.get("frames", [])):
        try:
            c2w = BLENDER_TO_MITSUBA @ np.asarray(frame["transform_matrix"], float)
            angle = float(frame.get("camera_angle_x", meta.get("camera_angle_x")))
            width = int(frame.get("w", meta.get("w", 1)))
            height = int(frame.get("h", meta.get("h", 1)))
        except (KeyError, TypeError, ValueError):
            continue
        name = str(frame.get("camera_name") or Path(str(frame.get("file_path", i))).name)
        cameras.append(Camera(name, c2w, math.degrees(angle), width, height, i in held))
    return cameras


def _values(element: ET.Element) -> dict[str, ET.Element]:
    return {child.get("name", ""): child for child in element}


def _matrix(element: ET.Element | None) -> np.ndarray | None:
    if element is None:
        return None
    matrix = element.find("matrix")
    if matrix is None:
        return None
    try:
        return np.asarray([float(v) for v in matrix.get("value", "").split()]).reshape(4, 4)
    except ValueError:
        return None


def _read_scene_xml(path: Path, data: RunData) -> None:
    """The exported Mitsuba scene: envmap file, BSDF textures and constants, sensors."""
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError) as exc:
        data.notes.append(f"{SCENE_XML}: cannot read ({exc})")
        return
    base = path.parent
    for emitter in root.iter("emitter"):
        if emitter.get("type") != "envmap":
            continue
        values = _values(emitter)
        file = values.get("filename")
        if file is not None and (base / file.get("value", "")).is_file():
            scale = values.get("scale")
            data.envmap = Envmap(
                base / file.get("value", ""),
                float(scale.get("value", 1.0)) if scale is not None else 1.0,
                _matrix(values.get("to_world")),
            )
            break
    for shape in root.iter("shape"):
        shape_name = shape.get("id") or shape.get("type") or "shape"
        for bsdf in shape.iter("bsdf"):
            for child in bsdf:
                name = child.get("name", "")
                if child.tag == "texture" and child.get("type") == "bitmap":
                    file = _values(child).get("filename")
                    target = base / (file.get("value", "") if file is not None else "")
                    if file is not None and target.is_file():
                        data.textures.append(TextureMap(shape_name, name, target))
                elif child.tag in ("float", "rgb") and name and not name.endswith("_rate"):
                    data.scalars.setdefault(shape_name, {})[name] = child.get("value", "")
    if data.cameras:
        return
    held = heldout_indices(data.config)
    cameras = []
    for i, sensor in enumerate(root.iter("sensor")):
        values = _values(sensor)
        to_world = _matrix(values.get("to_world"))
        fov = values.get("fov")
        film = sensor.find("film")
        if to_world is None or fov is None or film is None:
            continue
        size = _values(film)
        width = int(size["width"].get("value", 1)) if "width" in size else 1
        height = int(size["height"].get("value", 1)) if "height" in size else 1
        axis = values["fov_axis"].get("value", "x") if "fov_axis" in values else "x"
        fov_x = fov_x_deg(float(fov.get("value", 40)), axis, width, height)
        cameras.append(Camera(f"camera_{i}", to_world @ FLIP_X_Z, fov_x, width, height, i in held))
    if cameras:
        data.cameras, data.cameras_source = cameras, SCENE_XML
