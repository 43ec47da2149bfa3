"""What every `mlops` command shares: the project root, the common options, the Plan of a stack
(or a saved one), writing output, and the one way a command group is made."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from mlops.console import err
from mlops.errors import UsageError

if TYPE_CHECKING:
    from mlops.offline.plan import Plan

ROOT_ENV = "MLOPS_ROOT"  # points the commands at another project root (tests, other checkouts)

StackOpt = Annotated[str, typer.Option(
    "--stack", "-s", metavar="NAME", help="Stack: reads stacks/Pulumi.NAME.yaml.")]
PlanOpt = Annotated[Path | None, typer.Option(
    "--plan", metavar="FILE", help="Use a saved Plan (mlops preview --json, pulumi preview "
                                   "--json or pulumi stack export) instead of running the program.")]
OutputOpt = Annotated[Path | None, typer.Option(
    "--output", "-o", metavar="FILE", help="Write here instead of stdout.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]
EndpointOpt = Annotated[str | None, typer.Option(
    "--endpoint-url", metavar="URL",
    help="AWS endpoint (e.g. the local sandbox); default AWS_ENDPOINT_URL.")]
ExitCodeOpt = Annotated[bool, typer.Option(
    "--exit-code", help="Exit 1 when there are differences (as git diff --exit-code does).")]


def project_root() -> Path:
    """The project root (Pulumi.yaml, stacks/, pipelines/): $MLOPS_ROOT, else this checkout."""
    return Path(os.environ.get(ROOT_ENV) or Path(__file__).resolve().parents[2])


# Help text: plain (click's layout, no boxes), up to 100 columns; into a pipe, 100 columns.
HELP_SETTINGS = {"max_content_width": 100,
                 "terminal_width": shutil.get_terminal_size((100, 24)).columns}


def group(help: str, **settings: object) -> typer.Typer:
    """A command group (or the root app): plain help, shown when called without a command."""
    return typer.Typer(help=help, no_args_is_help=True, rich_markup_mode=None,
                       pretty_exceptions_enable=False, add_completion=False,
                       context_settings=HELP_SETTINGS, **settings)  # type: ignore[arg-type]


def plan_for(stack: str, plan_file: Path | None = None) -> Plan:
    """The Plan of ``stack``: read from ``plan_file`` when given, else the program run offline.

    A bad stack file (SettingsError) or plan file (PlanFileError) is the caller's input error.
    """
    from mlops.offline.plan import load_plan
    from mlops.offline.runtime import build_plan

    if plan_file is not None:
        return load_plan(plan_file, stack)
    with err.status(f"running the program for stack {stack} offline"):
        return build_plan(project_root(), stack)


def write_output(text: str, output: Path | None) -> None:
    """Write to ``output`` (parents created) or stdout; unwritable paths are usage errors."""
    if output is None:
        sys.stdout.write(text)
        return
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"--output {output}: {exc.strerror or exc}") from None
