"""`mlops export`: a stack's offline Plan in formats other tools read."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from mlops.commands.common import OutputOpt, PlanOpt, StackOpt, group, plan_for, project_root
from mlops.console import err
from mlops.errors import UsageError

app = group("Export a stack's offline Plan (Terraform plan JSON, Kubernetes manifests).")
OutOpt = Annotated[Path | None, typer.Option(
    "--out", metavar="DIR", help="Directory for the manifests (default: build/k8s/STACK).")]


@app.callback()
def _group() -> None:
    """Export a stack's offline Plan for other tools."""


@app.command("terraform-plan")
def terraform_plan(stack: StackOpt, output: OutputOpt = None, plan_file: PlanOpt = None) -> None:
    """Write the Plan as Terraform plan JSON, for Checkov and other plan scanners.

    Then: checkov --framework terraform_plan -f FILE
    """
    from mlops.commands.common import write_output
    from mlops.export.terraform import to_terraform_plan
    from mlops.offline.runtime import load_settings

    settings, _ = load_settings(project_root(), stack)
    plan = plan_for(stack, plan_file)
    document = to_terraform_plan(plan, settings.region, settings.default_tags)
    write_output(json.dumps(document, indent=2) + "\n", output)
    if output is not None:
        count = len(document["planned_values"]["root_module"]["resources"])
        err.print(f"wrote {output}: {count} resources", markup=False)


@app.command("k8s")
def k8s(stack: StackOpt, out: OutOpt = None, plan_file: PlanOpt = None) -> None:
    """Write the Plan's Kubernetes objects as manifests, one YAML file per object.

    Files are named <kind>-<namespace>-<name>.yaml; a value not known until deploy is written as
    "<unknown until deploy: PATH>". A stack with no Kubernetes serving is an error (exit 2).

    Then: checkov -d DIR --framework kubernetes
    """
    from mlops.export.kubernetes import NoKubernetesObjects, write_manifests

    plan = plan_for(stack, plan_file)
    directory = out if out is not None else Path("build") / "k8s" / stack
    try:
        written = write_manifests(plan, directory)
    except NoKubernetesObjects:
        raise UsageError(f"stack {stack} has no Kubernetes objects to export: no project serves "
                         f"on Kubernetes there (serving.target in project.yaml, mlops:kubernetes "
                         f"in stacks/Pulumi.{stack}.yaml; see docs/kubernetes.md)") from None
    except (OSError, ValueError) as exc:
        raise UsageError(f"--out {directory}: {exc}") from None
    for path in written:
        typer.echo(str(path))
    err.print(f"wrote {len(written)} manifests to {directory}", markup=False)
