"""reference/workflows.md: every GitHub Actions workflow in ``.github/workflows/``: its name,
triggers, permissions and jobs (runner, needs, environment, permissions, timeout, concurrency)
and the commands its steps run."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlops.reference.markdown import cell, code, slug, table, text

WORKFLOWS_DIR = Path(".github") / "workflows"


class WorkflowError(ValueError):
    """A workflow file cannot be read; the message names the file."""


@dataclass(frozen=True)
class Job:
    id: str
    name: str
    runs_on: str
    needs: tuple[str, ...]
    environment: str
    permissions: str
    timeout: str
    concurrency: str
    steps: tuple[str, ...]  # "uses: x@sha" or the run command


@dataclass(frozen=True)
class Workflow:
    file: str  # ci.yml
    name: str
    triggers: tuple[str, ...]
    permissions: str
    concurrency: str
    jobs: tuple[Job, ...] = field(default_factory=tuple)


def _compact(value: Any) -> str:
    """A YAML value on one line (mappings as JSON, {} stays {})."""
    if value is None:
        return ""
    if isinstance(value, Mapping | list):
        return json.dumps(value, sort_keys=False, default=str)
    return str(value)


def _triggers(on: Any) -> tuple[str, ...]:
    if isinstance(on, str):
        return (on,)
    if isinstance(on, list):
        return tuple(str(t) for t in on)
    if not isinstance(on, Mapping):
        return ()
    out = []
    for event, spec in on.items():
        if isinstance(spec, Mapping) and spec:
            details = []
            for key, value in spec.items():
                if key == "inputs" and isinstance(value, Mapping):
                    details.append("inputs: " + ", ".join(str(k) for k in value))
                else:
                    details.append(f"{key}: {_compact(value)}")
            out.append(f"{event} ({'; '.join(details)})")
        elif isinstance(spec, list) and spec:  # schedule: [{cron: ...}]
            out.append(f"{event} ({_compact(spec)})")
        else:
            out.append(str(event))
    return tuple(out)


def _environment(value: Any) -> str:
    if isinstance(value, Mapping):
        return str(value.get("name", _compact(value)))
    return _compact(value)


def _steps(steps: Any) -> tuple[str, ...]:
    out = []
    for step in steps if isinstance(steps, list) else []:
        if not isinstance(step, Mapping):
            continue
        if "uses" in step:
            out.append(f"uses: {step['uses']}")
        elif "run" in step:
            out.append(str(step["run"]).strip())
    return tuple(out)


def read_workflow(path: Path) -> Workflow:
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    try:
        # YAML 1.2 (ruamel's default): `on:` stays the string "on", as GitHub reads it.
        data = YAML(typ="safe", pure=True).load(path.read_text(encoding="utf-8"))
    except (OSError, YAMLError) as exc:
        raise WorkflowError(f"{WORKFLOWS_DIR / path.name}: cannot read it: {exc}") from None
    if not isinstance(data, Mapping):
        raise WorkflowError(f"{WORKFLOWS_DIR / path.name}: not a mapping")
    jobs = []
    for job_id, job in (data.get("jobs") or {}).items():
        job = job if isinstance(job, Mapping) else {}
        needs = job.get("needs") or ()
        jobs.append(Job(
            id=str(job_id), name=str(job.get("name", "")), runs_on=_compact(job.get("runs-on")),
            needs=(needs,) if isinstance(needs, str) else tuple(str(n) for n in needs),
            environment=_environment(job.get("environment")),
            permissions=_compact(job.get("permissions")) if "permissions" in job else "",
            timeout=_compact(job.get("timeout-minutes")),
            concurrency=_compact(job.get("concurrency")),
            steps=_steps(job.get("steps")) if "steps" in job else
            ((f"uses: {job['uses']}",) if "uses" in job else ()),
        ))
    return Workflow(
        file=path.name, name=str(data.get("name", path.stem)), triggers=_triggers(data.get("on")),
        permissions=_compact(data.get("permissions")) if "permissions" in data else "",
        concurrency=_compact(data.get("concurrency")), jobs=tuple(jobs),
    )


def workflow_files(root: Path) -> list[Path]:
    folder = root / WORKFLOWS_DIR
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.suffix in (".yml", ".yaml") and p.is_file())


def _triggers_md(workflow: Workflow) -> str:
    return ", ".join(code(t) for t in workflow.triggers) or "none"


def render_workflows(root: Path) -> str:
    files = workflow_files(root)
    lines = [
        "# CI workflows",
        "",
        "<!-- Generated at build time by mlops/reference/workflows.py from .github/workflows/; "
        "not a file in docs/, do not edit. -->",
        "",
        "Every GitHub Actions workflow in `.github/workflows/`: what starts it, the permissions "
        "of its token, and each job with its runner, dependencies, deployment environment, "
        "permissions, timeout, concurrency group and the commands its steps run. The page is "
        "read from the workflow files when the site is built.",
        "",
    ]
    if not files:
        lines += ["This checkout has no workflow files: `.github/workflows/` "
                  + ("is empty." if (root / WORKFLOWS_DIR).is_dir() else "does not exist.")
                  + " The commands a CI system runs are in [Set up CI](../how-to/set-up-ci.md)."]
        return "\n".join(lines) + "\n"
    workflows = [read_workflow(path) for path in files]
    lines += ["## Workflows", ""]
    lines += table(["file", "name", "triggers", "jobs"],
                   [[f"[{code(w.file)}](#{slug(w.file)})", cell(w.name),
                     _triggers_md(w), str(len(w.jobs))] for w in workflows])
    for w in workflows:
        lines += ["", f"## {w.file}", "", f"**{text(w.name)}**", ""]
        lines += [f"- Triggers: {_triggers_md(w)}",
                  f"- Workflow permissions: {code(w.permissions) if w.permissions else 'not set'}"]
        if w.concurrency:
            lines.append(f"- Concurrency: {code(w.concurrency)}")
        lines += [""]
        lines += table(["job", "runs on", "needs", "environment", "permissions", "timeout (min)",
                        "concurrency"],
                       [[code(j.id) + (f" ({cell(j.name)})" if j.name else ""), cell(j.runs_on),
                         ", ".join(code(n) for n in j.needs) or "-",
                         code(j.environment) if j.environment else "-",
                         code(j.permissions) if j.permissions else "workflow's",
                         j.timeout or "none", code(j.concurrency) if j.concurrency else "-"]
                        for j in w.jobs])
        for j in w.jobs:
            lines += ["", f"### {w.file}: {j.id}", ""]
            if j.steps:
                lines += ["```text", *[s for step in j.steps for s in (step, "")][:-1], "```"]
            else:
                lines.append("No steps.")
    return "\n".join(lines) + "\n"
