"""RUN/report.html: built by a real run, opened in a real headless Chromium (the 3D viewer must
load the GLB and draw it, offline, from a moved copy of the run folder), rebuilt for run folders
made before reports existed, and the pieces it is made of."""

from __future__ import annotations

import base64
import json
import re
import shutil
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from report_helpers import (
    FLAG,
    VIEWER_DONE,
    drawn_fraction,
    outside,
    require_chromium,
    screenshot_pixels,
    silhouette_iou,
)

from invrender.cli.main import main
from tests.helpers import tiny_example

SETS = ("optimize.iterations=6", "output.preview_every=2")


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, variant) -> Path:
    """A 6-iteration material_texture run at 32 px that exports a GLB and its cameras."""
    from invrender.run.launch import run_optimization

    tmp = tmp_path_factory.mktemp("report_run")
    cfg = tiny_example(
        tmp,
        "material_texture",
        optimize__spp=4,
        optimize__eval_spp=16,
        output__checkpoint_every=0,
        output__export=["mitsuba", "gltf", "cameras"],
    )
    summary, run_dir = run_optimization(cfg, SETS, progress=False)
    assert summary["status"] == "completed"
    return run_dir


def test_run_saves_its_evaluation_renders_overrides_and_report(run_dir):
    summary = json.loads((run_dir / "summary.json").read_text())
    views = json.loads((run_dir / "eval" / "views.json").read_text())
    (view,) = views["views"]
    assert view["name"] == "images/r_003" and view["index"] == 3
    assert view["psnr"] == pytest.approx(summary["psnr_per_view"]["images/r_003"])
    for key in ("target", "render", "error"):
        assert (run_dir / "eval" / view[key]).is_file(), key
    assert view["render"] == "0003_images_r_003_render.png"
    assert [c["heldout"] for c in views["cameras"]] == [False, False, False, True]
    recorded = json.loads((run_dir / "overrides.json").read_text())["invocations"]
    assert recorded[0]["set"] == list(SETS) and recorded[0]["resume"] is False

    page = (run_dir / "report.html").read_text()
    assert "images/r_003 (view 3), PSNR" in page and f"{summary['psnr']:.2f} dB" in page
    assert "--set optimize.iterations=6" in page
    assert 'http-equiv="refresh"' not in page, "the final page does not reload itself"
    assert not re.search(r"""(src|href)="(https?:)?//""", page), "no remote references"
    assets = run_dir / "report_assets"
    for name in ("model-viewer-umd.min.js", "LICENSE.model-viewer", "LICENSE.three"):
        assert (assets / name).is_file(), name
    # The GLB for the viewer: the export plus the cameras as two frustum meshes.
    from invrender.report.glb import read_glb

    script = (assets / "scene.glb.js").read_text()
    glb = base64.b64decode(re.search(r'= "([A-Za-z0-9+/=]+)"', script).group(1))
    tree, _ = read_glb(glb)
    names = [m["name"] for m in tree["materials"]]
    assert "invrender_cameras" in names and "invrender_heldout_cameras" in names
    assert (run_dir / "export" / "gltf" / "scene.glb").read_bytes() != glb, "export untouched"


