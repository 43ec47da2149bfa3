"""`mlops models ...`: model versions across environments (thin layer over mlops.ops.models
and mlops.ops.promotion). A blocked promotion exits 1 after its table of gates; errors take the
exit codes of mlops.errors."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from mlops.commands.common import JsonOpt, StackOpt, group, project_root
from mlops.console import err, out
from mlops.errors import EXIT_CHECK_FAILED

if TYPE_CHECKING:
    from mlops.ops.promotion_plan import PromotionPlan
    from mlops.ops.versions import ModelVersion

app = group("Register, approve and promote model versions between stacks.")

Project = Annotated[str, typer.Argument(metavar="PROJECT",
                                        help="Project name (pipelines/PROJECT/project.yaml).")]
Version = Annotated[int, typer.Option("--version", "-v", min=1, metavar="N",
                                      help="Model package version.")]
Reason = Annotated[str | None, typer.Option("--reason", metavar="TEXT",
                                            help="Why (recorded and audited).")]


def _fmt_metrics(metrics: dict[str, float]) -> str:
    return ", ".join(f"{k}={v:g}" for k, v in sorted(metrics.items())) or "-"


def _version_table(title: str, versions: list[ModelVersion]) -> Any:
    from rich.table import Table

    from mlops.ops.versions import describe_source

    table = Table(title=title, title_justify="left", caption="ARNs and lineage: --json",
                  caption_justify="left")
    table.add_column("version", justify="right")
    table.add_column("status", no_wrap=True)
    table.add_column("metrics", overflow="fold")
    table.add_column("source", overflow="fold")
    table.add_column("created", no_wrap=True)
    for v in versions:
        table.add_row(str(v.version), v.status, _fmt_metrics(v.metrics), describe_source(v.source),
                      v.created[:16].replace("T", " "))
    return table


@app.command("list")
def list_(project: Project, stack: StackOpt, as_json: JsonOpt = False) -> None:
    """Versions of a project in a stack: approval status, metrics, source lineage."""
    from mlops.ops.models import list_versions

    with err.status(f"listing {project} in {stack}"):
        versions = list_versions(project_root(), project, stack)
    if as_json:
        sys.stdout.write(json.dumps([v.to_dict() for v in versions], indent=2) + "\n")
        return
    if not versions:
        out.print(f"no versions of {project} in {stack}")
        return
    out.print(_version_table(f"{project} in {stack}", versions))


@app.command()
def register(
    project: Project,
    stack: StackOpt,
    artifact: Annotated[str, typer.Option("--artifact", metavar="PATH|S3URI",
                                          help="Model artifact: a file or s3:// URI.")],
    metrics: Annotated[Path, typer.Option("--metrics", metavar="FILE",
                                          help="JSON map of metric -> number.")],
    image: Annotated[str | None, typer.Option("--image", metavar="URI", help="Inference image "
                                              "URI (default: SageMaker XGBoost 1.7-1).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Register a model trained outside the pipeline (PendingManualApproval)."""
    from mlops.ops.models import register_model

    with err.status(f"registering {project} in {stack}"):
        version = register_model(project_root(), project, stack, artifact, metrics, image)
    if as_json:
        sys.stdout.write(json.dumps(version.to_dict(), indent=2) + "\n")
        return
    out.print(f"registered {project} v{version.version} in {stack}: {version.status}")
    out.print(f"  arn       {version.arn}")
    out.print(f"  artifact  {version.artifact}")
    out.print(f"  sha256    {version.sha256}")
    out.print(f"  metrics   {_fmt_metrics(version.metrics)}")


def _decide(project: str, version: int, stack: str, reason: str | None, approve: bool) -> None:
    from mlops.ops import models

    fn = models.approve if approve else models.reject
    verb = "approving" if approve else "rejecting"
    with err.status(f"{verb} {project} v{version} in {stack}"):
        result = fn(project_root(), project, stack, version, reason)
    out.print(f"{project} v{result.version} in {stack}: {result.status} ({result.approval})")


@app.command()
def approve(project: Project, version: Version, stack: StackOpt, reason: Reason = None) -> None:
    """Approve a version (its artifact checksum is verified first); records who and why."""
    _decide(project, version, stack, reason, True)


@app.command()
def reject(project: Project, version: Version, stack: StackOpt, reason: Reason = None) -> None:
    """Reject a version; records who and why."""
    _decide(project, version, stack, reason, False)


def _gate_table(plan: PromotionPlan, dry_run: bool) -> Any:
    from rich.table import Table

    facts = plan.facts
    title = (f"promote {facts.project} v{facts.source.version}: {facts.source_stack} -> "
             f"{facts.target.stack}" + (" (dry run)" if dry_run else ""))
    table = Table(title=title, title_justify="left")
    table.add_column("gate")
    table.add_column("result")
    table.add_column("detail", overflow="fold")
    for gate in plan.gates:
        table.add_row(gate.name, "[green]pass[/]" if gate.passed else "[red]FAIL[/]",
                      gate.detail, style=None)
    return table


def _show_plan(plan: PromotionPlan, dry_run: bool) -> None:
    """The table of gates, then (when they pass) the steps, in the order they are taken."""
    out.print(_gate_table(plan, dry_run))
    if plan.passed:
        out.print("planned changes (none made):" if dry_run else "planned changes:")
        for line in plan.lines():
            out.print(f"  - {line}", markup=False)


@app.command()
def promote(
    project: Project,
    version: Version,
    source: Annotated[str, typer.Option("--from", metavar="STACK", help="Source stack.")],
    target: Annotated[str, typer.Option("--to", metavar="STACK", help="Target stack.")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show gates and planned changes only.")] = False,
    pin: Annotated[bool, typer.Option("--pin/--no-pin", help="Pin the version in the target "
                                      "stack file.")] = True,
    as_json: JsonOpt = False,
) -> None:
    """Promote a version between stacks through gates; pin it and audit it.

    The table of gates and the planned steps are printed before anything changes.
    """
    from mlops.ops.promotion import promote as run

    with err.status(f"checking the gates of {project} v{version} {source} -> {target}") as status:
        def show_plan(plan: PromotionPlan) -> None:
            if not as_json:
                status.stop()  # the plan goes out before the spinner comes back
                _show_plan(plan, dry_run)
                status.update(f"promoting {project} v{version} {source} -> {target}")
                status.start()

        result = run(project_root(), project, version, source, target, dry_run=dry_run, pin=pin,
                     notify=lambda message: err.print(message, markup=False),
                     on_plan=show_plan)
    if as_json:
        sys.stdout.write(json.dumps(result.to_dict(), indent=2) + "\n")
    if not result.passed:
        if not as_json:
            failed = [g.name for g in result.gates if not g.passed]
            err.print(f"promotion blocked by {len(failed)} gate(s): {', '.join(failed)}; "
                      "nothing changed", markup=False)
        raise typer.Exit(EXIT_CHECK_FAILED)
    if as_json:
        return
    if result.dry_run:
        return
    words = {"promoted": "promoted", "unchanged": "already promoted, nothing changed",
             "completed": "completed an earlier promotion"}
    out.print(f"{words.get(result.outcome, result.outcome)}: {result.target_arn} "
              f"(v{result.target_version}, {result.target_status})", markup=False)
    out.print(f"  artifact  {result.artifact}", markup=False)
    out.print(f"  audit     {result.audit_key}", markup=False)
    if result.pinned is not None:
        state = "pinned" if result.pinned else "pin already up to date"
        out.print(f"  {state} in stacks/Pulumi.{result.target}.yaml", markup=False)
