"""``invrender check``: validate configs without rendering."""

from __future__ import annotations

from pathlib import Path

import click

from invrender.cli.common import VARIANT_CHOICE, user_errors
from invrender.errors import InvrenderError


@click.command()
@click.argument("configs", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--set", "overrides", multiple=True, metavar="KEY.PATH=VALUE")
@click.option("--variant", type=VARIANT_CHOICE, default=None)
@click.option("--list-params", is_flag=True, help="Also list the differentiable parameters.")
@user_errors
def check(
    configs: tuple[Path, ...], overrides: tuple[str, ...], variant: str | None, list_params: bool
) -> None:
    """Validate configs without rendering: schema, files, scene parameters, images vs cameras."""
    from invrender.errors import ConfigError
    from invrender.run.check import check_config, describe_parameters

    problems: list[str] = []
    for path in configs:
        if list_params:
            try:
                for line in describe_parameters(path, overrides, variant):
                    click.echo(f"  {line}")
            except InvrenderError as exc:
                problems += str(exc).splitlines()
                continue
        try:
            click.echo(f"{path}: ok ({check_config(path, overrides, variant)})")
        except InvrenderError as exc:
            problems += str(exc).splitlines()
    if problems:
        raise ConfigError(problems)