def test_report_opens_offline_in_chromium_and_draws_the_asset(run_dir, tmp_path):
    """The acceptance test: a moved copy of the run folder, opened from disk in headless
    Chromium with every host unresolvable, loads the GLB into the viewer and draws it, and
    fetches nothing outside the run folder."""
    require_chromium()
    from invrender.report import PACKAGE_ASSETS
    from scripts.fixtures.chromium import Browser

    moved = tmp_path / "elsewhere" / "run"
    shutil.copytree(run_dir, moved)
    sibling = (moved.parent / "run2" / "x.png").as_uri()
    assert outside(["https://cdn.example/m.js", sibling, "blob:null/1"], moved) == [
        "https://cdn.example/m.js",
        sibling,
    ]
    with Browser(1280, 900) as browser:
        load = browser.open((moved / "report.html").as_uri(), FLAG, VIEWER_DONE, timeout=120)
        assert load.flag == "loaded", (load.flag, load.console, load.exceptions)
        assert not load.exceptions, load.exceptions
        assert outside(load.requests, moved, PACKAGE_ASSETS) == []
        assert any(u.endswith("report_assets/scene.glb.js") for u in load.requests)
        assert any(u.endswith("eval/0003_images_r_003_render.png") for u in load.requests)
        broken = browser.evaluate(
            "Array.from(document.images).filter(i => !i.complete || !i.naturalWidth).length"
        )
        assert broken == 0
        time.sleep(1.0)  # the loading bar fades out
        box = browser.element_box("#viewer")
        assert box and box["width"] >= 600
        (tmp_path / "viewer.png").write_bytes(browser.screenshot(clip=box))
        pixels = screenshot_pixels((tmp_path / "viewer.png").read_bytes())
        assert drawn_fraction(pixels) > 0.05, "the viewer's canvas is blank"
        assert pixels.std() > 8
        # It opens at the held-out camera: the outline matches the held-out target's.
        iou = silhouette_iou(pixels, moved / "eval" / "0003_images_r_003_target.png")
        assert iou > 0.8, iou
        # "all cameras": zoom out and draw the frustums; the held-out one is orange.
        browser.evaluate("document.getElementById('view-all').click()")
        time.sleep(2.0)
        cams = screenshot_pixels(browser.screenshot(clip=box))
        orange = (cams[..., 0] > 180) & (cams[..., 2] < 110) & (cams[..., 0] - cams[..., 2] > 100)
        assert orange.sum() > 10, "held-out camera frustum not drawn"
        assert not np.array_equal(cams, pixels)
        browser.pump(0.5)
        late = [e["params"]["request"]["url"] for e in browser.events if "request" in e["params"]]
        assert outside(late, moved, PACKAGE_ASSETS) == []


def test_report_of_a_run_folder_from_before_reports(run_dir, tmp_path):
    """No eval/ renders, no GLB, no overrides.json: `invrender report` still writes a page that
    says what is missing, with the latest preview instead of the evaluation renders."""
    old = tmp_path / "old_run"
    shutil.copytree(run_dir, old)
    for name in ("eval", "export", "report_assets"):
        shutil.rmtree(old / name)
    for name in ("overrides.json", "report.html"):
        (old / name).unlink()
    result = CliRunner().invoke(main, ["report", str(old)])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"wrote {old / 'report.html'}"
    page = (old / "report.html").read_text()
    assert 'id="no-viewer"' in page and "<model-viewer" not in page
    assert "did not record its command-line overrides" in page
    assert "the latest preview instead" in page and "preview of iteration 6" in page
    for tile in ("target", "current", "error"):
        assert (old / "report_assets" / f"preview_{tile}.png").is_file()
    assert not (old / "report_assets" / "model-viewer-umd.min.js").exists(), "no GLB, no viewer"
    # Even a folder with nothing but its config gets a page.
    bare = tmp_path / "bare"
    bare.mkdir()
    shutil.copy(old / "config.resolved.yaml", bare)
    assert CliRunner().invoke(main, ["report", str(bare)]).exit_code == 0
    assert "No metrics.csv yet" in (bare / "report.html").read_text()
    # Not a run folder: one line, exit 2.
    result = CliRunner().invoke(main, ["report", str(tmp_path / "elsewhere")])
    assert result.exit_code == 2
    (tmp_path / "empty").mkdir()
    result = CliRunner().invoke(main, ["report", str(tmp_path / "empty")])
    assert result.exit_code == 2 and "not a run folder" in result.output


def test_a_failing_report_warns_and_never_stops_the_run(tmp_path, capsys, monkeypatch):
    from invrender import report

    def broken(run: object) -> None:
        raise RuntimeError("no pictures today")

    monkeypatch.setattr(report, "prepare_assets", broken)
    (tmp_path / "metrics.csv").write_text("iteration,loss\n0,1\n")
    assert report.update_report(tmp_path) is None
    assert "report.html not updated: no pictures today" in capsys.readouterr().err


