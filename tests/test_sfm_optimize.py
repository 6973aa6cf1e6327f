"""Slow acceptance: `invrender optimize` on cameras recovered by `invrender cameras` reaches a
held-out PSNR within 1 dB of the same config on the true cameras."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from invrender.data.cameras import Camera
from invrender.data.transforms import read_transforms, write_transforms
from invrender.run.launch import run_optimization
from scripts.fixtures.alignment import align_poses
from tests.photo_helpers import (
    camera_errors,
    photo_cameras,
    photo_scene_files,
    render_photos,
)
from tests.test_sfm import run


def aligned(recovered: list[Camera], truth: list[Camera]) -> list[Camera]:
    """The recovered cameras moved into the true world by the best similarity (the recovered
    world's scale and placement are arbitrary; the config's scene lives in the true one)."""
    s, r, t = align_poses(recovered, truth)
    out = []
    for c in recovered:
        m = np.eye(4)
        m[:3, :3] = r @ c.to_world[:3, :3]
        m[:3, 3] = s * r @ c.to_world[:3, 3] + t
        out.append(Camera(m, c.fov, c.width, c.height, c.fov_axis, c.principal_point))
    return out


def material_config(tmp_path: Path, transforms: Path, name: str) -> Path:
    """Recover the central sphere's albedo texture (geometry, floor and light known)."""
    from invrender.files import write_exr

    scene = photo_scene_files(tmp_path / "textures")
    start = write_exr(tmp_path / "textures" / "start.exr", np.full((64, 64, 3), 0.5, np.float32))
    scene["object"]["bsdf"]["reflectance"]["filename"] = str(start)
    data = {
        "name": name,
        "targets": {"transforms": str(transforms), "holdout": [3, 11, 19], "downscale": 2},
        "scene": {"dict": scene},
        "integrator": {"type": "prb", "max_depth": 3},
        "optimize": {
            "pipeline": "material",
            "iterations": 150,
            "spp": 8,
            "views_per_iter": 2,
            "eval_spp": 64,
            "params": [
                {
                    "key": "object.bsdf.reflectance.data",
                    "lr": 0.03,
                    "bounds": [0.0, 1.0],
                    "init": 0.5,
                    "resolution": [64, 64],
                    "schedule": {"type": "cosine", "final_factor": 0.2},
                }
            ],
        },
        "output": {"dir": str(tmp_path / f"run_{name}"), "export": []},
    }
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.mark.slow
def test_recovered_cameras_optimize_as_well_as_the_true_ones(tmp_path, variant):
    truth = photo_cameras(24, 320, 240)
    photos = render_photos(tmp_path / "photos", truth, spp=64)
    write_transforms(tmp_path / "photos" / "transforms.json", truth, [p.name for p in photos])
    # The default lens model (radial), as a new user runs it; the photos come from a pinhole
    # camera, so the lens terms are dropped and the targets are not resampled.
    res = run("cameras", tmp_path / "photos", "--out", tmp_path / "ds")
    assert res.exit_code == 0, res.output
    print(next(ln for ln in res.output.splitlines() if ln.startswith("camera ")))
    for p in photos:
        assert (tmp_path / "ds" / "images" / p.name).read_bytes() == p.read_bytes(), p.name
    frames = read_transforms(tmp_path / "ds" / "transforms.json")
    print(camera_errors([f.camera for f in frames], truth))
    cams = aligned([f.camera for f in frames], truth)
    names = [str(f.image.relative_to(tmp_path / "ds")) for f in frames]
    write_transforms(tmp_path / "ds" / "transforms_aligned.json", cams, names)
    meta = json.loads((tmp_path / "ds" / "transforms_aligned.json").read_text())
    for fr, cam in zip(meta["frames"], cams, strict=True):  # keep the principal point
        fr["cx"] = cam.width / 2 - cam.principal_point[0] * cam.width
        fr["cy"] = cam.height / 2 - cam.principal_point[1] * cam.height
    (tmp_path / "ds" / "transforms_aligned.json").write_text(json.dumps(meta))
    psnr = {}
    for name, transforms in (
        ("true", tmp_path / "photos" / "transforms.json"),
        ("recovered", tmp_path / "ds" / "transforms_aligned.json"),
    ):
        cfg = material_config(tmp_path, transforms, name)
        summary, _ = run_optimization(cfg, (), None, None, "llvm_ad_rgb", progress=False)
        assert summary["psnr_views"].startswith("held-out")
        psnr[name] = summary["psnr"]
    print(
        f"held-out PSNR: true cameras {psnr['true']:.2f} dB, recovered {psnr['recovered']:.2f} dB"
    )
    assert psnr["recovered"] >= psnr["true"] - 1.0, psnr
