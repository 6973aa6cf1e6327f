"""Nothing lost: a run killed with SIGKILL anywhere and resumed ends bit-identical to one never
killed; damaged checkpoints, full disks and non-finite steps stop or recover with one clear line.

The kills land at random times and at marked points (inside a checkpoint write, inside the
export, ...) through the test-only hook ``INVRENDER_FAULT`` (invrender/faults.py). The seed of
the random kills is printed on failure: rerun with ``INVRENDER_FAULT_SEED=<seed>``.
"""

from __future__ import annotations

import csv
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from invrender.run import checkpoint
from tests.helpers import tiny_example

ITERATIONS = 24
# Dr.Jit's LLVM threads add gradients in a varying order; one thread makes runs bit-reproducible.
ENV = {**os.environ, "INVRENDER_THREADS": "1", "PYTHONUNBUFFERED": "1"}
CLI = [sys.executable, "-m", "invrender.cli.main", "optimize", "--quiet"]

# Marked points: the COUNT-th time a process gets there it SIGKILLs itself.
POINTS = [
    "checkpoint_write:2",  # half of ckpt bytes written
    "checkpoint_rotate:1",  # new checkpoint in place, old ones not yet removed
    "write@metrics.csv:2",
    "write@previews:2",
    "write@summary.json:1",  # the final summary, before the export
    "write@/export/:1",  # inside the export: first file written, not moved into place
    "write@/export/:4",
    "write@config.resolved.yaml:1",  # before the first checkpoint
]
RANDOM_KILLS = 4
# Points a resume of a finished run still reaches (it redoes the finish: checkpoint, export).
FINISH_POINTS = ["checkpoint_write:1", "write@summary.json:1", "write@/export/:2"]


@pytest.fixture(scope="module")
def material(tmp_path_factory, variant) -> Path:
    """configs/material_texture.yaml, tiny: 24 iterations, upsampling at 8 and 16, export."""
    tmp = tmp_path_factory.mktemp("faults")
    cfg = tiny_example(
        tmp,
        "material_texture",
        optimize__iterations=ITERATIONS,
        optimize__spp=4,
        optimize__eval_spp=4,
        optimize__params__0__upsample={"at": [8, 16], "factor": 2},
        output__preview_every=4,
        output__checkpoint_every=3,
        output__export=["mitsuba", "cameras"],
    )
    from invrender.config.loader import load_config
    from invrender.run.session import ensure_targets

    ensure_targets(load_config(cfg), progress=False)  # synthesize once, outside the kills
    return cfg


def final_state(run_dir: Path) -> checkpoint.Checkpoint:
    return checkpoint.load(checkpoint.latest(run_dir / "checkpoints"))


def metric_rows(run_dir: Path) -> list[dict[str, str]]:
    with open(run_dir / "metrics.csv", newline="") as f:
        return list(csv.DictReader(f))


