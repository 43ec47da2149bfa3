"""`mlops pipelines`: the data scientists' commands (new, validate, render, diff, submit, ...)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from mlops.console import err, out
from mlops.errors import UsageError

app = typer.Typer(
    help="ML projects under pipelines/: scaffold, validate, render, diff, submit, status.",
    no_args_is_help=True,
)

SCHEMA_FILE = "docs/project.schema.json"
SHIPPED_STACKS = ("dev", "staging", "prod")

StackOpt = Annotated[str, typer.Option("--stack", "-s", help="Stack: stacks/Pulumi.NAME.yaml.")]
EndpointOpt = Annotated[str | None, typer.Option(
    "--endpoint-url", help="AWS endpoint (e.g. the local sandbox); default AWS_ENDPOINT_URL.")]
NameArg = Annotated[str, typer.Argument(help="Project folder under pipelines/.")]


def _root() -> Path:
    from mlops.cli import ROOT

    return ROOT


def _aws(call: Any, *args: Any, **kwargs: Any) -> Any:
    """Run an AWS operation; botocore failures become one line (exit 2)."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        return call(*args, **kwargs)
    except (BotoCoreError, ClientError) as exc:
        raise UsageError(f"AWS request failed: {exc}") from None


@app.command()
def schema(
    write: Annotated[bool, typer.Option("--write", help=f"Write {SCHEMA_FILE}.")] = False,
    check: Annotated[bool, typer.Option("--check", help=f"Exit 1 if {SCHEMA_FILE} is stale.")]
    = False,
) -> None:
    """The JSON Schema of project.yaml (generated from the manifest model)."""
    from infra.projects.manifest import schema_json

    text = schema_json()
    path = _root() / SCHEMA_FILE
    if check:
        current = path.read_text(encoding="utf-8") if path.is_file() else ""
        if current != text:
            err.print(f"{SCHEMA_FILE} is stale; run: mlops pipelines schema --write", markup=False)
            raise typer.Exit(1)
        err.print(f"{SCHEMA_FILE} is up to date", markup=False)
        return
    if write:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        err.print(f"wrote {SCHEMA_FILE}", markup=False)
        return
    sys.stdout.write(text)


@app.command()
def new(
    name: NameArg,
    owner: Annotated[str, typer.Option(help="Owner email.")] = "ml-team@example.com",
) -> None:
    """Scaffold pipelines/NAME: a project that validates in every stack at once."""
    from infra.projects.loader import write_lock
    from infra.projects.manifest import load_manifest
    from infra.projects.scaffold import scaffold

    root = _root()
    folder = scaffold(root, name, owner)
    write_lock(folder, load_manifest(folder, root))
    out.print(f"created pipelines/{name}: project.yaml, pipeline.py, code/prepare.py", markup=False)
    out.print(f"next: mlops pipelines validate {name} --stack dev", markup=False)


@app.command()
def validate(
    names: Annotated[list[str] | None, typer.Argument(help="Projects (default: all).")] = None,
    stack: Annotated[list[str] | None, typer.Option(
        "--stack", "-s", help="Stack(s) to validate against (default: dev, staging, prod).")] = None,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Render afresh.")] = False,
) -> None:
    """Manifest + render + platform rules. Exit 1 with findings, 2 on a bad project."""
    from infra.projects.discover import project_names
    from mlops.ops.pipelines import prepare

    root = _root()
    projects = names or project_names(root)
    if not projects:
        raise UsageError("no projects under pipelines/ (create one: mlops pipelines new NAME)")
    failed = 0
    for stack_name in stack or list(SHIPPED_STACKS):
        for name in projects:
            with err.status(f"rendering {name} for {stack_name}"):
                prepared = prepare(root, name, stack_name, use_cache=not no_cache)
            if prepared.findings:
                failed += len(prepared.findings)
                for finding in prepared.findings:
                    out.print(f"FAIL {stack_name}: {finding}", markup=False)
            else:
                steps = len(__import__("json").loads(prepared.definition).get("Steps", []))
                out.print(f"ok   {stack_name}: {name} ({steps} top-level steps, "
                          f"pipeline {prepared.context.pipeline_name})", markup=False)
    if failed:
        err.print(f"{failed} finding(s)", markup=False)
        raise typer.Exit(1)


@app.command()
def render(
    name: NameArg, stack: StackOpt,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Render afresh.")] = False,
) -> None:
    """The pipeline definition JSON (pretty, deterministic) on stdout."""
    from infra.projects.render import pretty
    from mlops.ops.pipelines import prepare

    prepared = prepare(_root(), name, stack, use_cache=not no_cache)
    sys.stdout.write(pretty(prepared.definition))
    for finding in prepared.findings:
        err.print(f"warning: {finding}", markup=False)


