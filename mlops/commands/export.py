"""`mlops export`: a stack's offline Plan in formats other tools read."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from mlops.console import err
from mlops.errors import UsageError

app = typer.Typer(
    help="Export a stack's offline Plan (Terraform plan JSON for Checkov and other scanners).",
    no_args_is_help=True,
)


@app.callback()
def _group() -> None:
    """Export a stack's offline Plan for other tools."""


@app.command("terraform-plan")
def terraform_plan(
    stack: Annotated[str, typer.Option("--stack", "-s", help="Stack to export.")],
    output: Annotated[Path | None, typer.Option("--output", "-o",
                                                help="Write here instead of stdout.")] = None,
    plan_file: Annotated[Path | None, typer.Option(
        "--plan", help="Export a saved Plan (mlops preview --json) instead of running the program.",
    )] = None,
) -> None:
    """Write the Plan as Terraform plan JSON (`checkov --framework terraform_plan -f FILE`)."""
    from mlops.cli import ROOT
    from mlops.commands.policy import write_output
    from mlops.export.terraform import to_terraform_plan
    from mlops.offline.plan import PlanFileError, load_plan
    from mlops.offline.runtime import build_plan, load_settings

    settings, _ = load_settings(ROOT, stack)
    if plan_file is not None:
        try:
            plan = load_plan(plan_file, stack)
        except PlanFileError as exc:
            raise UsageError(str(exc)) from None
    else:
        with err.status(f"running the program for stack {stack} offline"):
            plan = build_plan(ROOT, stack)
    document = to_terraform_plan(plan, settings.region, settings.default_tags)
    write_output(json.dumps(document, indent=2) + "\n", output)
    if output is not None:
        count = len(document["planned_values"]["root_module"]["resources"])
        err.print(f"wrote {output}: {count} resources", markup=False)
