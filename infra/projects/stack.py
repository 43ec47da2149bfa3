"""Everything a stack needs from ``pipelines/``: loaded, rendered and rule-checked projects.

Runs before the program registers any resource, so a bad project stops the deployment with one
line and nothing half-created.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from infra.projects.context import ProjectContext
from infra.projects.errors import RuleViolation
from infra.projects.loader import Project, context_for, load_projects
from infra.projects.render import canonical, render
from infra.projects.rules import check_definition

if TYPE_CHECKING:
    from infra.config import Settings
    from infra.naming import Naming


@dataclass(frozen=True)
class ProjectPipeline:
    """A project with its context and rendered definition for one stack."""

    project: Project
    context: ProjectContext
    definition: str

    def deployed_definition(self, key_arn: str) -> str:
        """The definition to deploy: the environment key by its ARN (see ``with_key_arn``)."""
        return with_key_arn(self.definition, self.context, key_arn)


def with_key_arn(definition: str, ctx: ProjectContext, key_arn: str) -> str:
    """``definition`` with every value equal to the key's alias ARN replaced by ``key_arn``.

    Rendering (and its cache and rules) needs values known before deployment, so ``ctx`` names
    the environment key by its alias ARN. Not every field takes an alias (the API documents only
    key ID or key ARN for a training job's ``VolumeKmsKeyId``, and KMS grants refuse aliases), so
    what is deployed or submitted names the key by its ARN.
    """

    def swap(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: swap(v) for k, v in node.items()}
        if isinstance(node, list):
            return [swap(v) for v in node]
        return key_arn if node == ctx.kms_key_arn else node

    return canonical(swap(json.loads(definition)))


def project_pipelines(
    root: Path, settings: Settings, naming: Naming, names: list[str] | None = None
) -> list[ProjectPipeline]:
    """Load, render (cached) and check every project; raise on the first problem."""
    out = []
    for project in load_projects(root, names):
        ctx = context_for(project, settings, naming)
        definition = render(project, ctx, root)
        findings = check_definition(definition, ctx)
        if findings:
            first = findings[0]
            more = f" (and {len(findings) - 1} more; run mlops pipelines validate " \
                   f"{project.name} --stack {naming.stack})" if len(findings) > 1 else ""
            raise RuleViolation(project.module_source, f"step {first.step}: {first.field}", None,
                                first.message + more)
        out.append(ProjectPipeline(project=project, context=ctx, definition=definition))
    return out
