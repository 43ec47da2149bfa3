"""Platform rules over a rendered pipeline definition.

A dispatch table maps each step type to its checks; every finding names the project, the step
and the field. Values in a definition are literals or pipeline expressions (``Get``,
``Std:Join``); a check accepts an expression only when it provably stays inside the rule
(e.g. a ``Std:Join`` whose first part is a literal inside this environment's buckets, or a
reference to another step's output that is itself checked).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from infra.projects.context import ProjectContext

SECRET_NAME = re.compile(
    r"(secret|passw(or)?d|passwd|token|api_?key|access_?key|private_?key|credential|auth)",
    re.IGNORECASE,
)
SECRET_VALUE = re.compile(
    r"(AKIA|ASIA)[0-9A-Z]{16}|-----BEGIN [A-Z ]*PRIVATE KEY-----|^[A-Za-z0-9/+]{40}$"
)
PENDING = "PendingManualApproval"


@dataclass(frozen=True)
class Finding:
    """A broken platform rule in one step of one project."""

    project: str
    step: str
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.project}: step {self.step}: {self.field}: {self.message}"


Check = Callable[[ProjectContext, str, dict[str, Any]], Iterator[Finding]]


def _get(args: dict[str, Any], path: str) -> Any:
    node: Any = args
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _literal(value: Any) -> str | int | float | None:
    return value if isinstance(value, (str, int, float)) and not isinstance(value, bool) else None


def _uri_prefix(value: Any) -> tuple[str | None, str | None]:
    """(literal prefix, None) or (None, reason) for an S3 URI value or expression."""
    if isinstance(value, str):
        return value, None
    if isinstance(value, dict):
        if "Std:Join" in value:
            values = value["Std:Join"].get("Values") or []
            return _uri_prefix(values[0]) if values else (None, "an empty Join")
        get = value.get("Get")
        if isinstance(get, str) and get.startswith("Steps."):
            return "", None  # another step's output: checked on that step
        if isinstance(get, str):
            return None, f"comes from {get}, which can point anywhere at execution"
    return None, f"is not an S3 URI ({json.dumps(value)[:80]})"


def _in_buckets(ctx: ProjectContext, uri: str) -> bool:
    if uri == "":
        return True
    return any(uri == b or uri.startswith(b + "/") for b in ctx.buckets.values())


class _Checker:
    """Small helpers bound to one project, step and context."""

    def __init__(self, ctx: ProjectContext, step: str, args: dict[str, Any]) -> None:
        self.ctx, self.step, self.args = ctx, step, args

    def finding(self, field: str, message: str) -> Finding:
        return Finding(self.ctx.project, self.step, field, message)

    def key(self, field: str) -> Iterator[Finding]:
        value = _get(self.args, field)
        allowed = {self.ctx.kms_key_arn, self.ctx.kms_key_arn.split(":", 5)[-1]}
        if value is None:
            yield self.finding(field, "not set; encrypt with the environment key "
                                      f"({self.ctx.kms_key_arn})")
        elif value not in allowed:
            yield self.finding(field, f"{_short(value)} is not the environment key "
                                      f"({self.ctx.kms_key_arn})")

    def output(self, field: str, value: Any) -> Iterator[Finding]:
        prefix, reason = _uri_prefix(value)
        if prefix is None:
            yield self.finding(field, f"output location {reason}")
        elif not _in_buckets(self.ctx, prefix):
            yield self.finding(field, f"{prefix} is outside this environment's buckets")

    def role(self, field: str) -> Iterator[Finding]:
        value = _get(self.args, field)
        if value != self.ctx.role_arn:
            yield self.finding(field, f"{_short(value)} is not the platform role "
                                      f"({self.ctx.role_arn})")

    def instance_type(self, field: str) -> Iterator[Finding]:
        value = _get(self.args, field)
        if _literal(value) is None:
            yield self.finding(field, f"{_short(value)} must be a literal instance type "
                                      "(a parameter can be overridden at execution)")
        elif value not in self.ctx.allowed_instance_types:
            yield self.finding(field, f"{value} is not allowed in stack {self.ctx.stack} "
                                      f"(allowed: {', '.join(self.ctx.allowed_instance_types)})")

    def runtime(self, field: str) -> Iterator[Finding]:
        value = _get(self.args, field)
        limit = self.ctx.runtime_limit_seconds
        if value is None:
            yield self.finding(field, f"not set; set a max runtime <= {limit} s")
        elif not isinstance(value, int) or isinstance(value, bool):
            yield self.finding(field, f"{_short(value)} must be a literal number of seconds")
        elif value > limit:
            yield self.finding(field, f"{value} s exceeds the limit of stack {self.ctx.stack} "
                                      f"({limit} s)")

    def environment(self, field: str, value: Any = None) -> Iterator[Finding]:
        env = (value if value is not None else _get(self.args, field)) or {}
        if not isinstance(env, dict):
            return
        for name, value in sorted(env.items()):
            if SECRET_NAME.search(name):
                yield self.finding(f"{field}.{name}", "looks like a secret; read secrets from "
                                   "AWS Secrets Manager at run time, never from the definition")
            elif isinstance(value, str) and SECRET_VALUE.search(value):
                yield self.finding(f"{field}.{name}", "value looks like a credential or key")


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value)
    return text if len(text) <= 90 else text[:87] + "..."


def _processing(ctx: ProjectContext, step: str, args: dict[str, Any]) -> Iterator[Finding]:
    c = _Checker(ctx, step, args)
    yield from c.role("RoleArn")
    yield from c.instance_type("ProcessingResources.ClusterConfig.InstanceType")
    yield from c.key("ProcessingResources.ClusterConfig.VolumeKmsKeyId")
    outputs = _get(args, "ProcessingOutputConfig.Outputs") or []
    if outputs:
        yield from c.key("ProcessingOutputConfig.KmsKeyId")
    for i, out in enumerate(outputs):
        if isinstance(out, dict) and "S3Output" in out:
            yield from c.output(f"ProcessingOutputConfig.Outputs[{i}].S3Output.S3Uri",
                                out["S3Output"].get("S3Uri"))
    yield from c.runtime("StoppingCondition.MaxRuntimeInSeconds")
    yield from c.environment("Environment")


def _training(ctx: ProjectContext, step: str, args: dict[str, Any]) -> Iterator[Finding]:
    c = _Checker(ctx, step, args)
    yield from c.role("RoleArn")
    yield from c.instance_type("ResourceConfig.InstanceType")
    yield from c.key("ResourceConfig.VolumeKmsKeyId")
    yield from c.key("OutputDataConfig.KmsKeyId")
    yield from c.output("OutputDataConfig.S3OutputPath", _get(args, "OutputDataConfig.S3OutputPath"))
    if _get(args, "CheckpointConfig.S3Uri") is not None:
        yield from c.output("CheckpointConfig.S3Uri", _get(args, "CheckpointConfig.S3Uri"))
    yield from c.runtime("StoppingCondition.MaxRuntimeInSeconds")
    if ctx.network_isolation and args.get("EnableNetworkIsolation") is not True:
        yield c.finding("EnableNetworkIsolation",
                        f"must be true in {ctx.environment} (training runs network-isolated)")
    yield from c.environment("Environment")


def _transform(ctx: ProjectContext, step: str, args: dict[str, Any]) -> Iterator[Finding]:
    c = _Checker(ctx, step, args)
    yield from c.instance_type("TransformResources.InstanceType")
    yield from c.key("TransformResources.VolumeKmsKeyId")
    yield from c.key("TransformOutput.KmsKeyId")
    yield from c.output("TransformOutput.S3OutputPath", _get(args, "TransformOutput.S3OutputPath"))
    yield from c.environment("Environment")


def _model(ctx: ProjectContext, step: str, args: dict[str, Any]) -> Iterator[Finding]:
    c = _Checker(ctx, step, args)
    yield from c.role("ExecutionRoleArn")
    yield from c.environment("PrimaryContainer.Environment")


def _register(ctx: ProjectContext, step: str, args: dict[str, Any]) -> Iterator[Finding]:
    c = _Checker(ctx, step, args)
    group = args.get("ModelPackageGroupName")
    if group != ctx.model_package_group:
        yield c.finding("ModelPackageGroupName",
                        f"{_short(group)} is not the project's package group "
                        f"({ctx.model_package_group})")
    status = args.get("ModelApprovalStatus")
    if status != PENDING:
        yield c.finding("ModelApprovalStatus", f"{_short(status)} must be {PENDING} "
                                               "(approval is a person's decision)")
    containers = _get(args, "InferenceSpecification.Containers") or []
    for i, container in enumerate(containers):
        yield from c.environment(f"InferenceSpecification.Containers[{i}].Environment",
                                 container.get("Environment") or {})


def _no_checks(ctx: ProjectContext, step: str, args: dict[str, Any]) -> Iterator[Finding]:
    return iter(())


# Step type -> checks. Types not listed are refused: the platform cannot vouch for them.
# QualityCheck / ClarifyCheck steps run processing jobs: their Arguments are processing requests.
RULES: dict[str, Check] = {
    "Processing": _processing,
    "QualityCheck": _processing,
    "ClarifyCheck": _processing,
    "Training": _training,
    "Transform": _transform,
    "Model": _model,
    "RegisterModel": _register,
    "Condition": _no_checks,  # its IfSteps/ElseSteps are checked as steps
    "Fail": _no_checks,
}


def _steps(steps: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for step in steps:
        yield step
        if step.get("Type") == "Condition":
            args = step.get("Arguments") or {}
            yield from _steps(args.get("IfSteps") or [])
            yield from _steps(args.get("ElseSteps") or [])


def check_definition(definition: str | dict[str, Any], ctx: ProjectContext) -> list[Finding]:
    """Every rule broken by a rendered definition, in step order."""
    data = json.loads(definition) if isinstance(definition, str) else definition
    findings: list[Finding] = []
    for step in _steps(data.get("Steps") or []):
        name, kind = str(step.get("Name")), str(step.get("Type"))
        check = RULES.get(kind)
        if check is None:
            findings.append(Finding(ctx.project, name, "Type",
                                    f"step type {kind} is not supported by the platform rules "
                                    f"(supported: {', '.join(sorted(RULES))})"))
            continue
        findings.extend(check(ctx, name, step.get("Arguments") or {}))
        if kind in ("QualityCheck", "ClarifyCheck"):
            # Baselines are read from (and registered in) this group: it must be the project's.
            group = step.get("ModelPackageGroupName")
            if group not in (None, ctx.model_package_group):
                findings.append(Finding(ctx.project, name, "ModelPackageGroupName",
                                        f"{_short(group)} is not the project's package group "
                                        f"({ctx.model_package_group})"))
    return findings
