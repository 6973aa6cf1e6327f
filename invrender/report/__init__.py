"""``RUN/report.html``: one page to look at a run instead of reading it.

:func:`build_report` reads only the run folder (so it works for any run, old ones included, and
on another machine) and writes ``report.html`` plus ``report_assets/`` next to it: the 3D viewer
(model-viewer, vendored in ``invrender/report/assets/``, copied so the folder travels whole),
the GLB with the cameras drawn in and the recovered sky for the viewer, and small PNGs of the
maps. The runner calls :func:`update_report` at every preview and at the end;
``invrender report RUN_DIR`` calls :func:`build_report`.

Browsers refuse ``fetch()`` on ``file://`` pages but run classic scripts from there, so the GLB
and the sky travel as base64 in ``.js`` files and reach the viewer as blob URLs: the page works
from a double click, with no web server and no network.
"""

from __future__ import annotations

import base64
import json
import sys
from pathlib import Path

import numpy as np

from invrender.files import write_bytes, write_text
from invrender.report.page import Assets, render_page
from invrender.report.run_data import RunData, load_run
from invrender.run.folder import RunFolder

REPORT_NAME = RunFolder.REPORT
ASSETS_DIR = RunFolder.REPORT_ASSETS
PACKAGE_ASSETS = Path(__file__).resolve().parent / "assets"
VIEWER_JS = "model-viewer-umd.min.js"
VENDORED = (VIEWER_JS, "LICENSE.model-viewer", "LICENSE.three", "LICENSE.lit")
VENDORED_OPTIONAL = ("LICENSE.gainmap-js", "VENDOR.md")

__all__ = ["build_report", "update_report", "REPORT_NAME", "ASSETS_DIR"]


def build_report(run_dir: Path, *, live: bool = False) -> Path:
    """Write ``run_dir/report.html`` (atomically) from what the run folder holds; return it.

    ``live``: the run is still going (the page says so and reloads itself)."""
    run_dir = Path(run_dir)
    run = load_run(run_dir)
    assets = prepare_assets(run)
    return write_text(run_dir / REPORT_NAME, render_page(run, assets, live))


def update_report(run_dir: Path, *, live: bool = False) -> Path | None:
    """:func:`build_report` for the runner: a report that cannot be written warns in one line
    and never stops the optimization it describes."""
    try:
        return build_report(run_dir, live=live)
    except Exception as exc:  # noqa: BLE001 - a by-product; the run's own files come first
        line = (str(exc).splitlines() or [type(exc).__name__])[0]
        print(f"invrender: warning: {run_dir / REPORT_NAME} not updated: {line}", file=sys.stderr)
        return None


# -- report_assets/ --------------------------------------------------------------------------------
def _stale(target: Path, *sources: Path) -> bool:
    """Whether ``target`` is missing or older than any existing source."""
    if not target.is_file():
        return True
    made = target.stat().st_mtime_ns
    return any(s.is_file() and s.stat().st_mtime_ns > made for s in sources)


def _js_asset(target: Path, key: str, data: bytes) -> None:
    """``window.INVRENDER_ASSETS[key] = base64(data)`` as a classic script."""
    text = (
        "window.INVRENDER_ASSETS = window.INVRENDER_ASSETS || {};\n"
        f"window.INVRENDER_ASSETS[{json.dumps(key)}] = "
        f'"{base64.b64encode(data).decode("ascii")}";\n'
    )
    write_text(target, text)


def copy_viewer(folder: Path) -> str:
    """The vendored viewer and its licences in ``report_assets/`` (copied when changed)."""
    for name in VENDORED + VENDORED_OPTIONAL:
        source, target = PACKAGE_ASSETS / name, folder / name
        if not source.is_file():
            if name in VENDORED:
                raise FileNotFoundError(
                    f"{source}: vendored viewer missing (bash scripts/vendor_report_assets.sh)"
                )
            continue
        if not target.is_file() or target.stat().st_size != source.stat().st_size:
            write_bytes(target, source.read_bytes())
    return f"{ASSETS_DIR}/{VIEWER_JS}"


