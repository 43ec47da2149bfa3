"""The `mlops` command: a thin layer over library functions."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from infra.config import SettingsError
from mlops.console import err, fail, out
from mlops.errors import EXIT_USAGE, UsageError

# The project root (Pulumi.yaml, stacks/, pipelines/); MLOPS_ROOT points elsewhere, e.g. in tests.
ROOT = Path(os.environ.get("MLOPS_ROOT") or Path(__file__).resolve().parent.parent)

app = typer.Typer(
    name="mlops",
    help="mlops-platform: offline previews, policy checks, sandbox and day-2 operations.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

@app.callback()
def _root() -> None:
    """mlops-platform: offline previews, policy checks, sandbox and day-2 operations."""


StackOpt = Annotated[str, typer.Option("--stack", "-s", help="Stack name: reads stacks/Pulumi.NAME.yaml.")]


@app.command()
def preview(
    stack: StackOpt,
    as_json: Annotated[bool, typer.Option("--json", help="Print the Plan as JSON.")] = False,
) -> None:
    """Run the program offline (Pulumi mocks, no AWS, no CLI) and show what it would create."""
    from mlops.offline.runtime import build_plan
    from mlops.render import plan_tree, type_table

    with err.status(f"running the program for stack {stack} offline"):
        plan = build_plan(ROOT, stack)
    if as_json:
        sys.stdout.write(plan.to_json() + "\n")
        return
    out.print(plan_tree(plan))
    out.print(type_table(plan))


@app.command()
def up(stack: StackOpt) -> None:
    """Deploy a stack with the real Pulumi CLI and the policy pack (needs AWS credentials)."""
    from mlops.deploy import run_pulumi

    raise typer.Exit(run_pulumi(ROOT, "up", stack))


@app.command()
def destroy(stack: StackOpt) -> None:
    """Destroy a non-prod stack with the real Pulumi CLI. Prod stacks are refused."""
    from mlops.deploy import run_pulumi

    raise typer.Exit(run_pulumi(ROOT, "destroy", stack))


# Sub-command groups: name -> module exposing a `typer.Typer` called `app`. Each module keeps
# its heavy imports (boto3, moto, the SageMaker SDK) inside the command functions.
SUBCOMMANDS = {
    "pipelines": "mlops.commands.pipelines",
    "policy": "mlops.commands.policy",
    "export": "mlops.commands.export",
    "sandbox": "mlops.commands.sandbox",
    "models": "mlops.commands.models",
    "stacks": "mlops.commands.stacks",
}


# Top-level commands that live in their own module: name -> (module, function).
TOP_LEVEL = {"demo": ("mlops.commands.demo", "demo")}


def _add_subcommands() -> None:
    import importlib

    for name, (module, function) in TOP_LEVEL.items():
        app.command(name)(getattr(importlib.import_module(module), function))
    for name, module in SUBCOMMANDS.items():
        app.add_typer(importlib.import_module(module).app, name=name)


_add_subcommands()


def main() -> None:
    """Console-script entry: one-line errors and exit codes, never a traceback.

    Argument errors (click's, raised as ``typer.TyperException``), and errors in the input a
    command reads (stack files, manifests, plans), are one line on stderr and exit 2; a group
    called without a command prints its help and exits 2.
    """
    try:
        code = app(prog_name="mlops", standalone_mode=False)
    except typer.TyperException as exc:
        message = exc.format_message().strip()
        if message:  # empty when a group without a command has printed its help already
            ctx = getattr(exc, "ctx", None)
            path = ctx.command_path if ctx is not None else "mlops"
            fail(f"{path}: {message} (see {path} --help)")
        sys.exit(exc.exit_code)
    except typer.Abort:
        fail("aborted")
        sys.exit(130)
    except (SettingsError, UsageError) as exc:
        fail(str(exc))
        sys.exit(EXIT_USAGE)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
