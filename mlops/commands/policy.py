"""`mlops policy`: evaluate the CrossGuard pack offline and generate its catalogue page."""

from __future__ import annotations

from typing import Annotated

import typer

from mlops.commands.common import OutputOpt, PlanOpt, group, plan_for, project_root, write_output
from mlops.console import err
from mlops.errors import EXIT_CHECK_FAILED, UsageError

app = group("Policy-as-code: check a stack's offline Plan against the pack; generate the docs.")


@app.command()
def check(
    stack: Annotated[str | None, typer.Option(
        "--stack", "-s", metavar="NAME",
        help="Stack whose tier config applies (default: the --plan's stack).")] = None,
    fmt: Annotated[str, typer.Option("--format", "-f", metavar="FORMAT",
                                     help="text | json | sarif | junit")] = "text",
    output: OutputOpt = None,
    plan_file: PlanOpt = None,
) -> None:
    """Evaluate the policy pack on a stack's offline Plan; exit 1 on a mandatory violation."""
    from mlops.offline.plan import load_plan
    from mlops.offline.runtime import load_settings
    from mlops.policy.evaluate import check_plan
    from mlops.policy.report import FORMATS, default_locator, render

    if fmt not in FORMATS:
        raise UsageError(f"--format: must be one of {', '.join(FORMATS)} (got {fmt!r})")
    root = project_root()
    if plan_file is None and stack is None:
        raise UsageError("--stack: required (the stack to check; or --plan FILE)")
    plan = None
    if plan_file is not None:
        plan = load_plan(plan_file, stack or "")
        stack = stack or plan.stack
        if not stack:
            raise UsageError(f"--stack: required ({plan_file} names no stack)")
    assert stack is not None
    settings, _ = load_settings(root, stack)
    report = check_plan(root, stack, settings.environment, plan or plan_for(stack))
    write_output(render(report, fmt, default_locator(root, stack)), output)
    if output is not None or fmt != "text":
        s = report.summary()
        verdict = "passed" if report.passed else "FAILED"
        err.print(f"policy check {verdict} for stack {stack}: {s['mandatory']} mandatory, "
                  f"{s['advisory']} advisory, {s['cannotEvaluate']} cannot evaluate, "
                  f"{s['exempted']} exempted", markup=False)
    if not report.passed:
        raise typer.Exit(EXIT_CHECK_FAILED)


@app.command()
def docs(
    check_only: Annotated[
        bool, typer.Option("--check", help="Exit 1 when docs/policies.md is stale; write nothing.")
    ] = False,
) -> None:
    """Write docs/policies.md: every rule, its severity, enforcement per tier, fix, references."""
    from mlops.policy.docs import DOC_PATH, render_docs, write_docs
    from mlops.policy.evaluate import policies_dir

    root = project_root()
    config_dir = policies_dir(root) / "config"
    if check_only:
        current = (root / DOC_PATH).read_text(encoding="utf-8") \
            if (root / DOC_PATH).exists() else ""
        if current != render_docs(config_dir):
            err.print(f"{DOC_PATH} is stale: run `mlops policy docs`", markup=False)
            raise typer.Exit(EXIT_CHECK_FAILED)
        err.print(f"{DOC_PATH} is up to date", markup=False)
        return
    path = write_docs(root, config_dir)
    err.print(f"wrote {path.relative_to(root) if path.is_relative_to(root) else path}",
              markup=False)
