"""Everything a stack needs from ``pipelines/``: loaded, rendered and rule-checked projects.

Runs before the program registers any resource, so a bad project stops the deployment with one
line and nothing half-created.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from infra.projects.context import ProjectContext
from infra.projects.errors import RuleViolation
from infra.projects.loader import Project, context_for, load_projects
from infra.projects.render import render
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
