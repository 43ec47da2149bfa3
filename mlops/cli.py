"""The `mlops` command: a thin layer over library functions."""

from __future__ import annotations

import importlib
import os
import sys
import traceback
from typing import Annotated

import typer

from mlops.commands.common import StackOpt, group, project_root
from mlops.console import fail, out
from mlops.errors import EXIT_CHECK_FAILED, EXIT_INTERRUPTED, EXIT_USAGE, classify

app = group("mlops-platform: offline previews, policy checks, sandbox and day-2 operations.",
            name="mlops", epilog="Exit codes: 0 done; 1 a check failed or an AWS operation "
                                 "failed; 2 bad input (arguments, stack files, project "
                                 "manifests, plan files, AWS credentials).")


@app.callback()
def _root() -> None:
    """mlops-platform: offline previews, policy checks, sandbox and day-2 operations."""


@app.command()
def preview(
    stack: StackOpt,
    as_json: Annotated[bool, typer.Option("--json", help="Print the Plan as JSON.")] = False,
) -> None:
    """Run the program offline (Pulumi mocks, no AWS, no CLI) and show what it would create."""
    from mlops.commands.common import plan_for
    from mlops.render import plan_tree, type_table

    plan = plan_for(stack)
    if as_json:
        sys.stdout.write(plan.to_json() + "\n")
        return
    out.print(plan_tree(plan))
    out.print(type_table(plan))
    for project, reason in sorted((plan.outputs.get("notServed") or {}).items()):
        out.print(f"no endpoint for {project}: {reason}", markup=False)


@app.command()
def up(
    stack: StackOpt,
    yes: Annotated[bool, typer.Option("--yes", help="Apply without asking after the preview "
                                      "(what CI does; the policy pack still judges it).")] = False,
) -> None:
    """Deploy a stack with the real Pulumi CLI and the policy pack (needs AWS credentials)."""
    from mlops.deploy import run_pulumi

    raise typer.Exit(run_pulumi(project_root(), "up", stack, yes=yes))


@app.command()
def destroy(stack: StackOpt) -> None:
    """Destroy a non-prod stack with the real Pulumi CLI. Prod stacks are refused."""
    from mlops.deploy import run_pulumi

    raise typer.Exit(run_pulumi(project_root(), "destroy", stack))


# Sub-command groups: name -> module exposing a `typer.Typer` called `app`. Each module keeps
# its heavy imports (boto3, moto, the SageMaker SDK) inside the command functions.
SUBCOMMANDS = {
    "pipelines": "mlops.commands.pipelines",
    "policy": "mlops.commands.policy",
    "export": "mlops.commands.export",
    "sandbox": "mlops.commands.sandbox",
    "models": "mlops.commands.models",
    "stacks": "mlops.commands.stacks",
    "endpoints": "mlops.commands.endpoints",
    "drift": "mlops.commands.drift",
}
# Top-level commands that live in their own module: name -> (module, function).
TOP_LEVEL = {"demo": ("mlops.commands.demo", "demo")}


def _add_subcommands() -> None:
    for name, (module, function) in TOP_LEVEL.items():
        app.command(name)(getattr(importlib.import_module(module), function))
    for name, module in SUBCOMMANDS.items():
        app.add_typer(importlib.import_module(module).app, name=name)


_add_subcommands()


def main() -> None:
    """Console-script entry: one-line errors and the exit codes of :mod:`mlops.errors`.

    Argument errors (click's, raised as ``typer.TyperException``) are one line on stderr and
    exit 2; a group called without a command prints its help on stdout and exits 2.
    """
    try:
        code = app(prog_name="mlops", standalone_mode=False)
    except typer.TyperException as exc:
        ctx = getattr(exc, "ctx", None)
        if type(exc).__name__ == "NoArgsIsHelpError" and ctx is not None:  # a bare group
            out.print(ctx.get_help(), markup=False)
            sys.exit(EXIT_USAGE)
        path = ctx.command_path if ctx is not None else "mlops"
        fail(f"{path}: {exc.format_message().strip()} (see {path} --help)")
        sys.exit(exc.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        fail("interrupted")
        sys.exit(EXIT_INTERRUPTED)
    except Exception as exc:
        known = classify(exc)
        if known is None:
            if os.environ.get("MLOPS_DEBUG"):
                traceback.print_exc()
            fail(f"internal error: {type(exc).__name__}: {exc} (a bug: MLOPS_DEBUG=1 shows the "
                 "traceback)")
            sys.exit(EXIT_CHECK_FAILED)
        code, message = known
        fail(message)
        sys.exit(code)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
