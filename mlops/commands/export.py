"""`mlops export`: a stack's offline Plan in formats other tools read."""

from __future__ import annotations

import json

from mlops.commands.common import OutputOpt, PlanOpt, StackOpt, group, plan_for, project_root
from mlops.console import err

app = group("Export a stack's offline Plan (Terraform plan JSON for Checkov and other scanners).")


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