def test_sigkill_anywhere_then_resume_is_bit_identical(material, tmp_path):
    ref = tmp_path / "reference"
    t0 = time.perf_counter()
    done = subprocess.run(
        [*CLI, str(material), "--output", str(ref)], env=ENV, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    wall = time.perf_counter() - t0

    seed = int(os.environ.get("INVRENDER_FAULT_SEED", time.time_ns() % 100_000))
    rng = random.Random(seed)
    plan = [("point", p) for p in POINTS] + [("time", None)] * RANDOM_KILLS
    rng.shuffle(plan)
    run_dir = tmp_path / "killed"
    log, kills = [], 0
    while plan or kills < 10:
        kind, spec = plan.pop() if plan else ("point", rng.choice(FINISH_POINTS))
        started = (run_dir / "config.resolved.yaml").is_file()
        args = ["--resume", str(run_dir)] if started else [str(material), "--output", str(run_dir)]
        env = dict(ENV, INVRENDER_FAULT=spec) if kind == "point" else ENV
        proc = subprocess.Popen(
            [*CLI, *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        if kind == "time":  # past most of the start-up: in the loop, a write or the finish
            time.sleep(rng.uniform(0.3, 1.0) * wall)
            proc.send_signal(signal.SIGKILL)
        _out, err = proc.communicate(timeout=300)
        log.append(f"{kind} {spec} -> {proc.returncode}")
        if proc.returncode == -signal.SIGKILL:
            if kind == "point":
                assert not err, f"seed {seed}: {spec}: {err.decode()}"
            kills += 1
        else:  # a kill point the run never reached (e.g. it had finished): it completes
            assert proc.returncode == 0, f"seed {seed}: {log}\n{err.decode()}"
        assert len(log) < 30, f"seed {seed}: kills do not land: {log}"
    done = subprocess.run([*CLI, "--resume", str(run_dir)], env=ENV, capture_output=True, text=True)
    assert done.returncode == 0, f"seed {seed}: {log}\n{done.stderr}"

    a, b = final_state(ref), final_state(run_dir)
    assert a.iteration == b.iteration == ITERATIONS
    for key in a.variables:
        assert np.array_equal(a.variables[key], b.variables[key]), f"seed {seed}: {key}: {log}"
        assert all(
            np.array_equal(x, y) for x, y in zip(a.adam[key][1:], b.adam[key][1:], strict=True)
        )
    rows, ref_rows = metric_rows(run_dir), metric_rows(ref)
    assert [int(r["iteration"]) for r in rows] == list(range(ITERATIONS)), f"seed {seed}: {log}"
    assert [r["loss"] for r in rows] == [r["loss"] for r in ref_rows]
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "completed" and "export_error" not in summary
    assert (run_dir / "export" / "mitsuba" / "scene.xml").is_file()
    assert not list(run_dir.rglob("*.partial*")), "no half-written file left in place"


def _ply_with_normals(path: Path, vertices: np.ndarray, faces: np.ndarray, normals: np.ndarray):
    head = [
        "ply",
        "format ascii 1.0",
        f"element vertex {len(vertices)}",
        *[f"property float {c}" for c in ("x", "y", "z", "nx", "ny", "nz")],
        f"element face {len(faces)}",
        "property list uchar int vertex_indices",
        "end_header",
    ]
    rows = [" ".join(f"{x:.9g}" for x in (*p, *n)) for p, n in zip(vertices, normals, strict=True)]
    tris = [f"3 {a} {b} {c}" for a, b, c in faces]
    path.write_text("\n".join([*head, *rows, *tris]) + "\n")


def test_normals_summed_at_load_are_redone_on_the_pinned_pool(variant, tmp_path):
    """A pinned run redoes the normals Mitsuba summed with atomics while loading (their last bits
    vary with the pool), and keeps the normals a file gave."""
    import drjit as dr
    import mitsuba as mi
    import trimesh

    from invrender.scene.loading import settle_load_normals

    sphere = Path(__file__).resolve().parent.parent / "datasets/material_texture/sphere.ply"
    mesh = trimesh.load(sphere, process=False)
    given = mesh.vertices + [0.4, 0.0, 0.0]  # not what area weighting gives
    given /= np.linalg.norm(given, axis=1, keepdims=True)
    _ply_with_normals(tmp_path / "given.ply", mesh.vertices, mesh.faces, given)
    scene = mi.load_dict(
        {
            "type": "scene",
            "summed": {"type": "ply", "filename": str(sphere)},
            "given": {"type": "ply", "filename": str(tmp_path / "given.ply")},
        }
    )
    params = mi.traverse(scene)
    before = dr.thread_count()
    dr.set_thread_count(0)
    try:
        assert settle_load_normals(scene, params) == 1
        first = np.array(params["summed.vertex_normals"])
        assert settle_load_normals(scene, params) == 1
        again = np.array(params["summed.vertex_normals"])
    finally:
        dr.set_thread_count(before)
    assert np.array_equal(first, again)
    kept = np.array(params["given.vertex_normals"]).reshape(-1, 3)
    assert np.allclose(kept, given, atol=1e-6)
    shape = next(s for s in scene.shapes() if s.id() == "given")
    assert np.array_equal(np.array(shape.vertex_normals_buffer()), kept.ravel())
