"""The optimization loop shared by every pipeline: views -> render -> loss -> Adam -> bounds.

It also owns the run folder while running: metrics, previews, checkpoints, resume, Ctrl-C.
"""

from __future__ import annotations

import contextlib
import signal
import time
from pathlib import Path
from typing import Any

import numpy as np

from invrender.config.loader import dump_config
from invrender.errors import InvrenderError, RunStopped
from invrender.files import write_text
from invrender.losses import LOSSES, psnr, psnr_masked, ssim
from invrender.pipelines.base import StepViews
from invrender.progress import Progress
from invrender.report import update_report
from invrender.report.eval_views import write_eval_views
from invrender.run import checkpoint as ckpt_io
from invrender.run.camera_refine import CameraCorrections
from invrender.run.evaluation import parameter_errors
from invrender.run.export import export_outputs
from invrender.run.exposure import ViewGains
from invrender.run.folder import RunFolder
from invrender.run.metrics_log import MetricsLog, plot_loss, write_summary
from invrender.run.previews import write_preview
from invrender.run.session import Session, scaled_views
from invrender.run.views import pick_views, render_seed
from invrender.scene.loading import settle_load_normals

STOP_SIGNALS = (signal.SIGTERM, signal.SIGUSR2)
# Dr.Jit worker threads for the loop. LLVM's threads sum with atomics in a varying order (the
# gradients; the vertex normals Mitsuba gives a mesh loaded without them), so runs differ in the
# last bit; INVRENDER_THREADS=1 makes them bit-reproducible.
THREADS_ENV = "INVRENDER_THREADS"


def to_float(x: Any) -> float:
    """A Dr.Jit scalar (0-d tensor or 1-element array) as a Python float (syncs once)."""
    import drjit as dr

    return float((x.array if dr.is_tensor_v(x) else x)[0])


def loop_threads() -> int | None:
    """Apply ``INVRENDER_THREADS`` to Dr.Jit for the loop; return the count to restore after."""
    import os

    import drjit as dr

    wanted = os.environ.get(THREADS_ENV, "").strip()
    if not wanted:
        return None
    before = dr.thread_count()
    # The pool's workers come on top of the calling thread, which joins in while it waits.
    dr.set_thread_count(max(1, int(wanted)) - 1)
    return before


def restore_threads(count: int | None) -> None:
    """Back to the default pool (Mitsuba's EXR writer hangs on a single-thread pool)."""
    import drjit as dr

    if count is not None:
        dr.set_thread_count(count)


def finite_probe(total: Any, opt: Any) -> Any:
    """``total`` if it and every gradient in ``opt`` are finite, else NaN (still on the device).

    One scalar carries the loss and the finite flag together: the loop reads it back in the sync
    it does anyway, and ``Optimizer.step(active=...)`` masks the update on the device. (``g * 0``
    would not do: Dr.Jit folds it to 0.)"""
    import drjit as dr

    probe = total.array if dr.is_tensor_v(total) else total  # flat: Optimizer.step's mask
    for key in opt.keys():
        grad = dr.grad(opt[key])
        flat = dr.ravel(grad.array if dr.is_tensor_v(grad) else grad)
        probe = dr.select(dr.all(dr.isfinite(flat), axis=None), probe, dr.nan)  # type: ignore[call-overload]  # drjit stubs: ravel() of an array is an array
    return probe


def view_metrics(
    render: np.ndarray, target: np.ndarray, mask: np.ndarray | None
) -> dict[str, float | None]:
    """PSNR and SSIM of one view over the full image and, with a mask, over the object."""
    out: dict[str, float | None] = {
        "psnr_full": psnr(render, target),
        "ssim_full": ssim(render, target),
    }
    if mask is not None:
        out["psnr_masked"] = psnr_masked(render, target, mask)
        out["ssim_masked"] = ssim(render, target, mask)
    return out


