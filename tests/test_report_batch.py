"""``invrender batch report`` links every run's report.html and shows every run's final
held-out view; the page and the run reports it links open offline in headless Chromium."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from report_helpers import (
    FLAG,
    VIEWER_DONE,
    drawn_fraction,
    outside,
    require_chromium,
    screenshot_pixels,
)

from invrender.cli.main import main
from tests.helpers import tiny_example

TINY = {
    "optimize__iterations": 4,
    "optimize__spp": 2,
    "optimize__eval_spp": 8,
    "output__preview_every": 2,
    "output__checkpoint_every": 0,
    "output__export": ["gltf"],
}


def cli(*args: str) -> str:
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(scope="module")
def batch_dir(tmp_path_factory, variant) -> Path:
    """Two runs (spp 2 and 4) through submitit's local executor: real `invrender optimize`
    processes, as on a cluster."""
    from invrender.config.loader import load_config
    from invrender.run.session import ensure_targets

    tmp = tmp_path_factory.mktemp("batch_report")
    cfg = tiny_example(tmp, "material_texture", **TINY)
    ensure_targets(load_config(cfg), progress=False)  # once, not by both jobs at the same time
    out = tmp / "batch"
    cli("batch", "run", cfg, "--sweep", "optimize.spp=2,4", "--executor", "local", "--out", out)
    cli("batch", "report", out)
    return out


def test_batch_report_links_each_run_report_and_shows_final_views(batch_dir):
    page = (batch_dir / "report.html").read_text()
    names = [r["name"] for r in json.loads((batch_dir / "batch.json").read_text())["runs"]]
    assert len(names) == 2
    for name in names:
        run = batch_dir / "runs" / name
        assert (run / "report.html").is_file()
        assert f'href="runs/{name}/report.html"' in page
        assert f'src="runs/{name}/eval/0003_images_r_003_render.png"' in page
    assert "Final held-out views" in page
    assert page.count('src="runs/') >= 2 * 2 + 1  # render + error per run, the target once
    log = (batch_dir / "logs" / f"{names[0]}.log").read_text()
    assert "optimize 4/4 (100%)" in log and "\r" not in log, "plain progress in the job's log"


def test_batch_report_and_a_linked_run_report_open_offline(batch_dir):
    require_chromium()
    from invrender.report import PACKAGE_ASSETS
    from scripts.fixtures.chromium import Browser

    with Browser(1280, 900) as browser:
        load = browser.open((batch_dir / "report.html").as_uri(), timeout=60)
        assert not load.exceptions, load.exceptions
        assert outside(load.requests, batch_dir, PACKAGE_ASSETS) == []
        images = browser.evaluate(
            "Array.from(document.images).map(i => [i.complete && i.naturalWidth > 0, i.src])"
        )
        assert images and all(ok for ok, _ in images), images
        pixels = screenshot_pixels(browser.screenshot())
        assert pixels.std() > 8
        link = browser.evaluate("document.querySelector('a[href$=\"report.html\"]').href")
        load = browser.open(link, FLAG, VIEWER_DONE, timeout=120)
        assert load.flag == "loaded", (load.flag, load.console, load.exceptions)
        assert outside(load.requests, batch_dir, PACKAGE_ASSETS) == []
        box = browser.element_box("#viewer")
        assert drawn_fraction(screenshot_pixels(browser.screenshot(clip=box))) > 0.05