# -- the pieces -------------------------------------------------------------------------------
def test_envmap_for_the_viewer_matches_mitsubas_own_lookup(variant):
    import drjit as dr
    import mitsuba as mi

    from invrender.report.images import sample_mitsuba_envmap

    rng = np.random.default_rng(3)
    image = rng.uniform(0.1, 2.0, (9, 16, 3)).astype(np.float32)
    axis = np.array([0.3, 1.0, 0.2]) / np.linalg.norm([0.3, 1.0, 0.2])
    to_world = mi.ScalarTransform4f().rotate(axis.tolist(), 50)
    emitter = mi.load_dict({"type": "envmap", "bitmap": mi.Bitmap(image), "to_world": to_world})
    dirs = rng.normal(size=(300, 3))
    dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
    si = dr.zeros(mi.SurfaceInteraction3f, len(dirs))
    si.wi = mi.Vector3f(*(-dirs.T.astype(np.float32)))
    expected = np.array(emitter.eval(si)).reshape(3, -1).T
    ours = sample_mitsuba_envmap(image, dirs, np.array(to_world.matrix))
    assert np.abs(ours - expected).max() < 1e-4


def test_web_equirect_follows_threejs_convention():
    """three.js: u = atan2(z, x) / 2pi + 1/2, v = asin(y) / pi + 1/2, first row at v = 1."""
    from invrender.report.images import web_equirect_directions

    d = web_equirect_directions(8, 4)
    assert d[0, :, 1].min() > 0.3 and d[-1, :, 1].max() < -0.3  # top row looks up
    u = (np.arctan2(d[..., 2], d[..., 0]) / (2 * np.pi) + 0.5) % 1
    assert np.allclose(u[0], (np.arange(8) + 0.5) / 8)


def test_rgbe_round_trip_keeps_three_significant_digits():
    from report_helpers import read_rgbe

    from invrender.report.images import rgbe_bytes

    rng = np.random.default_rng(0)
    image = rng.uniform(0, 5, (4, 16, 3))
    image[0, 0] = [2 / 256, 2 / 256, 0.1 / 256]  # bytes that read 2, 2: not a run-length marker
    image[1, 1] = 0
    back = read_rgbe(rgbe_bytes(image))
    assert np.abs(back - image).max() <= image.max(axis=-1).max() / 128


def test_svg_line_plot_handles_gaps_logs_steps_and_nothing():
    from invrender.report.svg import Plot, Series, line_plot, nice_ticks

    assert nice_ticks(0, 1) == [0, 0.2, 0.4, 0.6, 0.8, 1.0]
    plot = Plot(
        "loss",
        [Series("a", [0, 1, 2, 3], [1.0, None, 0.1, 0.01]), Series("b", [0, 3], [2, 2], step=True)],
        log_y=True,
    )
    text = line_plot(plot)
    assert text.startswith("<svg") and text.endswith("</svg>")
    assert text.count("<polyline") == 3  # "a" broken at the gap into two runs, plus "b"
    assert ">0.01<" in text and ">1<" in text  # decades on the log axis
    assert "no data" in line_plot(Plot("empty", [Series("x", [1], [float("nan")])]))


def test_preview_strip_splits_into_its_tiles_and_psnr():
    from invrender.report.images import psnr_srgb8, split_preview
    from invrender.run.previews import preview_strip

    rng = np.random.default_rng(1)
    target = rng.uniform(0, 1, (8, 12, 3)).astype(np.float32)
    current = np.clip(target + 0.05, 0, 1)
    tiles = split_preview(preview_strip(target, current))
    assert tiles is not None and all(t.shape == (8, 12, 3) for t in tiles)
    mse = np.mean((current - target) ** 2)
    assert psnr_srgb8(tiles[1], tiles[0]) == pytest.approx(-10 * np.log10(mse), abs=0.5)