def metric_summary(scores: dict[str, dict[str, float | None]], held_out: bool) -> dict[str, Any]:
    """summary.json's metrics: each one's mean over the views, the headline ``psnr`` (masked
    when every view has a mask, else full) and ``psnr_views`` saying which views and pixels."""

    def mean(key: str) -> float | None:
        values = [float(v) for m in scores.values() if (v := m.get(key)) is not None]
        return float(np.mean(values)) if values else None

    out: dict[str, Any] = {}
    for key in ("psnr_masked", "psnr_full", "ssim_masked", "ssim_full"):
        value = mean(key)
        if value is not None:
            out[key] = value
    masked = "psnr_masked" in out
    headline = "psnr_masked" if masked else "psnr_full"
    views = "held-out" if held_out else "training (none held out)"
    out["psnr"] = out.get(headline)
    out["psnr_views"] = f"{views}, {'object mask' if masked else 'full image'}"
    out["psnr_per_view"] = {name: m.get(headline) for name, m in scores.items()}
    out["metrics_per_view"] = scores
    return dict(sorted(out.items(), key=lambda kv: list(SUMMARY_ORDER).index(kv[0])))


SUMMARY_ORDER = (
    "psnr",
    "psnr_views",
    "psnr_masked",
    "psnr_full",
    "ssim_masked",
    "ssim_full",
    "psnr_per_view",
    "metrics_per_view",
)


