"""`mlops endpoints`: what each stack's endpoints serve, and requests to them."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from mlops.commands.common import JsonOpt, StackOpt, group, project_root
from mlops.console import err, out
from mlops.errors import EXIT_CHECK_FAILED, UsageError

app = group("Endpoints: the version each one serves against the pinned one; invoke them.")
KubeconfigOpt = Annotated[Path | None, typer.Option(
    "--kubeconfig", metavar="FILE", help="Kubernetes targets: this kubeconfig instead of the one "
                                         "the stack names (never the ambient one).")]


@app.command()
def status(stack: StackOpt, as_json: JsonOpt = False, kubeconfig: KubeconfigOpt = None) -> None:
    """The version each endpoint serves against the pinned one (exit 1 on disagreement).

    Per project with a serving section: the endpoint, its status, the version its model comes
    from and the version the stack file pins. They disagree after a rollback the apply did not
    report, or when a pinned version has no endpoint. On Kubernetes the endpoint is the
    Deployment, read through kubectl; an unreachable cluster is reported with what would run
    there, and counts as a disagreement.
    """
    from rich.table import Table

    from mlops.ops.endpoints import endpoint_states

    with err.status(f"reading the endpoints of {stack}"):
        states = endpoint_states(project_root(), stack, kubeconfig=kubeconfig)
    if as_json:
        sys.stdout.write(json.dumps([s.to_dict() for s in states], indent=2) + "\n")
    else:
        table = Table(title=f"endpoints of {stack}", title_justify="left")
        for column in ("project", "target", "endpoint", "status", "serving", "pinned", "agree",
                       "detail"):
            table.add_column(column, overflow="fold")
        for s in states:
            table.add_row(s.project, s.target, s.endpoint, s.status,
                          f"v{s.serving}" if s.serving else "-", f"v{s.pinned}" if s.pinned else "-",
                          "[green]yes[/]" if s.agrees else "[red]NO[/]", s.detail)
        out.print(table)
        if not states:
            out.print("no project has a serving section", markup=False)
    if any(not s.agrees for s in states):
        if not as_json:
            names = ", ".join(s.project for s in states if not s.agrees)
            err.print(f"endpoints of {stack} disagree with the pinned versions: {names}",
                      markup=False)
        raise typer.Exit(EXIT_CHECK_FAILED)


@app.command()
def invoke(
    project: Annotated[str, typer.Argument(metavar="PROJECT", help="Project with an endpoint.")],
    stack: StackOpt,
    body: Annotated[Path, typer.Option("--body", metavar="FILE", help="The request body "
                                       "(for text/csv: one record per line, features only).")],
    content_type: Annotated[str, typer.Option("--content-type", metavar="TYPE",
                                              help="Content type of the body.")] = "text/csv",
    kubeconfig: KubeconfigOpt = None,
) -> None:
    """Send FILE to the project's endpoint and print the answer.

    On Kubernetes the request goes to the project's Service through kubectl port-forward.
    """
    from mlops.ops.endpoints import invoke as send

    try:
        data = body.read_bytes()
    except OSError as exc:
        raise UsageError(f"--body {body}: {exc.strerror or exc}") from None
    with err.status(f"invoking the {project} endpoint of {stack}"):
        answer_type, answer = send(project_root(), project, stack, data, content_type,
                                   kubeconfig=kubeconfig)
    sys.stdout.write(answer.decode("utf-8", errors="replace").rstrip("\n") + "\n")
    err.print(f"{len(answer)} bytes, {answer_type}", markup=False)
