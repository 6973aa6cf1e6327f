"""From a folder with only photos + masks to a finished run: `invrender cameras`, `init`,
`check`, `optimize`; and the scene template (no Mitsuba XML) on its own."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from invrender.cli.main import main
from invrender.config.loader import load_config
from tests.photo_helpers import photo_cameras, render_photos


def run(*args) -> object:
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture(scope="module")
def dataset(tmp_path_factory, variant) -> Path:
    root = tmp_path_factory.mktemp("init")
    render_photos(root / "photos", photo_cameras(16, 256, 192), spp=16, mask_folder=root / "masks")
    res = run("cameras", root / "photos", "--out", root / "ds", "--masks", root / "masks")
    assert res.exit_code == 0, res.output
    return root / "ds"


@pytest.mark.parametrize("pipeline", ["material", "lighting", "geometry", "joint"])
def test_init_writes_a_config_that_check_passes(dataset, tmp_path, pipeline):
    cfg = tmp_path / "my.yaml"
    res = run("init", dataset, "--out", cfg, "--pipeline", pipeline)
    assert res.exit_code == 0, res.output
    assert "masks: files" in res.output
    text = cfg.read_text()
    assert text.startswith("# Starting config written by `invrender init")
    loaded = load_config(cfg).config
    assert loaded.targets.masks == "files" and loaded.targets.holdout == [3, 11]
    assert loaded.targets.downscale == 1  # 256x192 photos are used at their own size
    if pipeline in ("material", "lighting"):
        # The central sphere has radius 0.55 at camera distance 3; the dataset is scaled to 4.
        assert loaded.scene.object.radius == pytest.approx(0.55 * 4 / 3, rel=0.2)
    else:  # the visual hull starts; the radius (the masks' extent) spans the albedo grid
        assert loaded.scene.object.shape == "visual_hull"
        assert loaded.scene.object.radius >= 0.55 * 4 / 3
    assert loaded.optimize.params, "the template brings its parameters"
    res = run("check", cfg)
    assert res.exit_code == 0, res.output
    assert run("init", dataset, "--out", cfg).exit_code == 2  # never overwrites


def test_init_then_optimize_runs_to_the_end(dataset, tmp_path):
    cfg = tmp_path / "my.yaml"
    assert run("init", dataset, "--out", cfg).exit_code == 0  # joint: shape, albedo, sky
    # init's whole schedule shrunk to 5 iterations: hull, remesh, texture stage, every export.
    short = {
        "optimize.iterations": 5,
        "geometry.stages.geometry": 1,
        "geometry.coarse_to_fine.until": "[1, 2]",
        "geometry.remesh.at": "[2, 3]",
        "geometry.texture.at": 3,
        "geometry.texture.sun_at": 4,  # opt-in, not init's: docs/benchmark.md
        "geometry.texture.denoise_deg": 20,  # opt-in, not init's: docs/benchmark.md
    }
    sets = [item for k, v in short.items() for item in ("--set", f"{k}={v}")]
    res = run(
        "optimize",
        cfg,
        *sets,
        "--set",
        "targets.downscale=4",
        "--set",
        "optimize.eval_spp=4",
        "--output",
        tmp_path / "run",
        "--quiet",
    )
    assert res.exit_code == 0, res.output
    assert "status: completed" in res.output, res.output
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert set(summary["exported"]) == {"mitsuba", "gltf", "obj", "blender"}, summary
    assert summary["geometry"]["genus"] == summary["geometry"]["genus_at_start"]
    # geometry.texture.sun_at (opt-in): the hook ran, and summary.json says what it did.
    assert summary["sun"]["iteration"] == 4
    # geometry.texture.denoise_deg (opt-in): the frozen shape was filtered, by a small fraction
    # of its size.
    denoised = summary["denoised"]
    assert denoised["sigma_deg"] == 20 and 0 < denoised["moved_mean"] <= denoised["moved_max"]
    assert denoised["moved_max"] < 0.05


def test_template_parameters_and_errors(tmp_path):
    base = {
        "targets": {"cameras": [{"image": "a.png", "look_at": {"origin": [0, 0, 4]}}]},
        "scene": {"object": {"shape": "sphere", "material": "principled"}},
        "optimize": {"pipeline": "material"},
    }
    (tmp_path / "a.png").write_bytes(b"")

    def load(data) -> object:
        path = tmp_path / "c.yaml"
        path.write_text(yaml.safe_dump(data))
        return load_config(path).config

    keys = [g.key for g in load(base).optimize.params]
    assert keys == ["object.bsdf.base_color.data", "object.bsdf.roughness.value"]
    joint = {**base, "optimize": {"pipeline": "joint"}}
    keys = [g.key for g in load(joint).optimize.params]
    assert keys[0] == "object.vertex_positions" and "env.data" in keys
    assert "object.bsdf.base_color.volume.data" in keys  # a grid albedo survives remeshing
    from invrender.errors import ConfigError

    hull = {**base, "scene": {"object": {"shape": "visual_hull"}}}
    with pytest.raises(ConfigError, match="visual_hull starts a geometry or joint pipeline"):
        load(hull)
    hull_joint = {**hull, "optimize": {"pipeline": "joint"}}
    assert load(hull_joint).geometry.init.type == "visual_hull"  # issue 13's carving start
    both = {**base, "scene": {"object": {"shape": "sphere"}, "file": "x.xml"}}
    with pytest.raises(ConfigError, match="exactly one of scene.file, scene.dict or scene.object"):
        load(both)


def _copy_without_masks(dataset: Path, out: Path, split: int | None = None) -> Path:
    """The fixture's views with absolute image paths and no masks; with ``split``, as a NeRF
    split folder whose last ``split`` views are the test split."""
    meta = json.loads((dataset / "transforms.json").read_text())
    for frame in meta["frames"]:
        frame.pop("mask_path", None)
        frame["file_path"] = str((dataset / frame["file_path"]).resolve())
    out.mkdir()
    if split is None:
        (out / "transforms.json").write_text(json.dumps(meta))
    else:
        frames = meta["frames"]
        for name, part in (("train", frames[:-split]), ("test", frames[-split:])):
            (out / f"transforms_{name}.json").write_text(json.dumps({**meta, "frames": part}))
    return out


def test_init_with_masks_writes_the_tuned_pipeline(dataset, tmp_path):
    """Masks: visual-hull start, silhouette loss, remesh + coarse to fine, the texture stage
    and every export format, all sized by init's rules (issue 27)."""
    from invrender.run.init_rules import plan

    cfg = tmp_path / "my.yaml"
    assert run("init", dataset, "--out", cfg).exit_code == 0
    loaded = load_config(cfg).config
    geo = loaded.geometry
    assert loaded.scene.object.shape == "visual_hull" and geo.init.type == "visual_hull"
    assert geo.init.keep_inside == 2  # the shape stays within 2 voxels of its hull
    # Softer than the schema's 20: sharp edges stay sharp (round 11, docs/benchmark.md).
    assert geo.large_steps.enabled and geo.large_steps.lambda_ == 10
    assert geo.mask_weight > 0
    assert geo.remesh.at and geo.remesh.triangles == sorted(geo.remesh.triangles)
    assert geo.coarse_to_fine.factors  # 256 px: rendered coarse first
    assert geo.texture is not None
    assert max(geo.remesh.at) < geo.texture.at < loaded.optimize.iterations
    assert loaded.output.export == ["mitsuba", "gltf", "obj", "blender"]
    assert loaded.integrator.get("hide_emitters") is True  # the targets' background is black
    assert loaded.optimize.exposure.per_view is True  # photos from `invrender cameras` (issue 26)
    rules = plan(
        n_train=14,
        width=256,
        height=192,
        hull=True,
        texture=True,
        mask_area=1.0e4,
        object_radius=1.0,
    )
    assert loaded.optimize.iterations == rules.iterations  # 14 training views
    lrs = {g.key: g.lr for g in loaded.optimize.params}
    assert 0.01 <= lrs["object.vertex_positions"] <= 0.1
    assert lrs["env.data"] == rules.sky_lr
    texture = loaded.geometry.texture
    assert texture.lr == texture.roughness.lr == rules.map_lr
    assert texture.metallic.lr == pytest.approx(2 / 3 * rules.map_lr, abs=1e-3)
    # The maps are smoothed inside their charts (noise-driven texels would random-walk).
    assert texture.roughness.tv_weight == texture.metallic.tv_weight > texture.tv_weight > 0
    # The ripple filter is opt-in: the star gains, the pen and the vase did not (round 12,
    # docs/benchmark.md).
    assert texture.denoise_deg is None
    assert run("check", cfg).exit_code == 0