class Runner:
    """Runs one :class:`Session` into ``run_dir``."""

    def __init__(self, session: Session, run_dir: Path, progress: bool | str = True) -> None:
        self.s = session
        self.run_dir = run_dir
        self.folder = RunFolder(run_dir)
        self.progress = progress
        self.stop_requested = False
        self.loss_fn = LOSSES[session.config.optimize.loss]
        self.opt: Any = None
        self.iteration = 0
        self.metrics = MetricsLog(self.folder.metrics)
        self.elapsed = 0.0
        self.bad_steps = 0  # non-finite steps in a row (skipped; optimize.max_bad_steps stops)
        self._scaled: dict[int, tuple[list[Any], list[Any], list[Any]]] = {}
        self._threads: int | None = None
        opt_cfg, name = session.config.optimize, str(session.loaded.path)
        self.gains = (
            ViewGains(opt_cfg.exposure, session.dataset, name)
            if opt_cfg.exposure.per_view
            else None
        )
        self.cameras = (
            CameraCorrections(
                opt_cfg.cameras, session.dataset, name, session.config.integrator.get("type", "")
            )
            if opt_cfg.cameras.refine
            else None
        )

    # -- set-up ----------------------------------------------------------------------------
    def start(self, resume: bool) -> None:
        self._threads = loop_threads()
        if self._threads is not None:  # pinned: load-time normals redone on the pinned pool too
            settle_load_normals(self.s.scene, self.s.params)

        self.opt = self.s.pipeline.make_optimizer()
        extra = self._extra_variables()
        initial = {**self.s.pipeline.variables(), **extra}
        if resume and self.folder.latest_checkpoint() is not None:
            state = self.folder.restore(self.s.pipeline)
            if state.pipeline:
                initial = {**self.s.pipeline.variables(), **extra}
            ckpt_io.restore(self.opt, state, initial)
            for key, value in extra.items():  # turned on at resume: they start at zero
                if key not in state.variables:
                    self.opt[key] = value
            self.iteration = state.iteration
            self.elapsed = float(state.meta.get("elapsed", 0.0))
            self.metrics = MetricsLog.resume(self.folder.metrics, self.iteration)
        else:
            for key, value in initial.items():
                self.opt[key] = value
        self._apply()
        write_text(self.folder.config, dump_config(self.s.config))
        self.folder.write_cameras(
            [v.name for v in self.s.dataset.views], [v.camera for v in self.s.dataset.views]
        )

    def _extra_variables(self) -> dict[str, Any]:
        """The run's own variables beside the pipeline's: exposure gains, camera corrections."""
        out: dict[str, Any] = {}
        for part in (self.gains, self.cameras):
            if part is not None:
                out.update(part.variables())
        return out

    def _extra_rates(self, iteration: int) -> dict[str, float]:
        out: dict[str, float] = {}
        if self.gains is not None:
            out.update(self.gains.learning_rates())
        if self.cameras is not None:
            total = self.s.config.optimize.iterations
            out.update(self.cameras.learning_rates(iteration, total))
        return out

    def _view_scene(self, view: int) -> Any:
        """The scene as that view's corrected camera sees it (camera refinement), else as is."""
        if self.cameras is None:
            return contextlib.nullcontext()
        return self.cameras.moved(self.s.params, view, self.opt)

    def _apply(self) -> None:
        self.s.pipeline.apply(self.opt)
        self.s.params.update()

    # -- the loop --------------------------------------------------------------------------
    def step(self, it: int) -> float:
        """One iteration; returns the loss (this reads it back, one sync per iteration).

        A non-finite loss or gradient never reaches the parameters: the optimizer's update is
        masked on the device (no extra sync) and the returned loss is NaN or Inf, which the loop
        counts as a skipped step."""
        import drjit as dr
        import mitsuba as mi

        s, cfg = self.s, self.s.config.optimize
        self.opt.set_learning_rate({**s.pipeline.learning_rates(it), **self._extra_rates(it)})
        picked = pick_views(cfg.seed, it, s.dataset.train, cfg.views_per_iter)
        views = StepViews(picked, [render_seed(cfg.seed, it, slot) for slot in range(len(picked))])
        sensors, targets, weights = self.views_at(s.pipeline.resolution_factor(it))
        loss: Any = 0.0
        for v, seed in zip(views.indices, views.seeds, strict=True):
            with self._view_scene(v):
                image = mi.render(
                    s.scene,
                    s.params,
                    sensor=sensors[v],
                    integrator=s.integrator,
                    spp=cfg.spp,
                    seed=seed,  # type: ignore[arg-type]  # mitsuba stubs: seed takes an int
                    seed_grad=seed + 1,
                )
                if self.gains is not None:
                    image = self.gains.apply(image, v, self.opt)
                view_loss = self.loss_fn(image, targets[v], weights[v]) / len(views.indices)
                if self.cameras is not None:
                    # The render's backward pass renders the scene again as it is then: it must
                    # run while the scene is still moved for this view.
                    dr.backward(view_loss)
                    view_loss = dr.detach(view_loss)
            loss += view_loss
        reg = s.pipeline.regularizer(self.opt, it, views)
        total = loss if reg is None else loss + reg
        if self.cameras is not None and (prior := self.cameras.prior(self.opt)) is not None:
            total = total + prior
        if dr.grad_enabled(total):
            dr.backward(total)
        probe = finite_probe(total, self.opt)
        self.opt.step(active=dr.isfinite(probe))
        self._apply()
        s.pipeline.after_step(self.opt, it)
        s.params.update()
        return to_float(probe)

    def views_at(self, factor: int) -> tuple[list[Any], list[Any], list[Any]]:
        """Sensors, targets and loss weights at 1/factor resolution (coarse to fine), cached."""
        s = self.s
        if factor == 1:
            return s.sensors, s.targets, s.weights
        if factor not in self._scaled:
            self._scaled[factor] = scaled_views(s, factor)
        return self._scaled[factor]

    def run(self) -> dict[str, Any]:

        cfg, out = self.s.config.optimize, self.s.config.output
        previous = signal.signal(signal.SIGINT, self._on_sigint)
        # Batch jobs: SLURM pre-emption (USR2 via submitit) and kills (TERM) stop the same way.
        stops = {sig: signal.signal(sig, self._on_stop_signal) for sig in STOP_SIGNALS}
        status = "completed"
        t_start = time.perf_counter() - self.elapsed
        # A bar on a terminal, plain lines in logs (nohup, SLURM), nothing with --quiet.
        bar = Progress(cfg.iterations, self.iteration, self.progress)
        try:
            while self.iteration < cfg.iterations:
                it = self.iteration
                t0 = time.perf_counter()
                loss = self.step(it)
                self.iteration = it + 1
                now = time.perf_counter()
                self.elapsed = now - t_start
                self.metrics.append(self._row(it, loss, now - t0))
                self.count_bad_step(it, loss)
                bar.update(self.iteration, loss)
                if out.preview_every and self.iteration % out.preview_every == 0:
                    self.write_preview()
                every = out.checkpoint_every
                if every and self.iteration % every == 0 and not self.bad_steps:  # none mid-streak
                    self.save_checkpoint()
                self.on_iteration_end(it)
                if self.stop_requested:
                    status = "interrupted"
                    break
        finally:
            bar.close()
            signal.signal(signal.SIGINT, previous)
            for sig, handler in stops.items():
                signal.signal(sig, handler)
        return self.finish(status)

    def count_bad_step(self, it: int, loss: float) -> None:
        """Count a skipped (non-finite) step; stop after ``optimize.max_bad_steps`` in a row."""
        self.bad_steps = 0 if np.isfinite(loss) else self.bad_steps + 1
        limit = self.s.config.optimize.max_bad_steps
        if self.bad_steps < limit:
            return
        self.metrics.flush()
        last = self.folder.latest_checkpoint()
        kept = f"its last good checkpoint is {last}" if last else "it has no checkpoint yet"
        raise RunStopped(
            f"{self.run_dir}: {limit} steps in a row (iterations {it - limit + 1}-{it}) had a "
            f"non-finite loss or gradient and were skipped; the run stopped and {kept} "
            "(lower the learning rates or fix the scene, then --resume)"
        )

    def on_iteration_end(self, iteration: int) -> None:
        """Hook after each iteration (tests use it to interrupt a run)."""

    def _on_sigint(self, signum: int, frame: Any) -> None:
        if self.stop_requested:  # second Ctrl-C: stop now
            raise KeyboardInterrupt
        self.stop_requested = True
        print("\ninvrender: stopping after this iteration (Ctrl-C again to abort at once)")

    def _on_stop_signal(self, signum: int, frame: Any) -> None:
        """Unlike a second Ctrl-C, a repeated TERM/USR2 (the job and its step) does not abort."""
        if not self.stop_requested:
            print(f"\ninvrender: {signal.Signals(signum).name}: stopping after this iteration")
        self.stop_requested = True

    def _row(self, it: int, loss: float, dt: float) -> dict[str, Any]:
        row: dict[str, Any] = {
            "iteration": it,
            "loss": f"{loss:.6g}",
            "time_s": f"{self.elapsed:.3f}",
            "iter_s": f"{dt:.4f}",
            "skipped": 0 if np.isfinite(loss) else 1,
        }
        lrs = self.s.pipeline.learning_rates(it)
        for g in self.s.pipeline.groups:
            row[f"lr_{g.index}"] = f"{lrs.get(g.keys[0], 0.0):.4g}"  # 0: replaced (texture stage)
        row.update(self.s.pipeline.metrics(it))
        return row

    # -- outputs ---------------------------------------------------------------------------
    def _use_refined_cameras(self) -> None:
        """The export and cameras.json take the refined cameras of the training views."""
        import mitsuba as mi

        assert self.cameras is not None
        views = self.s.dataset.views
        cameras = [self.cameras.corrected(i, v.camera, self.opt) for i, v in enumerate(views)]
        spp = self.s.config.optimize.spp
        for i in self.cameras.keys:
            self.s.sensors[i] = mi.load_dict(cameras[i].sensor_dict(spp=spp))
        self.folder.write_cameras([v.name for v in views], cameras)

    def render_view(self, index: int, spp: int) -> np.ndarray:
        import drjit as dr
        import mitsuba as mi

        with dr.suspend_grad():
            img = mi.render(
                self.s.scene,
                sensor=self.s.sensors[index],
                integrator=self.s.integrator,
                spp=spp,
                seed=12345 + index,  # type: ignore[arg-type]  # mitsuba stubs: seed takes an int
            )
        return np.array(img)[..., :3]

    def write_preview(self, spp: int | None = None) -> None:
        v = self.s.dataset.eval_views[0]
        current = self.render_view(v, spp or self.s.config.optimize.spp)
        path = self.folder.preview(self.iteration)
        write_preview(path, self.s.dataset.views[v].image, current)
        plot_loss(self.folder.loss_plot, *self.metrics.losses())
        self.metrics.flush()
        update_report(self.run_dir, live=True)  # report.html: warns, never stops the run

    def save_checkpoint(self) -> Path:
        meta = {"elapsed": self.elapsed, "seed": self.s.config.optimize.seed}
        state = ckpt_io.snapshot(self.opt, self.iteration, self.s.pipeline.state_dict(), meta)
        # Metrics first: a kill between the two leaves metrics.csv ahead of the checkpoint (resume
        # drops the extra rows), never behind it (those rows would be lost).
        self.metrics.flush()
        return ckpt_io.save(state, self.folder.checkpoints)

    def evaluate(self) -> dict[str, dict[str, float | None]]:
        """Metrics of each evaluation view rendered at ``eval_spp``, keyed by the view's name.

        Per view: ``psnr_full``/``ssim_full`` over the whole image (the render as the target is
        composited: targets with a transparent background are compared with renders whose camera
        rays do not see the sky, see ``background_problems``) and, when the view has an object
        mask (the loss mask, else a transparent target's alpha), ``psnr_masked``/``ssim_masked``
        over the mask's pixels."""
        spp = self.s.config.optimize.eval_spp
        scores: dict[str, dict[str, float | None]] = {}
        renders = {}
        for v in self.s.dataset.eval_views:
            view = self.s.dataset.views[v]
            renders[v] = self.render_view(v, spp)
            scores[view.name] = view_metrics(renders[v], view.image, view.metric_mask)
        write_eval_views(self.run_dir, self.s.dataset, renders, scores)  # RUN/eval/ for the report
        return scores

    def finish(self, status: str) -> dict[str, Any]:
        restore_threads(self._threads)
        self._threads = None
        self.save_checkpoint()
        self.write_preview(self.s.config.optimize.eval_spp)
        scores = self.evaluate()
        losses = self.metrics.losses()[1]
        summary: dict[str, Any] = {
            "status": status,
            "iterations": self.iteration,
            "final_loss": float(np.mean(losses[-10:])) if losses else None,
            **metric_summary(scores, bool(self.s.dataset.holdout)),
            "parameter_error": parameter_errors(self.s),
            "wall_time_s": round(self.elapsed, 2),
            "variant": self.s.variant,
            "integrator": self.s.config.integrator.get("type"),
            "pipeline": self.s.config.optimize.pipeline,
        }
        summary.update(self.s.pipeline.summary())
        if self.gains is not None:
            summary["exposure"] = self.gains.summary(self.opt)
        if self.cameras is not None:
            summary["cameras"] = self.cameras.summary(self.opt)
            self._use_refined_cameras()
        write_summary(self.folder.summary, summary)  # kept even if the export fails
        try:
            summary["exported"] = export_outputs(self.s, self.folder.export)
        except (InvrenderError, NotImplementedError) as exc:
            summary["export_error"] = str(exc).splitlines()[0]
            print(
                f"invrender: export failed ({summary['export_error']}); the run itself is "
                f"complete: retry with `invrender export {self.run_dir}`"
            )
        write_summary(self.folder.summary, summary)
        update_report(self.run_dir)  # report.html with the export's 3D asset
        return summary
