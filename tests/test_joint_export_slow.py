"""Acceptance of the textured joint example (minutes: `pytest -m slow`): configs/joint.yaml on a
clean clone, its exported scene.xml re-rendered on the held-out views, Cycles on the .blend."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from export_helpers import khronos_report, require_or_skip

ROOT = Path(__file__).resolve().parents[1]


def exported_holdout_psnr(run_dir: Path, session) -> dict[str, float]:
    """PSNR of each held-out view rendered by Mitsuba from the exported scene.xml alone."""
    import mitsuba as mi

    from invrender.data.dataset import load_dataset
    from invrender.losses import psnr

    scene = mi.load_file(str(run_dir / "export" / "mitsuba" / "scene.xml"))
    spp = session.config.optimize.eval_spp
    # load_run's session has the run's cameras only (an export needs no photos): the targets
    # come from the run's config.
    targets = load_dataset(session.config.targets, "targets")
    out = {}
    for v in session.dataset.eval_views:
        view = targets.views[v]
        assert view.name == session.dataset.views[v].name
        image = np.array(mi.render(scene, sensor=session.sensors[v], spp=spp, seed=12345 + v))[
            ..., :3
        ]  # scene.xml films are RGBA
        out[view.name] = psnr(image[..., :3], view.image)
    return out


def cycles_vs_mitsuba(run_dir: Path, session, samples: int = 256) -> tuple[float, float]:
    """MAE and mean of Cycles (exported .blend) against Mitsuba (exported scene.xml) on the
    first held-out camera."""
    import mitsuba as mi

    from invrender.export.blender import render_blend
    from invrender.export.scene_data import safe_name
    from invrender.files import read_exr

    v = session.dataset.eval_views[0]
    scene = mi.load_file(str(run_dir / "export" / "mitsuba" / "scene.xml"))
    reference = np.array(mi.render(scene, sensor=session.sensors[v], spp=1024, seed=3))[..., :3]
    blend = run_dir / "export" / "blender" / "scene.blend"
    # The .blend names each camera after its view (the sensor's id), as the export does.
    camera = safe_name(session.sensors[v].id(), set(), f"camera_{v}")
    image = render_blend(blend, run_dir / "cycles.exr", camera=camera, samples=samples)
    cycles = read_exr(image).astype(np.float64)[..., :3]
    return float(np.mean(np.abs(cycles - reference))), float(reference.mean())


@pytest.mark.slow
def test_joint_example_leaves_as_a_textured_asset(variant, tmp_path):
    from test_export_blender import _bpy_available

    from invrender.run.export import load_run
    from invrender.run.launch import run_optimization

    summary, run_dir = run_optimization(
        ROOT / "configs" / "joint.yaml",
        [f"targets.transforms={tmp_path}/targets/transforms.json"],
        output=tmp_path / "run",
        variant=variant,
        progress=False,
    )
    assert summary["psnr_views"].startswith("held-out") and summary["texture"]["seam_vertices"] > 0
    session = load_run(run_dir, variant)
    exported = float(np.mean(list(exported_holdout_psnr(run_dir, session).values())))
    print(f"run held-out PSNR {summary['psnr']:.2f} dB, exported scene.xml {exported:.2f} dB")
    # The asset keeps the run's quality: the exported scene.xml alone scores at least the run's
    # own held-out PSNR less 1 dB. (It scored 1.45 dB above it on 2026-12-05, 42.50 against
    # 41.05: the run's evaluation renders with its AD integrator, the scene.xml with `path`;
    # that difference was not looked into.)
    assert exported >= 35.0 and exported >= summary["psnr"] - 1.0, (exported, summary)

    glb = run_dir / "export" / "gltf" / "scene.glb"
    report, _ = khronos_report(glb, timeout=300)
    assert report["numErrors"] == 0 and report["numWarnings"] == 0, report["messages"]

    require_or_skip(
        _bpy_available(), "Blender's bpy module (.bpy-venv)", "bash scripts/setup_blender_env.sh"
    )
    mae, mean = cycles_vs_mitsuba(run_dir, session)
    print(f"Cycles vs Mitsuba on the held-out camera: MAE {mae:.4f} (mean {mean:.3f})")
    assert mae <= 0.01, (mae, mean)
