"""Camera refinement (issue 26): noisy cameras get closer to the true ones during a run."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import yaml
from click.testing import CliRunner
from helpers import tiny_example

from invrender.cli.main import main
from invrender.run.camera_refine import rotation_matrix

NOISE_DEG = 0.5
NOISE_CENTRE = 0.01  # of the camera's distance to the object


def _perturbed(tmp: Path, seed: int = 3) -> tuple[Path, list, list]:
    """The material example at 64 px, 6 views (view 5 held out); every training camera but the
    first moved by 0.5° about a random axis through its centre and 1 % of its distance."""
    from invrender.config.loader import load_config
    from invrender.data.cameras import Camera
    from invrender.data.transforms import read_transforms, write_transforms
    from invrender.run.session import ensure_targets

    cfg = tiny_example(
        tmp,
        "material_texture",
        targets__synth__resolution=64,
        targets__synth__views=6,
        targets__holdout=[5],
        optimize__iterations=100,
        optimize__spp=16,
        optimize__views_per_iter=2,
        optimize__eval_spp=16,
        optimize__params__0__lr=0.005,
        optimize__params__0__init=None,
        optimize__params__0__resolution=None,
        optimize__params__0__upsample=None,
        optimize__cameras={"refine": True},
        integrator={"type": "edge_sampling", "max_depth": 3},
        output__preview_every=0,
        output__checkpoint_every=0,
        output__export=["cameras"],
    )
    # A textured floor under the sphere: its parallax tells a camera's turn from its shift (a
    # sphere alone looks nearly the same either way). Lit by a constant sky alone: a directional
    # light would have to turn with the scene, and emitters turn without a derivative.
    data = yaml.safe_load(cfg.read_text())
    xml = Path(data["scene"]["file"])
    text = xml.read_text()
    start = text.index('<emitter type="directional">')
    end = text.index("</emitter>", start) + len("</emitter>")
    floor = (
        '<shape type="obj" id="floor"><string name="filename" value="floor.obj"/>'
        '<bsdf type="diffuse"><texture type="bitmap" name="reflectance">'
        '<string name="filename" value="albedo.png"/></texture></bsdf></shape>'
    )
    end_scene = text.rindex("</scene>")
    lit = tmp / "scene.xml"
    lit.write_text(text[:start] + text[end:end_scene] + floor + text[end_scene:])
    (tmp / "floor.obj").write_text(
        "v -4 -1.1 -4\nv 4 -1.1 -4\nv 4 -1.1 4\nv -4 -1.1 4\n"
        "vt 0 0\nvt 3 0\nvt 3 3\nvt 0 3\nf 1/1 4/4 3/3\nf 1/1 3/3 2/2\n"
    )
    for name in ("sphere.ply", "albedo.png"):
        (tmp / name).write_bytes((xml.parent / name).read_bytes())
    data["scene"]["file"] = data["targets"]["synth"]["scene"] = str(lit)
    data["targets"]["synth"]["elevations"] = [25.0, 35.0]
    cfg.write_text(yaml.safe_dump(data))
    ensure_targets(load_config(cfg), progress=False)
    path = tmp / "targets" / "transforms.json"
    frames = read_transforms(path)
    truth = [f.camera for f in frames]
    rng = np.random.default_rng(seed)
    noisy = []
    for i, cam in enumerate(truth):
        m = np.asarray(cam.to_world, dtype=np.float64).copy()
        if 0 < i < 5:
            axis = rng.normal(size=3)
            rot = rotation_matrix(axis / np.linalg.norm(axis) * math.radians(NOISE_DEG))
            shift = rng.normal(size=3)
            distance = np.linalg.norm(m[:3, 3])
            m[:3, :3] = rot @ m[:3, :3]
            m[:3, 3] += shift / np.linalg.norm(shift) * NOISE_CENTRE * distance
        noisy.append(Camera(m, cam.fov, cam.width, cam.height, cam.fov_axis, cam.principal_point))
    write_transforms(path, noisy, [str(f.image.relative_to(path.parent)) for f in frames])
    return cfg, truth, noisy


def _errors(cams: list, truth: list) -> tuple[float, float]:
    """Mean rotation error (degrees) and centre error (fraction of distance) of views 1-4."""
    rot, centre = [], []
    for i in range(1, 5):
        a = np.asarray(cams[i].to_world, dtype=np.float64)
        b = np.asarray(truth[i].to_world, dtype=np.float64)
        cos = (np.trace(a[:3, :3] @ b[:3, :3].T) - 1) / 2
        rot.append(math.degrees(math.acos(min(1.0, max(-1.0, cos)))))
        centre.append(np.linalg.norm(a[:3, 3] - b[:3, 3]) / np.linalg.norm(b[:3, 3]))
    return float(np.mean(rot)), float(np.mean(centre))


@pytest.fixture(scope="module")
def refined(tmp_path_factory, variant) -> tuple[dict, list, list, list]:
    from invrender.run.folder import RunFolder

    tmp = tmp_path_factory.mktemp("cameras")
    cfg, truth, noisy = _perturbed(tmp)
    result = CliRunner().invoke(main, ["optimize", str(cfg), "--quiet"])
    assert result.exit_code == 0, result.output
    run = RunFolder(tmp / "run")
    cameras = [cam for _, cam in run.read_cameras() or []]
    return run.read_summary() or {}, truth, noisy, cameras


def test_refinement_halves_rotation_and_centre_errors(refined) -> None:
    summary, truth, noisy, cameras = refined
    before = _errors(noisy, truth)
    after = _errors(cameras, truth)
    assert before[0] > 0.4 and before[1] > 0.008  # the noise is there
    assert after[0] <= before[0] / 2, (before, after)
    assert after[1] <= before[1] / 2, (before, after)
    report = summary["cameras"]
    assert report["reference"] == "images/r_000"
    assert set(report["per_view"]) == {f"images/r_00{i}" for i in range(1, 5)}


def test_export_writes_the_refined_cameras(refined, tmp_path_factory) -> None:
    summary, truth, _noisy, cameras = refined
    exported = summary["exported"]["cameras"][0]
    assert exported.endswith("transforms.json")
    assert np.allclose(cameras[0].to_world, truth[0].to_world)  # the reference is as given


def test_refinement_with_a_silhouette_term_is_refused(tmp_path, variant) -> None:
    cfg = tiny_example(
        tmp_path,
        "shape",
        optimize__cameras={"refine": True},
        geometry__mask_weight=1.0,
        geometry__reference=None,
    )
    result = CliRunner().invoke(main, ["optimize", str(cfg), "--quiet"])
    assert result.exit_code == 2, result.output
    assert "optimize.cameras.refine: the silhouette term" in result.output
    assert not (tmp_path / "run").exists()
