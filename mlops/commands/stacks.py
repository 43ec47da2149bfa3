"""`mlops stacks ...`: compare stacks (thin layer over mlops.ops.stackdiff); find drift between a
deployed stack and its program (thin layer over mlops.deploy)."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer

from mlops.commands.common import ExitCodeOpt, JsonOpt, StackOpt, group, project_root
from mlops.console import err, out
from mlops.errors import EXIT_CHECK_FAILED

app = group("Compare stacks; find drift between a deployed stack and its program.")


def _show(value: Any) -> str:
    if value is None:
        return "(absent)"
    text = json.dumps(value, sort_keys=True) if not isinstance(value, str) else value
    return text if len(text) <= 100 else text[:97] + "..."


@app.command()
def diff(
    a: Annotated[str, typer.Argument(help="Stack (e.g. staging).")],
    b: Annotated[str, typer.Argument(help="Stack to compare with (e.g. prod).")],
    show_all: Annotated[bool, typer.Option("--all", help="Also list expected per-environment "
                                           "differences (retention, sizes, protection).")] = False,
    as_json: JsonOpt = False,
    exit_code: ExitCodeOpt = False,
) -> None:
    """What B gets that A does not (and the reverse), beyond per-environment values."""
    from mlops.ops.stackdiff import diff_stacks

    with err.status(f"running the program for {a} and {b} offline"):
        result = diff_stacks(project_root(), a, b)
    differences = result.differences()
    if as_json:
        sys.stdout.write(json.dumps(result.to_dict(), indent=2, default=str) + "\n")
    else:
        _show_differences(a, b, result, differences, show_all)
    if exit_code and differences:
        raise typer.Exit(EXIT_CHECK_FAILED)


def _show_differences(a: str, b: str, result: Any, differences: list[Any], show_all: bool) -> None:
    out.print(f"stacks diff {a} -> {b}", markup=False)
    if not differences:
        out.print("  no differences beyond per-environment values", markup=False)
    for r in differences:
        if r.status == "only-in-a":
            out.print(f"[red]- {r.key}[/]  (only in {a})")
        elif r.status == "only-in-b":
            out.print(f"[green]+ {r.key}[/]  (only in {b})")
        else:
            out.print(f"[yellow]~ {r.key}[/]")
            for c in r.changes:
                out.print(f"    {c.path}: {_show(c.a)} -> {_show(c.b)}", markup=False)
    expected = result.expected()
    if show_all:
        out.print(f"expected per-environment differences ({len(expected)}):", markup=False)
        for r, c in expected:
            out.print(f"  {r.name}: {c.path}: {_show(c.a)} -> {_show(c.b)}", markup=False)
    elif expected:
        out.print(f"{len(expected)} expected per-environment differences hidden "
                  "(retention, sizes, instance types, protection); --all shows them", markup=False)


@app.command()
def drift(stack: StackOpt, as_json: JsonOpt = False) -> None:
    """Live resources against the program: `pulumi preview --refresh --expect-no-changes`.

    Needs the Pulumi CLI, the stack's backend and read access to its resources; writes no state.
    Pulumi's output goes to stderr. Exit 0 in sync; 1 when changes are proposed (drift) or the
    preview failed (--json tells which: "drifted" or "failed").
    """
    from mlops.deploy import check_drift

    result = check_drift(project_root(), stack)
    if as_json:
        sys.stdout.write(json.dumps(result.to_dict(), indent=2) + "\n")
    if result.drifted:
        err.print(f"stack {stack} has drifted: the preview above proposes changes", markup=False)
    elif result.failed:
        err.print(f"stack {stack}: the drift preview failed (pulumi exit code "
                  f"{result.exit_code})", markup=False)
    else:
        err.print(f"stack {stack} is in sync with the program", markup=False)
    if result.drifted or result.failed:
        raise typer.Exit(EXIT_CHECK_FAILED)
