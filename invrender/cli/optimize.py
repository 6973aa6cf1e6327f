"""``invrender optimize``: run (or resume) one optimization into a run folder."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from invrender.cli.common import VARIANT_CHOICE, user_errors


@click.command()
@click.argument("config", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--set",
    "overrides",
    multiple=True,
    metavar="KEY.PATH=VALUE",
    help="Override a config value (YAML syntax), e.g. --set optimize.iterations=50.",
)
@click.option(
    "--output",
    type=click.Path(file_okay=False, path_type=Path),
    help="Run folder (default: output.dir, or runs/<name>-<time>).",
)
@click.option(
    "--resume",
    type=click.Path(file_okay=False, path_type=Path),
    help="Continue the run in this folder from its last checkpoint.",
)
@click.option(
    "--variant",
    type=VARIANT_CHOICE,
    default=None,
    help="Mitsuba variant (default: the config's, auto = CUDA if available).",
)
@click.option("--quiet", is_flag=True, help="No progress and no messages but the result.")
@click.option(
    "--progress",
    "progress_mode",
    type=click.Choice(["auto", "bar", "plain", "none"]),
    default="auto",
    show_default=True,
    help="auto: a bar on a terminal, plain lines (every 5 % or 2 min) in logs.",
)
@user_errors
def optimize(
    config: Path | None,
    overrides: tuple[str, ...],
    output: Path | None,
    resume: Path | None,
    variant: str | None,
    quiet: bool,
    progress_mode: str,
) -> None:
    """Optimize the scene of CONFIG to match its target photos; write a run folder."""
    from invrender.run.launch import run_optimization

    summary, run_dir = run_optimization(
        config, overrides, output, resume, variant, progress=False if quiet else progress_mode
    )
    click.echo(f"run folder: {run_dir}")
    psnr, loss = summary.get("psnr"), summary.get("final_loss")
    psnr_text = f"{psnr:.2f} dB ({summary['psnr_views']})" if psnr is not None else "n/a"
    loss_text = f"{loss:.4g}" if loss is not None else "n/a (no iterations)"
    click.echo(
        f"status: {summary['status']}  iterations: {summary['iterations']}  "
        f"final loss: {loss_text}  PSNR: {psnr_text}  time: {summary['wall_time_s']:.1f} s"
    )
    if summary["status"] == "interrupted":
        click.echo(f"resume with: invrender optimize --resume {run_dir}")
        sys.exit(130)
