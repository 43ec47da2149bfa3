"""Checks of GitHub Actions workflows, each a function from a workflow to its problems.

A workflow is read twice: parsed with PyYAML (YAML 1.1, where a bare ``on:`` key is the boolean
True, so :func:`load` moves it back to ``"on"``), and composed into nodes, so a value's style is
known (``python-version: 3.10`` is the float 3.1; ``"3.10"`` is the text). Every check returns a
list of one-line problems; an empty list means the workflow passes it.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / ".github" / "workflows"

# Events whose runs carry code or input from a pull request.
PULL_REQUEST_EVENTS = {"pull_request", "merge_group", "pull_request_review",
                       "pull_request_review_comment"}
# Events that run with the base repository's privileges on behalf of untrusted code.
DANGEROUS_EVENTS = {"pull_request_target", "workflow_run"}

SHA_PIN = re.compile(r"^[\w.-]+/[\w.-]+(?:/[\w./-]+)?@[0-9a-f]{40}$")
VERSION_COMMENT = re.compile(r"^v?\d+(?:\.\d+){0,2}(?:[-+][\w.]+)?$")
USES_LINE = re.compile(r"^\s*(?:-\s+)?uses:\s*(?P<ref>[^\s#]+)\s*(?:#\s*(?P<comment>\S+))?")
VERSION_KEY = re.compile(r"(?:^|[-_])version$", re.IGNORECASE)

# Commands that change a stack, its state or a registry.
PULUMI_CHANGE = re.compile(r"\bpulumi\s+(?:up|update|destroy|refresh|import|cancel|state|"
                           r"stack\s+rm)\b")
WRAPPED_CHANGE = re.compile(r"\b(?:make|mlops)\s+(?:[\w-]+=\S+\s+)*(?:up|destroy)\b")
DESTROY = re.compile(r"\bdestroy\b")
PROMOTE = re.compile(r"\bmlops\s+models\s+promote\b(?P<rest>[^\n|;&]*)")
DEPLOY = re.compile(r"\b(?:pulumi\s+up|(?:make|mlops)\s+(?:[\w-]+=\S+\s+)*up)\b")
# A command word: at the start of the script or after a separator, and followed by a blank.
MLOPS = re.compile(r"(?:^|(?<=[\s;&|(`]))(?:[\w./-]*/)?mlops(?=[ \t]|$)"
                   r"(?P<args>(?:[ \t]+[^\s;&|()<>`]+)*)", re.MULTILINE)
MAKE = re.compile(r"(?:^|(?<=[\s;&|(`]))make(?=[ \t]|$)(?P<args>(?:[ \t]+[^\s;&|()<>`]+)*)",
                  re.MULTILINE)
AWS_CREDENTIALS = "aws-actions/configure-aws-credentials"
CHECKOUT = "actions/checkout"


@dataclass(frozen=True)
class Workflow:
    """One workflow file: its name, its text, the parsed document and the composed nodes."""

    name: str
    text: str
    doc: dict[str, Any]
    node: yaml.Node

    @property
    def jobs(self) -> dict[str, dict[str, Any]]:
        jobs = self.doc.get("jobs") or {}
        return {str(k): v for k, v in jobs.items() if isinstance(v, dict)}


def load(text: str, name: str = "workflow.yml") -> Workflow:
    """Parse a workflow; YAML 1.1 reads the key ``on`` as True, so it is moved back."""
    doc = yaml.safe_load(text)
    if not isinstance(doc, dict):
        raise ValueError(f"{name}: not a mapping")
    if True in doc and "on" not in doc:
        doc["on"] = doc.pop(True)
    node = yaml.compose(text, Loader=yaml.SafeLoader)
    assert node is not None
    return Workflow(name=name, text=text, doc=doc, node=node)


def load_file(path: Path) -> Workflow:
    return load(path.read_text(encoding="utf-8"), path.name)


def real_workflows() -> list[Workflow]:
    return [load_file(p) for p in sorted(WORKFLOWS.glob("*.yml"))]


def triggers(wf: Workflow) -> set[str]:
    on = wf.doc.get("on")
    if isinstance(on, str):
        return {on}
    if isinstance(on, list):
        return {str(e) for e in on}
    if isinstance(on, dict):
        return {str(e) for e in on}
    return set()


def steps(job: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [s for s in job.get("steps") or [] if isinstance(s, dict)]


def script(step: Mapping[str, Any]) -> str:
    """A ``run:`` script with backslash continuations joined (one command per line)."""
    return re.sub(r"\\\n\s*", " ", str(step.get("run") or ""))


def uses(step: Mapping[str, Any]) -> str:
    return str(step.get("uses") or "")


def permissions_of(job: Mapping[str, Any]) -> Any:
    return job.get("permissions")


def grants(permissions: Any, scope: str, level: str = "write") -> bool:
    if permissions in ("write-all",) and level == "write":
        return True
    return isinstance(permissions, dict) and permissions.get(scope) == level


# --- the checks -------------------------------------------------------------------------------

def pull_requests_cannot_change_aws(wf: Workflow) -> list[str]:
    """A workflow that pull requests or the merge queue start runs no pulumi up, destroy or
    promotion, and gets no AWS credentials (no deploy role, no OIDC token)."""
    if not triggers(wf) & PULL_REQUEST_EVENTS:
        return []
    problems = []
    if grants(wf.doc.get("permissions"), "id-token"):
        problems.append(f"{wf.name}: id-token: write at the top of a pull-request workflow")
    for job_id, job in wf.jobs.items():
        where = f"{wf.name}: job {job_id}"
        if grants(permissions_of(job), "id-token"):
            problems.append(f"{where}: id-token: write (an OIDC token for a cloud role)")
        for step in steps(job):
            if uses(step).startswith(AWS_CREDENTIALS):
                problems.append(f"{where}: assumes an AWS role ({AWS_CREDENTIALS})")
            text = script(step)
            for pattern, what in ((PULUMI_CHANGE, "changes a stack"), (WRAPPED_CHANGE,
                                  "changes a stack"), (DESTROY, "destroys")):
                found = pattern.search(text)
                if found:
                    problems.append(f"{where}: {what}: {found.group(0)!r}")
            for found in PROMOTE.finditer(text):
                if "--dry-run" not in found.group("rest").split():
                    problems.append(f"{where}: promotes a model without --dry-run")
    return problems


def job_stack(job: Mapping[str, Any]) -> str | None:
    """The stack a job works on: its STACK variable, else a literal --stack/STACK= argument."""
    stack = (job.get("env") or {}).get("STACK")
    if isinstance(stack, str) and "${{" not in stack:
        return stack
    for step in steps(job):
        found = re.search(r"(?:--stack[ =]|STACK=)\"?([\w-]+)", script(step))
        if found:
            return found.group(1)
    return None


def environment_of(job: Mapping[str, Any]) -> str | None:
    env = job.get("environment")
    if isinstance(env, dict):
        env = env.get("name")
    return env if isinstance(env, str) else None


def deploy_jobs(wf: Workflow) -> dict[str, dict[str, Any]]:
    return {job_id: job for job_id, job in wf.jobs.items()
            if any(DEPLOY.search(script(s)) for s in steps(job))}


def needs_of(job: Mapping[str, Any]) -> list[str]:
    needs = job.get("needs") or []
    return [needs] if isinstance(needs, str) else [str(n) for n in needs]


def stages_are_gated(wf: Workflow) -> list[str]:
    """Each deploy job runs in its stack's environment, one at a time and never cancelled,
    on the commit of the run; prod needs staging, staging needs dev."""
    problems = []
    jobs = deploy_jobs(wf)
    by_stack = {job_stack(job): job_id for job_id, job in jobs.items()}
    for job_id, job in jobs.items():
        where = f"{wf.name}: job {job_id}"
        stack = job_stack(job)
        if stack is None:
            problems.append(f"{where}: deploys, but no stack can be read from it")
            continue
        if environment_of(job) != stack:
            problems.append(f"{where}: deploys {stack} outside its environment "
                            f"(environment: {environment_of(job)})")
        concurrency = job.get("concurrency")
        if not isinstance(concurrency, dict) or concurrency.get("cancel-in-progress") is not False:
            problems.append(f"{where}: needs concurrency with cancel-in-progress: false")
        for step in steps(job):
            if uses(step).startswith(CHECKOUT) and \
                    (step.get("with") or {}).get("ref") != "${{ github.sha }}":
                problems.append(f"{where}: checks out something other than ${{{{ github.sha }}}}")
    # prod always comes after staging; staging after dev where this workflow deploys dev.
    for stack, before in (("prod", "staging"), ("staging", "dev")):
        job_id = by_stack.get(stack)
        if job_id is None or (before == "dev" and "dev" not in by_stack):
            continue
        if by_stack.get(before) is None or by_stack[before] not in needs_of(jobs[job_id]):
            problems.append(f"{wf.name}: job {job_id} deploys {stack} without needs: {before}")
    return problems


def actions_are_pinned(wf: Workflow) -> list[str]:
    """Every ``uses:`` names a full 40-hex commit SHA and its version in a comment."""
    problems = []
    for number, line in enumerate(wf.text.splitlines(), start=1):
        found = USES_LINE.match(line)
        if not found:
            continue
        ref, comment = found.group("ref").strip("'\""), found.group("comment")
        if ref.startswith("./"):
            continue  # an action of this repository, at this commit
        if ref.startswith("docker://"):
            if "@sha256:" not in ref:
                problems.append(f"{wf.name}:{number}: {ref} is not pinned by digest")
            continue
        if not SHA_PIN.match(ref):
            problems.append(f"{wf.name}:{number}: {ref} is not pinned to a commit SHA")
        elif not comment or not VERSION_COMMENT.match(comment):
            problems.append(f"{wf.name}:{number}: {ref} has no '# vX.Y.Z' comment")
    return problems


def jobs_have_timeouts(wf: Workflow) -> list[str]:
    return [f"{wf.name}: job {job_id} has no timeout-minutes"
            for job_id, job in wf.jobs.items() if "timeout-minutes" not in job]


def _pairs(node: yaml.Node) -> Iterator[tuple[yaml.ScalarNode, yaml.Node]]:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode):
                yield key, value
            yield from _pairs(value)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            yield from _pairs(item)


NUMBER_TAGS = {"tag:yaml.org,2002:int", "tag:yaml.org,2002:float"}


def versions_are_quoted(wf: Workflow) -> list[str]:
    """A value under a key like ``version`` or ``python-version`` is text, never a YAML number
    (``3.10`` reads as 3.1)."""
    problems = []
    for key, value in _pairs(wf.node):
        if not VERSION_KEY.search(str(key.value)):
            continue
        items = value.value if isinstance(value, yaml.SequenceNode) else [value]
        for item in items:
            if isinstance(item, yaml.ScalarNode) and item.tag in NUMBER_TAGS:
                problems.append(f"{wf.name}:{item.start_mark.line + 1}: {key.value}: "
                                f"{item.value} is a number; quote it")
    return problems


def no_dangerous_triggers(wf: Workflow) -> list[str]:
    problems = [f"{wf.name}: triggered by {event}" for event in sorted(triggers(wf) &
                                                                       DANGEROUS_EVENTS)]
    if "pull_request_target" in wf.text and not problems:
        problems.append(f"{wf.name}: mentions pull_request_target")
    return problems


def top_permissions_are_empty(wf: Workflow) -> list[str]:
    permissions = wf.doc.get("permissions", "absent")
    return [] if permissions == {} else [
        f"{wf.name}: top-level permissions must be {{}} (got {permissions!r})"]


def checkouts_keep_no_credentials(wf: Workflow) -> list[str]:
    problems = []
    for job_id, job in wf.jobs.items():
        for step in steps(job):
            if uses(step).startswith(CHECKOUT):
                value = (step.get("with") or {}).get("persist-credentials")
                if value is not False and str(value).lower() != "false":
                    problems.append(f"{wf.name}: job {job_id}: checkout without "
                                    "persist-credentials: false")
    return problems


def _words(args: str) -> list[str]:
    try:
        return shlex.split(args, comments=True)
    except ValueError:
        return args.split()


def mlops_commands_exist(wf: Workflow, cli: Any) -> list[str]:
    """Each ``mlops a b ...`` a step runs names a command of the CLI, with its options."""
    problems = []
    for job_id, job in wf.jobs.items():
        for step in steps(job):
            for found in MLOPS.finditer(script(step)):
                words = _words(found.group("args"))
                command, path = cli, ["mlops"]
                while words and hasattr(command, "commands") and not words[0].startswith("-"):
                    sub = command.commands.get(words[0])
                    if sub is None:
                        problems.append(f"{wf.name}: job {job_id}: `{' '.join(path)} "
                                        f"{words[0]}` is no command of the CLI")
                        break
                    command, path, words = sub, [*path, words[0]], words[1:]
                else:
                    if hasattr(command, "commands"):
                        problems.append(f"{wf.name}: job {job_id}: `{' '.join(path)}` is a "
                                        "group, not a command")
                        continue
                    known = {o for p in command.params for o in (*p.opts, *p.secondary_opts)}
                    for word in words:
                        option = word.split("=", 1)[0]
                        if option.startswith("--") and option not in known | {"--help"}:
                            problems.append(f"{wf.name}: job {job_id}: `{' '.join(path)}` has "
                                            f"no option {option}")
    return problems


def make_targets(makefile: str) -> set[str]:
    return {m.group(1) for m in re.finditer(r"^([a-zA-Z][\w-]*):(?!=)", makefile, re.MULTILINE)}


def make_targets_exist(wf: Workflow, targets: set[str]) -> list[str]:
    """Each ``make X`` a step runs names a target of the Makefile."""
    problems = []
    for job_id, job in wf.jobs.items():
        for step in steps(job):
            for found in MAKE.finditer(script(step)):
                for word in _words(found.group("args")):
                    if word.startswith("-") or "=" in word:
                        continue
                    if word not in targets:
                        problems.append(f"{wf.name}: job {job_id}: make has no target {word}")
    return problems


def runs_only_make_or_mlops(wf: Workflow) -> list[str]:
    """The project's own work is done through ``make`` or ``mlops``: no step calls pytest,
    pulumi, checkov, pip or python directly (the glue may use gh, git, jq and coreutils)."""
    direct = re.compile(r"(?:^|(?<=[\s;&|(`]))(?:[\w./-]*/)?(pytest|pulumi|checkov|pip3?|python3?"
                        r"(?:\.\d+)?|ruff|mypy|zizmor|check-jsonschema)\b")
    problems = []
    for job_id, job in wf.jobs.items():
        for step in steps(job):
            text = MLOPS.sub("mlops", MAKE.sub("make", script(step)))  # their arguments are ours
            for found in direct.finditer(text):
                problems.append(f"{wf.name}: job {job_id}: runs {found.group(1)} directly")
    return problems


CHECKS = [pull_requests_cannot_change_aws, stages_are_gated, actions_are_pinned,
          jobs_have_timeouts, versions_are_quoted, no_dangerous_triggers,
          top_permissions_are_empty, checkouts_keep_no_credentials, runs_only_make_or_mlops]