def prepare_assets(run: RunData) -> Assets:
    """Bring ``report_assets/`` up to date with the run folder; say what is there."""
    from invrender.report import glb as glb_io
    from invrender.report.images import (
        encode_png8,
        envmap_for_web,
        map_to_rgb8,
        read_exr_file,
        rgbe_bytes,
        tonemap,
    )

    folder = run.run_dir / ASSETS_DIR
    assets = Assets()
    views_json = RunFolder(run.run_dir).eval_dir / "views.json"
    if run.glb is not None:
        data = run.glb.read_bytes()
        tree, _ = glb_io.read_glb(data)
        bounds = glb_io.mesh_bounds(tree)
        if bounds is not None:
            assets.bounds = (bounds[0].tolist(), bounds[1].tolist())
        target = folder / "scene.glb.js"
        camera_files = (views_json, run.run_dir / "export/cameras/transforms.json")
        if _stale(target, run.glb, *camera_files, run.run_dir / "export/mitsuba/scene.xml"):
            _js_asset(target, "scene.glb", glb_io.with_cameras(data, run.cameras))
        assets.glb_js = f"{ASSETS_DIR}/scene.glb.js"
        assets.viewer_js = copy_viewer(folder)
    if run.envmap is not None:
        env_js, env_png = folder / "env.hdr.js", folder / "env.png"
        image = None
        if _stale(env_js, run.envmap.path) or _stale(env_png, run.envmap.path):
            image = read_exr_file(run.envmap.path)
            web = envmap_for_web(image, run.envmap.to_world, run.envmap.scale)
            _js_asset(env_js, "env.hdr", rgbe_bytes(web))
            png, white = tonemap(image[..., :3] * run.envmap.scale)
            write_bytes(env_png, encode_png8(png))
            write_text(folder / "env.json", json.dumps({"white": white}) + "\n")
        if run.glb is not None:
            assets.env_js = f"{ASSETS_DIR}/env.hdr.js"
        assets.env_png = f"{ASSETS_DIR}/env.png"
        try:
            assets.env_white = float(json.loads((folder / "env.json").read_text())["white"])
        except (OSError, ValueError, KeyError):
            assets.env_white = None
    _material_maps(run, folder, assets, encode_png8, map_to_rgb8, read_exr_file)
    if not run.eval_views and run.previews:
        _preview_tiles(run, folder, assets)
    assets.preview_psnr = _preview_psnr(run, folder)
    return assets


def _material_maps(run: RunData, folder: Path, assets: Assets, encode, to_rgb8, read_exr) -> None:
    """PNGs of the exported BSDF textures (scene.xml), else of the GLB's material images."""
    for tex in run.textures:
        target = folder / "maps" / f"{tex.shape}_{tex.name}.png"
        if _stale(target, tex.path):
            write_bytes(target, encode(to_rgb8(read_exr(tex.path), tex.colour)))
        assets.maps.append((f"{tex.shape}: {tex.name.replace('_', ' ')}", _rel(run, target)))
    if run.textures or run.glb is None:
        return
    from invrender.report.glb import material_images

    images = material_images(run.glb.read_bytes())
    if "base_color" in images:
        target = folder / "maps" / "glb_base_color.png"
        if _stale(target, run.glb):
            write_bytes(target, images["base_color"])
        assets.maps.append(("GLB: base colour", _rel(run, target)))
    if "mr" in images:
        pairs = (("roughness", 1), ("metallic", 2))
        targets = [folder / "maps" / f"glb_{n}.png" for n, _ in pairs]
        if any(_stale(t, run.glb) for t in targets):
            import io

            import imageio.v3 as iio

            packed = np.asarray(iio.imread(io.BytesIO(images["mr"])))
            for (_name, channel), target in zip(pairs, targets, strict=True):
                grey = packed[..., channel] if packed.ndim == 3 else packed
                write_bytes(target, encode(np.repeat(grey[..., None], 3, axis=-1)))
        for (name, _), target in zip(pairs, targets, strict=True):
            assets.maps.append((f"GLB: {name}", _rel(run, target)))


def _rel(run: RunData, path: Path) -> str:
    return path.relative_to(run.run_dir).as_posix()


def _preview_tiles(run: RunData, folder: Path, assets: Assets) -> None:
    """The latest preview strip cut into its target, current and error tiles."""
    from invrender.report.images import encode_png8, read_png, split_preview

    latest = run.previews[-1]
    names = [folder / f"preview_{k}.png" for k in ("target", "current", "error")]
    if any(_stale(n, latest) for n in names):
        tiles = split_preview(read_png(latest))
        if tiles is None:
            return
        for name, tile in zip(names, tiles, strict=True):
            write_bytes(name, encode_png8(tile))
    assets.preview_tiles = tuple(_rel(run, n) for n in names)  # type: ignore[assignment]
    assets.preview_iteration = int(latest.stem.split("_")[-1])


def _preview_psnr(run: RunData, folder: Path) -> list[tuple[int, float]]:
    """PSNR of each preview (its current tile against its target tile), cached by file name."""
    from invrender.report.images import psnr_srgb8, read_png, split_preview

    cache_path = folder / "preview_psnr.json"
    try:
        cache = json.loads(cache_path.read_text())
    except (OSError, ValueError):
        cache = {}
    out, changed = [], False
    for path in run.previews:
        key = f"{path.name}:{path.stat().st_mtime_ns}"
        if key not in cache:
            tiles = split_preview(read_png(path))
            cache[key] = psnr_srgb8(tiles[1], tiles[0]) if tiles is not None else None
            changed = True
        value = cache[key]
        if value is not None and np.isfinite(value):
            out.append((int(path.stem.split("_")[-1]), float(value)))
    if changed and run.previews:
        keep = {f"{p.name}:{p.stat().st_mtime_ns}" for p in run.previews}
        write_text(cache_path, json.dumps({k: v for k, v in cache.items() if k in keep}) + "\n")
    return out


def report_command(run_dir: Path) -> Path:
    """``invrender report RUN_DIR``: check it is a run folder, then :func:`build_report`."""
    from invrender.errors import DataError
    from invrender.report.run_data import CONFIG_NAME

    run_dir = Path(run_dir)
    if not RunFolder(run_dir).config.is_file() and not RunFolder(run_dir).metrics.is_file():
        raise DataError(f"{run_dir}: not a run folder (no {CONFIG_NAME} or metrics.csv)")
    return build_report(run_dir)
