"""`mlops sandbox`: the platform on a local moto server (no AWS account needed)."""

from __future__ import annotations

from typing import Annotated

import typer

from mlops.commands.common import group, project_root
from mlops.console import err, out
from mlops.errors import EXIT_CHECK_FAILED, UsageError

app = group("Local sandbox: provision the platform into a moto server on 127.0.0.1.")

STATUS_STYLE = {"created": "green", "applied": "cyan", "not simulated": "yellow", "failed": "red"}


def result_table(stack: str, result):  # type: ignore[no-untyped-def]
    """One row per custom resource: component, type, name, what the sandbox did."""
    from rich.table import Table

    counts = result.counts()
    summary = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
    table = Table(title=f"sandbox stack {stack}: {summary}", title_justify="left")
    for column in ("component", "type", "name", "sandbox"):
        table.add_column(column, overflow="fold")
    for component, typ, name, status, detail in result.rows():
        style = STATUS_STYLE.get(status, "")
        shown = f"[{style}]{status}[/{style}]" + (f" ({detail})" if detail else "")
        table.add_row(component, typ.split(":")[-1], name, shown)
    return table


def provision_stacks(stacks: list[str], *, quiet: bool = False) -> dict:
    """Start the server if needed and provision ``stacks`` with a progress line per resource."""
    from mlops.sandbox import provision, server

    root = project_root()
    provision.check_stacks(root, stacks)
    state, started = server.start(provision.region_of(root, stacks[0]))
    if started and not quiet:
        err.print(f"started the sandbox server at {state.endpoint} (pid {state.pid})")
    results = {}
    for stack in stacks:
        done = 0
        with err.status(f"{stack}: provisioning") as status:
            def progress(outcome, stack=stack, status=status):  # type: ignore[no-untyped-def]
                nonlocal done
                done += 1
                status.update(f"{stack}: {done} resources, last {outcome.name} ({outcome.status})")

            results[stack] = provision.provision(root, stack, state, on_outcome=progress)
    return results


@app.command()
def up(
    stack: Annotated[list[str] | None, typer.Option(
        "--stack", "-s", metavar="NAME", help="Stack to provision (repeatable).")] = None,
    all_stacks: Annotated[bool, typer.Option("--all", help="Provision every stack.")] = False,
) -> None:
    """Start the sandbox server if needed and provision stacks into it (idempotent)."""
    from mlops.offline.stackfile import available_stacks

    if bool(stack) == all_stacks:
        raise UsageError("give --stack NAME (repeatable) or --all")
    stacks = available_stacks(project_root()) if all_stacks else list(dict.fromkeys(stack or []))
    results = provision_stacks(stacks)
    for name, result in results.items():
        out.print(result_table(name, result))
    if any(r.failed for r in results.values()):
        raise typer.Exit(EXIT_CHECK_FAILED)


@app.command()
def status() -> None:
    """Whether the sandbox server runs, and which stacks are provisioned into it."""
    from rich.table import Table

    from mlops.offline.stackfile import in_promotion_order
    from mlops.sandbox import server

    state = server.read_state()
    if state is None:
        out.print(f"sandbox: not running (state directory {server.sandbox_dir()})")
        return
    out.print(f"sandbox: running at {state.endpoint} (pid {state.pid}, region {state.region}, "
              f"since {state.started_at})")
    stacks = server.provisioned()
    if not stacks:
        out.print("no stacks provisioned yet: mlops sandbox up --stack dev")
        return
    table = Table(title="provisioned stacks", title_justify="left")
    for column in ("stack", "resources", "simulated", "not simulated", "failed", "provisioned at"):
        table.add_column(column)
    for name in in_promotion_order(list(stacks)):
        info = stacks[name]
        table.add_row(name, str(info.get("resources", "")), str(info.get("simulated", "")),
                      str(info.get("not_simulated", "")), str(info.get("failed", "")),
                      str(info.get("provisioned_at", "")))
    out.print(table)


@app.command()
def env() -> None:
    """Print `export` lines that point boto3, the AWS CLI and `mlops` at the sandbox.

    Use as: eval "$(mlops sandbox env)"
    """
    from mlops.sandbox import server

    state = server.require_state()
    for key, value in state.env().items():
        print(f"export {key}={value}")


@app.command()
def down() -> None:
    """Stop the sandbox server; everything provisioned into it is gone."""
    from mlops.sandbox import server

    state = server.stop()
    if state is None:
        out.print("sandbox: was not running")
    else:
        out.print(f"sandbox: stopped the server at {state.endpoint} (pid {state.pid})")