def test_init_without_masks_starts_from_a_sphere(dataset, tmp_path):
    plain = _copy_without_masks(dataset, tmp_path / "plain")
    cfg = tmp_path / "my.yaml"
    res = run("init", plain, "--out", cfg)
    assert res.exit_code == 0, res.output
    assert "masks: none" in res.output
    loaded = load_config(cfg).config
    assert loaded.scene.object.shape == "sphere" and loaded.geometry.init.type == "sphere"
    assert loaded.geometry.init.keep_inside is None  # no hull to stay in
    assert loaded.geometry.mask_weight == 0  # nothing to compare silhouettes with
    assert "hide_emitters" not in loaded.integrator  # every pixel counts, the sky too
    res = run("check", cfg)
    assert res.exit_code == 0, res.output


def test_init_on_a_split_folder_writes_no_holdout(dataset, tmp_path):
    """A NeRF split folder: the loader holds out the test split; init must not write a
    holdout list over the merged views (it would train on test views)."""
    folder = _copy_without_masks(dataset, tmp_path / "split", split=4)
    cfg = tmp_path / "my.yaml"
    res = run("init", folder, "--out", cfg)
    assert res.exit_code == 0, res.output
    assert "16 views (4 held out)" in res.output
    text = cfg.read_text()
    assert "\n  holdout:" not in text and "# holdout: unset" in text
    loaded = load_config(cfg)
    assert loaded.config.targets.holdout == []
    from invrender.data.dataset import load_dataset

    views = load_dataset(loaded.config.targets, "split")
    assert views.holdout == [12, 13, 14, 15]  # the test split, never trained on
    assert not set(views.train) & set(views.holdout)
    # 12 training views (not 16) size the schedule.
    assert loaded.config.optimize.iterations == plan_iterations(12)