def _live_prepared(name: str, stack: str, endpoint_url: str | None):  # type: ignore[no-untyped-def]
    from mlops.offline.runtime import load_settings
    from mlops.ops.pipelines import caller_account, prepare

    root = _root()
    settings, _ = load_settings(root, stack)
    account = settings.account_id or _aws(caller_account, settings.region, endpoint_url)
    return prepare(root, name, stack, account_id=account)


@app.command()
def diff(name: NameArg, stack: StackOpt, endpoint_url: EndpointOpt = None) -> None:
    """Rendered definition vs the deployed one (describe_pipeline), as a unified diff."""
    from mlops.ops.pipelines import aws_client, deployed_definition, unified_diff

    prepared = _live_prepared(name, stack, endpoint_url)
    sm = aws_client("sagemaker", prepared.settings.region, endpoint_url)
    deployed = _aws(deployed_definition, sm, prepared.context.pipeline_name)
    text = unified_diff(deployed, prepared.definition, prepared.context.pipeline_name)
    if not text:
        err.print(f"{prepared.context.pipeline_name}: no changes", markup=False)
        return
    if deployed is None:
        err.print(f"{prepared.context.pipeline_name} is not deployed; everything is new",
                  markup=False)
    sys.stdout.write(text)


@app.command()
def submit(
    name: NameArg, stack: StackOpt, endpoint_url: EndpointOpt = None,
    wait: Annotated[bool, typer.Option("--wait/--no-wait", help="Follow the execution.")] = True,
    timeout: Annotated[float, typer.Option(help="Seconds to follow the execution.")] = 600.0,
) -> None:
    """Upsert the pipeline and start an execution (only where the stack allows it: dev)."""
    from mlops.offline.runtime import load_settings
    from mlops.ops.pipelines import aws_client, wait_for
    from mlops.ops.pipelines import submit as do_submit

    settings, _ = load_settings(_root(), stack)
    if not settings.allow_direct_submit:
        raise UsageError(
            f"stack {stack} does not allow direct submission (mlops:allowDirectSubmit is false); "
            f"deployments to {stack} go through `pulumi up` (make up STACK={stack})")
    prepared = _live_prepared(name, stack, endpoint_url)
    result = _aws(do_submit, prepared, endpoint_url)
    for uri in result.uploaded:
        err.print(f"uploaded {uri}", markup=False)
    out.print(f"pipeline {prepared.context.pipeline_name}: {result.action} ({result.pipeline_arn})",
              markup=False)
    out.print(f"execution {result.execution_arn}", markup=False)
    if not wait or result.execution_arn is None:
        return
    sm = aws_client("sagemaker", prepared.settings.region, endpoint_url)
    with err.status("execution: starting") as status:
        final = _aws(wait_for, sm, result.execution_arn, timeout,
                     lambda s: status.update(f"execution: {s}"))
    out.print(f"status {final}", markup=False)
    if final in ("Failed", "Stopped"):
        raise typer.Exit(1)


@app.command()
def status(
    name: NameArg, stack: StackOpt, endpoint_url: EndpointOpt = None,
    limit: Annotated[int, typer.Option(min=1, max=100, help="How many executions.")] = 10,
) -> None:
    """The last executions of the project's pipeline."""
    from rich.table import Table

    from infra.projects.loader import load_project, pipeline_name
    from mlops.offline.runtime import load_settings
    from mlops.ops.pipelines import aws_client, executions, naming_for

    root = _root()
    settings, _ = load_settings(root, stack)
    load_project(root, name)
    pipeline = pipeline_name(naming_for(settings, stack), name)
    sm = aws_client("sagemaker", settings.region, endpoint_url)
    rows = _aws(executions, sm, pipeline, limit)
    table = Table(title=f"{pipeline}: last {limit} executions", title_justify="left")
    for column in ("started", "status", "execution"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(str(row.get("StartTime", "")), str(row.get("PipelineExecutionStatus", "")),
                      str(row.get("PipelineExecutionArn", "")))
    out.print(table)
    if not rows:
        err.print("no executions yet", markup=False)


@app.command()
def lock(name: NameArg) -> None:
    """Record the feature groups as deployed (pipelines/NAME/featuregroups.lock.json)."""
    from infra.projects.loader import load_project, write_lock

    project = load_project(_root(), name)
    path = write_lock(project.path, project.manifest)
    out.print(f"wrote {path.relative_to(_root())}", markup=False)
