"""Platform rules over a rendered pipeline definition.

Step types, field paths, the walk over steps and the reading of expressions come from
``common.pipeline_definition`` (shared with the policy pack); this module holds what the
platform demands of them. Every finding names the project, the step and the field. Values are
literals or pipeline expressions (``Get``, ``Std:Join``); a check accepts an expression only
when it provably stays inside the rule (e.g. a ``Std:Join`` whose literal start is inside this
environment's buckets, or a reference to another step's output that is itself checked).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from common.pipeline_definition import (
    STEP_FIELDS,
    Definition,
    Resolved,
    Source,
    Step,
    known_prefix,
    read_definition,
    s3_bucket,
)
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


def _literal(value: Resolved) -> str | int | float | None:
    raw = value.value if value.literal else None
    return raw if isinstance(raw, (str, int, float)) and not isinstance(raw, bool) else None


def _written(part: Resolved) -> bool:
    """Part of a value fixed in the definition: parameters and execution variables are not."""
    return part.literal and part.value is not None


class _Checker:
    """The platform's checks of one step, bound to the project context."""

    def __init__(self, ctx: ProjectContext, definition: Definition, step: Step) -> None:
        self.ctx, self.definition, self.step = ctx, definition, step
        self.buckets = {s3_bucket(uri) for uri in ctx.buckets.values()}

    def finding(self, field: str, message: str) -> Finding:
        return Finding(self.ctx.project, self.step.name, field, message)

    def key(self, field: str) -> Iterator[Finding]:
        value = self.step.get(field)
        allowed = {self.ctx.kms_key_arn, self.ctx.kms_key_arn.split(":", 5)[-1]}
        if value is None:
            yield self.finding(self.step.path(field), "not set; encrypt with the environment "
                                                      f"key ({self.ctx.kms_key_arn})")
        elif value not in allowed:
            yield self.finding(self.step.path(field), f"{_short(value)} is not the environment "
                                                      f"key ({self.ctx.kms_key_arn})")

    def output(self, field: str, raw: Any) -> Iterator[Finding]:
        value = self.definition.resolve(raw)
        text, stop = known_prefix(value, _written)
        if stop is None and not (isinstance(value.value, str) and value.value):
            yield self.finding(field, f"output location is not an S3 URI ({_json(raw)})")
            return
        if stop is not None and stop.source is Source.STEP and not text:
            return  # another step's output: checked on that step
        bucket = s3_bucket(text, complete=stop is None)
        if bucket is None and stop is not None:
            reason = (f"comes from {stop.reference}, which can point anywhere at execution"
                      if stop.reference else f"is not an S3 URI ({_json(stop.raw)})")
            yield self.finding(field, f"output location {reason}")
        elif bucket not in self.buckets:
            yield self.finding(field, f"{text} is outside this environment's buckets")

    def role(self, field: str) -> Iterator[Finding]:
        value = self.step.get(field)
        if value != self.ctx.role_arn:
            yield self.finding(self.step.path(field), f"{_short(value)} is not the platform "
                                                      f"role ({self.ctx.role_arn})")

    def instance_type(self, field: str) -> Iterator[Finding]:
        raw = self.step.get(field)
        value = _literal(self.definition.resolve(raw))
        if value is None:
            yield self.finding(self.step.path(field), f"{_short(raw)} must be a literal instance "
                                                      "type (a parameter can be overridden at "
                                                      "execution)")
        elif value not in self.ctx.allowed_instance_types:
            yield self.finding(self.step.path(field),
                               f"{value} is not allowed in stack {self.ctx.stack} "
                               f"(allowed: {', '.join(self.ctx.allowed_instance_types)})")

    def runtime(self, field: str) -> Iterator[Finding]:
        value = self.step.get(field)
        limit = self.ctx.runtime_limit_seconds
        if value is None:
            yield self.finding(self.step.path(field), f"not set; set a max runtime <= {limit} s")
        elif not isinstance(value, int) or isinstance(value, bool):
            yield self.finding(self.step.path(field),
                               f"{_short(value)} must be a literal number of seconds")
        elif value > limit:
            yield self.finding(self.step.path(field),
                               f"{value} s exceeds the limit of stack {self.ctx.stack} ({limit} s)")

    def environment(self, field: str, env: Any) -> Iterator[Finding]:
        if not isinstance(env, dict):
            return
        for name, value in sorted(env.items()):
            if SECRET_NAME.search(name):
                yield self.finding(f"{field}.{name}", "looks like a secret; read secrets from "
                                   "AWS Secrets Manager at run time, never from the definition")
            elif isinstance(value, str) and SECRET_VALUE.search(value):
                yield self.finding(f"{field}.{name}", "value looks like a credential or key")

    def package_group(self, field: str, value: Any) -> Iterator[Finding]:
        if value != self.ctx.model_package_group:
            yield self.finding(field, f"{_short(value)} is not the project's package group "
                                      f"({self.ctx.model_package_group})")

    def check(self) -> Iterator[Finding]:
        """Every rule the step's type is subject to, in a stable order."""
        fields, step, ctx = self.step.fields, self.step, self.ctx
        assert fields is not None
        if fields.role:
            yield from self.role(fields.role)
        if fields.instance_type:
            yield from self.instance_type(fields.instance_type)
        if fields.volume_kms_key:
            yield from self.key(fields.volume_kms_key)
        if fields.output_kms_key and step.needs_output_key:
            yield from self.key(fields.output_kms_key)
        for field, raw in step.values(fields.outputs):
            yield from self.output(field, raw)
        if fields.max_runtime:
            yield from self.runtime(fields.max_runtime)
        if fields.network_isolation and ctx.network_isolation \
                and step.get(fields.network_isolation) is not True:
            yield self.finding(step.path(fields.network_isolation),
                               f"must be true in {ctx.environment} (training runs "
                               "network-isolated)")
        if fields.package_group:
            yield from self.package_group(step.path(fields.package_group),
                                          step.get(fields.package_group))
        if fields.approval_status:
            status = step.get(fields.approval_status)
            if status != PENDING:
                yield self.finding(step.path(fields.approval_status),
                                   f"{_short(status)} must be {PENDING} (approval is a "
                                   "person's decision)")
        for field, env in step.values(fields.environment):
            yield from self.environment(field, env)
        # Baselines are read from (and registered in) this group: it must be the project's.
        if fields.baseline_group and step.raw.get(fields.baseline_group) is not None:
            yield from self.package_group(fields.baseline_group, step.raw[fields.baseline_group])


def _json(value: Any) -> str:
    return json.dumps(value)[:80]


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value)
    return text if len(text) <= 90 else text[:87] + "..."


def check_definition(definition: str | dict[str, Any], ctx: ProjectContext) -> list[Finding]:
    """Every rule broken by a rendered definition, in step order. Step types the platform
    cannot vouch for (anything ``common.pipeline_definition`` does not know) are refused."""
    data = json.loads(definition) if isinstance(definition, str) else definition
    reader = read_definition(data)
    findings: list[Finding] = []
    for step in reader.steps:
        if step.fields is None:
            findings.append(Finding(ctx.project, step.name, "Type",
                                    f"step type {step.type} is not supported by the platform "
                                    f"rules (supported: {', '.join(sorted(STEP_FIELDS))})"))
            continue
        findings.extend(_Checker(ctx, reader, step).check())
    return findings
