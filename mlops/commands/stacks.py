"""`mlops stacks ...`: compare stacks (thin layer over mlops.ops.stackdiff)."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer

from mlops.console import err, fail, out
from mlops.errors import EXIT_USAGE

app = typer.Typer(help="Compare stacks.", no_args_is_help=True)


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
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """What B gets that A does not (and the reverse), beyond per-environment values."""
    from infra.config import SettingsError
    from mlops.ops.stackdiff import diff_stacks

    try:
        with err.status(f"running the program for {a} and {b} offline"):
            result = diff_stacks(_root(), a, b)
    except SettingsError as exc:
        fail(str(exc))
        raise typer.Exit(EXIT_USAGE) from None
    if as_json:
        sys.stdout.write(json.dumps(result.to_dict(), indent=2, default=str) + "\n")
        return
    differences = result.differences()
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


def _root() -> Any:
    from mlops.cli import ROOT

    return ROOT
