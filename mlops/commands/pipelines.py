"""`mlops pipelines`: the data scientists' commands (new, validate, render, diff, submit, ...)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from mlops.commands.common import EndpointOpt, ExitCodeOpt, StackOpt, group, project_root
from mlops.console import err, out
from mlops.errors import EXIT_CHECK_FAILED, UsageError

if TYPE_CHECKING:
    from mlops.ops.pipelines import Prepared

app = group("ML projects under pipelines/: scaffold, validate, render, diff, submit, status.")

SCHEMA_FILE = "docs/project.schema.json"
SHIPPED_STACKS = ("dev", "staging", "prod")

NameArg = Annotated[str, typer.Argument(metavar="PROJECT", help="Project folder under pipelines/.")]


@app.command()
def schema(
    check: Annotated[bool, typer.Option("--check", help=f"Exit 1 if {SCHEMA_FILE} is stale.")]
    = False,
    stdout: Annotated[bool, typer.Option("--stdout", help="Print instead of writing.")] = False,
) -> None:
    """Write the JSON Schema of project.yaml (generated from the manifest model) to docs/."""
    from infra.projects.manifest import schema_json

    text = schema_json()
    if stdout:
        sys.stdout.write(text)
        return
    path = project_root() / SCHEMA_FILE
    current = path.read_text(encoding="utf-8") if path.is_file() else ""
    if current == text:
        err.print(f"{SCHEMA_FILE} is up to date", markup=False)
        return
    if check:
        err.print(f"{SCHEMA_FILE} is stale; run: mlops pipelines schema", markup=False)
        raise typer.Exit(EXIT_CHECK_FAILED)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    err.print(f"wrote {SCHEMA_FILE}", markup=False)


@app.command()
def new(
    name: NameArg,
    owner: Annotated[str, typer.Option(help="Owner email.")] = "ml-team@example.com",
) -> None:
    """Scaffold pipelines/NAME: a project that validates in every stack at once."""
    from infra.projects.scaffold import scaffold

    scaffold(project_root(), name, owner)
    out.print(f"created pipelines/{name}: project.yaml, pipeline.py, code/prepare.py", markup=False)
    out.print(f"next: mlops pipelines validate {name} --stack dev", markup=False)


@app.command()
def validate(
    names: Annotated[list[str] | None, typer.Argument(help="Projects (default: all).")] = None,
    stack: Annotated[list[str] | None, typer.Option(
        "--stack", "-s", help="Stack(s) to validate against (default: dev, staging, prod).")] = None,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Render afresh.")] = False,
    endpoint_url: EndpointOpt = None,
) -> None:
    """Manifest + render + platform rules. Exit 1 with findings, 2 on a bad project.

    Offline; with --endpoint-url the account comes from that endpoint (as in diff/submit)."""
    from infra.projects.discover import project_names

    root = project_root()
    projects = names or project_names(root)
    if not projects:
        raise UsageError("no projects under pipelines/ (create one: mlops pipelines new NAME)")
    failed = 0
    for stack_name in stack or list(SHIPPED_STACKS):
        for name in projects:
            with err.status(f"rendering {name} for {stack_name}"):
                prepared = _prepared(name, stack_name, endpoint_url, use_cache=not no_cache)
            if prepared.findings:
                failed += len(prepared.findings)
                for finding in prepared.findings:
                    out.print(f"FAIL {stack_name}: {finding}", markup=False)
            else:
                steps = len(json.loads(prepared.definition).get("Steps", []))
                out.print(f"ok   {stack_name}: {name} ({steps} top-level steps, "
                          f"pipeline {prepared.context.pipeline_name})", markup=False)
    if failed:
        err.print(f"{failed} finding(s)", markup=False)
        raise typer.Exit(EXIT_CHECK_FAILED)


@app.command()
def render(
    name: NameArg, stack: StackOpt,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Render afresh.")] = False,
    endpoint_url: EndpointOpt = None,
) -> None:
    """The pipeline definition JSON (pretty, deterministic) on stdout.

    Offline; with --endpoint-url the account comes from that endpoint (as in diff/submit)."""
    from infra.projects.render import pretty

    prepared = _prepared(name, stack, endpoint_url, use_cache=not no_cache)
    sys.stdout.write(pretty(prepared.definition))
    for finding in prepared.findings:
        err.print(f"warning: {finding}", markup=False)


def _prepared(name: str, stack: str, endpoint_url: str | None, live: bool = False,
              use_cache: bool = True) -> Prepared:
    """Render ``name`` for ``stack``; the account comes from STS when the stack file does not
    pin one and the command talks to AWS (``live``) or was given an endpoint."""
    from mlops.offline.runtime import load_settings
    from mlops.ops.pipelines import caller_account, prepare

    root = project_root()
    account = None
    if live or endpoint_url:
        settings, _ = load_settings(root, stack)
        account = settings.account_id or caller_account(settings.region, endpoint_url)
    return prepare(root, name, stack, account_id=account, use_cache=use_cache)


@app.command()
def diff(name: NameArg, stack: StackOpt, endpoint_url: EndpointOpt = None,
         exit_code: ExitCodeOpt = False) -> None:
    """Rendered definition vs the deployed one (describe_pipeline), as a unified diff."""
    from mlops.ops.pipelines import (
        aws_client,
        deployable,
        deployed_definition,
        environment_key_arn,
        unified_diff,
    )

    prepared = _prepared(name, stack, endpoint_url, live=True)
    region = prepared.settings.region
    deployed = deployed_definition(aws_client("sagemaker", region, endpoint_url),
                    prepared.context.pipeline_name)
    # Deployed definitions name the environment key by its ARN: compare like with like.
    key_arn = environment_key_arn(aws_client("kms", region, endpoint_url), prepared.context)
    rendered = deployable(prepared, key_arn) if key_arn else prepared.definition
    text = unified_diff(deployed, rendered, prepared.context.pipeline_name)
    if not text:
        err.print(f"{prepared.context.pipeline_name}: no changes", markup=False)
        return
    if deployed is None:
        err.print(f"{prepared.context.pipeline_name} is not deployed; everything is new",
                  markup=False)
    sys.stdout.write(text)
    if exit_code:
        raise typer.Exit(EXIT_CHECK_FAILED)


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

    settings, _ = load_settings(project_root(), stack)
    if not settings.allow_direct_submit:
        raise UsageError(
            f"stack {stack} does not allow direct submission (mlops:allowDirectSubmit is false); "
            f"deployments to {stack} go through `pulumi up` (make up STACK={stack})")
    prepared = _prepared(name, stack, endpoint_url, live=True)
    result = do_submit(prepared, endpoint_url)
    for uri in result.uploaded:
        err.print(f"uploaded {uri}", markup=False)
    out.print(f"pipeline {prepared.context.pipeline_name}: {result.action} ({result.pipeline_arn})",
              markup=False)
    out.print(f"execution {result.execution_arn}", markup=False)
    if not wait or result.execution_arn is None:
        return
    sm = aws_client("sagemaker", prepared.settings.region, endpoint_url)
    seen: list[str] = []

    def show(state: str) -> None:  # each change on its own line, the latest on the spinner
        if not seen or seen[-1] != state:
            err.print(f"execution: {state}", markup=False)
            seen.append(state)
        spinner.update(f"execution: {state}")

    with err.status("execution: starting") as spinner:
        final = wait_for(sm, result.execution_arn, timeout, show)
    out.print(f"status {final}", markup=False)
    if final in ("Failed", "Stopped"):
        raise typer.Exit(EXIT_CHECK_FAILED)


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

    root = project_root()
    settings, _ = load_settings(root, stack)
    load_project(root, name)
    pipeline = pipeline_name(naming_for(settings, stack), name)
    sm = aws_client("sagemaker", settings.region, endpoint_url)
    rows = executions(sm, pipeline, limit)
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

    project = load_project(project_root(), name)
    path = write_lock(project.path, project.manifest)
    out.print(f"wrote {path.relative_to(project_root())}", markup=False)


DataOpt = Annotated[Path | None, typer.Option(
    "--data", metavar="DIR", help="A local folder standing in for S3 (DIR/BUCKET/KEY is "
                                  "s3://BUCKET/KEY) instead of the sandbox or AWS.")]
DevStackOpt = Annotated[str, typer.Option("--stack", "-s", metavar="NAME",
                                          help="Stack: reads stacks/Pulumi.NAME.yaml.")]


@app.command()
def run(
    name: NameArg,
    local: Annotated[bool, typer.Option("--local", help="Run on this machine (required: runs in "
                                        "SageMaker start with `mlops pipelines submit`).")] = False,
    stack: DevStackOpt = "dev",
    param: Annotated[list[str] | None, typer.Option(
        "--param", "-p", metavar="NAME=VALUE", help="Override a pipeline parameter "
                                                    "(repeatable).")] = None,
    data: DataOpt = None,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Run every step, even those "
                                           "whose CacheConfig would reuse an earlier run.")] = False,
    endpoint_url: EndpointOpt = None,
) -> None:
    """Run the project's pipeline step by step on this machine (no Docker).

    Reads inputs from the sandbox (or the AWS environment), or from --data DIR; registers the
    model into the stack's registry. Logs: .cache/runs/PROJECT/RUN-ID/.
    """
    from mlops.local import launch
    from mlops.local.run import SKIPPED

    if not local:
        raise UsageError(f"mlops pipelines run: give --local (a run in SageMaker starts with "
                         f"`mlops pipelines submit {name} --stack {stack}`)")
    def on_start(step: Any) -> None:
        spinner.update(f"{step.name} ({step.type}) running")

    def on_step(outcome: Any) -> None:
        style = {"Succeeded": "green", "Cached": "cyan", "Failed": "red"}.get(outcome.status, "dim")
        took = f"{outcome.seconds:.1f}s" if outcome.status not in (SKIPPED, "NotStarted") else ""
        err.print(f"[{style}]{outcome.status:<10}[/] {outcome.name} [dim]{took} "
                  f"{outcome.detail}[/]")

    with err.status(f"{name}: rendering for {stack}") as spinner:
        report = launch.start(project_root(), name, stack, params=param, data_dir=data,
                              endpoint_url=endpoint_url, use_cache=not no_cache,
                              on_start=on_start, on_step=on_step)
    out.print(_run_table(report))
    out.print(f"logs: {report.folder}", markup=False)
    failure = report.failure
    if failure is not None:
        for line in failure.log_tail:
            err.print(f"  | {line}", markup=False)
        code = f" (exit code {failure.exit_code})" if failure.exit_code is not None else ""
        err.print(f"error: run {report.run_id} failed at step {failure.name} ({failure.type})"
                  f"{code}: {failure.detail}", markup=False)
        raise typer.Exit(EXIT_CHECK_FAILED)


def _run_table(report: Any) -> Any:
    from rich.table import Table

    status = f"{report.status} ({report.detail})" if report.detail else report.status
    table = Table(title=f"run {report.run_id} of {report.pipeline}: {status}",
                  title_justify="left")
    for column in ("step", "type", "status", "time", "outputs"):
        table.add_column(column, overflow="fold", justify="right" if column == "time" else "left")
    for s in report.steps:
        took = f"{s.seconds:.1f}s" if s.status in ("Succeeded", "Failed") else ""
        shown = "\n".join(s.outputs) or s.detail
        table.add_row(s.name, s.type, s.status, took, shown)
    return table


@app.command()
def seed(
    name: NameArg,
    stack: DevStackOpt = "dev",
    rows: Annotated[int | None, typer.Option(min=10, help="Records per feature group "
                                             "(default: the sample's own).")] = None,
    data: DataOpt = None,
    endpoint_url: EndpointOpt = None,
) -> None:
    """Write the project's sample data (pipelines/PROJECT/sample.py) into its offline stores."""
    from mlops.local import launch

    with err.status(f"{name}: writing sample data for {stack}"):
        written = launch.seed(project_root(), name, stack, rows=rows, data_dir=data,
                              endpoint_url=endpoint_url)
    for feature_group, (uri, count) in written.items():
        out.print(f"{feature_group}: {count} records -> {uri}", markup=False)