def plan_iterations(n_train: int) -> int:
    from invrender.run.init_rules import plan

    return plan(
        n_train=n_train,
        width=256,
        height=192,
        hull=False,
        texture=True,
        mask_area=None,
        object_radius=1.0,
    ).iterations


def test_init_rules_scale_with_the_dataset():
    from invrender.run.init_rules import plan, working_downscale

    # Working size: photos up to 320 px are kept; larger ones shrink to <= 320 px.
    assert working_downscale(256, 256) == 1 and working_downscale(320, 240) == 1
    assert working_downscale(640, 480) == 2 and working_downscale(4032, 3024) == 13

    def rules(**kw):
        args = dict(
            n_train=32,
            width=256,
            height=256,
            hull=True,
            texture=True,
            mask_area=2e4,
            object_radius=1.0,
        )
        return plan(**{**args, **kw})

    # More views -> more iterations; a sphere start needs more than the hull; bounded.
    assert rules(n_train=60).geometry_iterations > rules(n_train=32).geometry_iterations
    assert rules(hull=False).geometry_iterations > rules().geometry_iterations
    assert 200 <= rules(n_train=3).geometry_iterations <= rules(n_train=500).geometry_iterations
    assert rules(n_train=500).geometry_iterations == 600
    # Remeshing and the texture stage follow the schedule.
    r = rules()
    assert r.coarse_until == sorted(r.coarse_until) and r.coarse_until[-1] <= r.remesh_at[0]
    assert r.remesh_at[-1] < r.geometry_iterations
    assert rules(texture=False).texture_iterations == 0
    # Triangles and texture size follow the object's pixels; the vertex lr its size.
    big, small = rules(mask_area=4e4), rules(mask_area=6e3)
    assert big.remesh_triangles[-1] > small.remesh_triangles[-1]
    assert big.texture_resolution >= small.texture_resolution
    # A small object (the benchmark pen: ~2300 pixels a view) gets its one triangle per pixel.
    assert rules(mask_area=2.3e3).remesh_triangles == [2000, 2000]
    assert rules(mask_area=2.3e3).hull_triangles == 2000
    # The hull and the first remesh keep 5000 (or the final count) to hold thin parts whole.
    assert rules(mask_area=7e3).remesh_triangles == [5000, 7000]
    assert rules(mask_area=3e3).remesh_triangles == [3000, 3000]
    assert rules(object_radius=2.0).vertex_lr == pytest.approx(2 * rules().vertex_lr, rel=0.01)
    # The sky's lr lets a texel reach a sun's radiance (~30) within the run, with margin.
    assert 0.02 <= r.sky_lr <= 0.15 and r.sky_lr * r.iterations >= 59
    # Material maps can travel ~7.5 steps' worth across the texture stage, whatever its length.
    assert 0.01 <= r.map_lr <= 0.05 and 7 <= r.map_lr * r.texture_iterations <= 8
    # Larger photos: the object's pixels are counted at the working size.
    assert rules(width=1024, height=1024, mask_area=16 * 2e4).remesh_triangles == (
        rules().remesh_triangles
    )
    # The silhouette weighs per object pixel what the image loss does: a small object's
    # outline pulls harder (the pen: 1/26 of a view), within 1-100, whatever the photo size.
    assert rules(mask_area=2.5e3).mask_weight == pytest.approx(256 * 256 / 2.5e3, abs=0.1)
    assert rules(mask_area=2e4).mask_weight == pytest.approx(3.3, abs=0.1)
    assert rules(mask_area=65e3).mask_weight == 1.0 and rules(mask_area=100).mask_weight == 100
    assert rules(width=1024, height=1024, mask_area=16 * 2e4).mask_weight == rules().mask_weight


def test_init_turns_on_exposure_gains_for_photos_only(dataset, tmp_path):
    """A dataset of `invrender cameras` (photos) gets a gain per photo; renders do not."""
    rendered = _copy_without_masks(dataset, tmp_path / "rendered")
    meta = json.loads((rendered / "transforms.json").read_text())
    meta.pop("invrender_normalization", None)  # as a renderer writes it
    (rendered / "transforms.json").write_text(json.dumps(meta))
    for folder, expected in ((dataset, True), (rendered, False)):
        cfg = tmp_path / f"{folder.name}.yaml"
        res = run("init", folder, "--out", cfg)
        assert res.exit_code == 0, res.output
        assert load_config(cfg).config.optimize.exposure.per_view is expected, folder
