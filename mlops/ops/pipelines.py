"""Day-2 operations on project pipelines through boto3: render, diff, submit, status.

Every AWS call goes through ``aws_client``, which builds its clients with ``mlops.ops.aws`` (the
standard AWS environment as botocore resolves it, ``--endpoint-url`` when given, bounded adaptive
retries), so the same code works against AWS and the local sandbox. Rendering itself never
calls AWS (see infra/projects/render.py).
"""

from __future__ import annotations

import difflib
import hashlib
import json
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infra.config import Settings
from infra.naming import Naming
from infra.projects.context import ProjectContext
from infra.projects.loader import Project, context_for, load_project
from infra.projects.platform_code import platform_code_files
from infra.projects.render import pretty, render
from infra.projects.rules import Finding, check_definition
from infra.projects.stack import with_key_arn
from mlops.errors import UsageError
from mlops.offline.cloud import DEFAULT_ACCOUNT
from mlops.offline.runtime import load_settings

TERMINAL = {"Succeeded", "Failed", "Stopped"}


def aws_client(service: str, region: str, endpoint_url: str | None = None) -> Any:
    """A client of the stack's region; ``endpoint_url`` overrides the environment's endpoint."""
    from mlops.ops.aws import AwsClients

    return AwsClients(region=region, endpoint_url=endpoint_url).client(service)


@dataclass(frozen=True)
class Prepared:
    """A project rendered for one stack."""

    project: Project
    settings: Settings
    naming: Naming
    context: ProjectContext
    definition: str
    findings: list[Finding]


def naming_for(settings: Settings, stack: str, account_id: str | None = None) -> Naming:
    account = settings.account_id or account_id or DEFAULT_ACCOUNT
    return Naming(prefix=settings.name_prefix, stack=stack, account_id=account,
                  region=settings.region)


def prepare(root: Path, name: str, stack: str, account_id: str | None = None,
            use_cache: bool = True) -> Prepared:
    """Settings, manifest, context, rendered definition and rule findings (no AWS calls)."""
    settings, _ = load_settings(root, stack)
    naming = naming_for(settings, stack, account_id)
    project = load_project(root, name)
    ctx = context_for(project, settings, naming)
    definition = render(project, ctx, root, use_cache=use_cache)
    return Prepared(project, settings, naming, ctx, definition, check_definition(definition, ctx))


def environment_key_arn(kms: Any, ctx: ProjectContext) -> str | None:
    """The ARN of the key the environment's alias points at; None when there is no such alias."""
    from mlops.ops.aws import is_not_found

    try:
        return str(kms.describe_key(KeyId=ctx.kms_key_arn)["KeyMetadata"]["Arn"])
    except Exception as exc:
        if is_not_found(exc):
            return None
        raise


def deployable(prepared: Prepared, key_arn: str) -> str:
    """The definition as deployed: the environment key by its ARN, not its alias."""
    return with_key_arn(prepared.definition, prepared.context, key_arn)


def caller_account(region: str, endpoint_url: str | None) -> str:
    return str(aws_client("sts", region, endpoint_url).get_caller_identity()["Account"])


def deployed_definition(sm: Any, pipeline_name: str) -> str | None:
    """The definition SageMaker holds for ``pipeline_name`` (None when it does not exist)."""
    from mlops.ops.aws import is_not_found

    try:
        response = sm.describe_pipeline(PipelineName=pipeline_name)
    except Exception as exc:
        if is_not_found(exc):
            return None
        raise
    return str(response.get("PipelineDefinition") or "")


def unified_diff(deployed: str | None, rendered: str, name: str) -> str:
    """A readable unified diff of pretty JSON; empty when equal."""
    before = pretty(deployed).splitlines(keepends=True) if deployed else []
    after = pretty(rendered).splitlines(keepends=True)
    return "".join(difflib.unified_diff(
        before, after, fromfile=f"deployed/{name}" if deployed else "/dev/null",
        tofile=f"rendered/{name}"))


def upload_code(s3: Any, prepared: Prepared) -> list[str]:
    """Put the project's code/ files and the platform's shared step code at their
    content-addressed prefixes; returns the new URIs.

    Each prefix is named by the hash of its files, so an object already there (from an earlier
    submit or from ``pulumi up``) has this content: it is skipped."""
    from mlops.ops.aws import error_code, is_not_found

    ctx = prepared.context
    shared = platform_code_files()
    code = prepared.project.path / "code"
    files = [(ctx.code(path.relative_to(code).as_posix()), path)
             for path in prepared.project.code_files]
    files += [(ctx.platform_code(shared.relative(path)), path) for path in shared.files]
    uploaded = []
    for uri, path in files:
        bucket, key = uri.removeprefix("s3://").split("/", 1)
        try:
            s3.head_object(Bucket=bucket, Key=key)
            continue
        except Exception as exc:  # absent (404; 403 without s3:ListBucket): upload it
            if not (is_not_found(exc) or error_code(exc) in ("403", "AccessDenied")):
                raise
        body = path.read_bytes()
        s3.put_object(Bucket=bucket, Key=key, Body=body, ServerSideEncryption="aws:kms",
                      SSEKMSKeyId=ctx.kms_key_arn,
                      Metadata={"sha256": hashlib.sha256(body).hexdigest()})
        uploaded.append(f"s3://{bucket}/{key}")
    return uploaded


@dataclass(frozen=True)
class Submission:
    pipeline_arn: str
    action: str  # created | updated | unchanged
    execution_arn: str | None
    uploaded: list[str]


def upsert_pipeline(sm: Any, prepared: Prepared, definition: str) -> tuple[str, str]:
    """Create or update the pipeline with ``definition``; (arn, created|updated|unchanged)."""
    ctx = prepared.context
    m = prepared.project.manifest
    current = deployed_definition(sm, ctx.pipeline_name)
    common = dict(PipelineName=ctx.pipeline_name, PipelineDisplayName=ctx.pipeline_name,
                  PipelineDefinition=definition, RoleArn=ctx.role_arn,
                  PipelineDescription=(m.pipeline.description or m.description)[:3072])
    if current is None:
        arn = sm.create_pipeline(
            **common, Tags=[{"Key": "mlops:project", "Value": ctx.project},
                            {"Key": "mlops:owner", "Value": m.owner}])["PipelineArn"]
        return arn, "created"
    if json.loads(current) == json.loads(definition):
        return sm.describe_pipeline(PipelineName=ctx.pipeline_name)["PipelineArn"], "unchanged"
    return sm.update_pipeline(**common)["PipelineArn"], "updated"


def submit(prepared: Prepared, endpoint_url: str | None, start: bool = True) -> Submission:
    """Upload code, upsert the pipeline and start an execution (dev-like stacks only)."""
    stack = prepared.naming.stack
    if not prepared.settings.allow_direct_submit:
        raise UsageError(
            f"stack {stack} does not allow direct submission (mlops:allowDirectSubmit is false); "
            f"deployments to {stack} go through `pulumi up` (make up STACK={stack})")
    if prepared.findings:
        raise UsageError(f"{prepared.findings[0]} (fix the platform rule findings first: "
                         f"mlops pipelines validate {prepared.project.name} --stack {stack})")
    region = prepared.settings.region
    key_arn = environment_key_arn(aws_client("kms", region, endpoint_url), prepared.context)
    if key_arn is None:
        raise UsageError(f"{prepared.context.kms_key_arn} does not exist here: deploy stack "
                         f"{stack} first (make up STACK={stack}, or mlops sandbox up)")
    uploaded = upload_code(aws_client("s3", region, endpoint_url), prepared)
    sm = aws_client("sagemaker", region, endpoint_url)
    arn, action = upsert_pipeline(sm, prepared, deployable(prepared, key_arn))
    execution = None
    if start:
        execution = sm.start_pipeline_execution(
            PipelineName=prepared.context.pipeline_name,
            PipelineExecutionDescription=f"mlops pipelines submit ({stack})",
        )["PipelineExecutionArn"]
    return Submission(arn, action, execution, uploaded)


def step_progress(sm: Any, execution_arn: str) -> str | None:
    """Step counts by status, e.g. ``2 succeeded, 1 executing``; None where the endpoint does
    not implement ListPipelineExecutionSteps (the moto sandbox)."""
    from botocore.exceptions import ClientError

    try:
        steps = sm.list_pipeline_execution_steps(
            PipelineExecutionArn=execution_arn)["PipelineExecutionSteps"]
    except NotImplementedError:
        return None
    except ClientError as exc:
        if "not been implemented" in str(exc) or exc.response.get("Error", {}).get("Code") in (
                "NotImplemented", "InternalFailure"):
            return None
        raise
    counts = Counter(str(s.get("StepStatus", "Unknown")).lower() for s in steps)
    return ", ".join(f"{n} {status}" for status, n in sorted(counts.items())) or "no steps yet"


def wait_for(sm: Any, execution_arn: str, timeout: float,
             on_status: Callable[[str], None] | None = None, poll: float = 5.0) -> str:
    """Poll an execution until it ends or ``timeout`` seconds pass; returns the last status.

    ``on_status`` gets the status, with step progress while the execution runs."""
    deadline = time.monotonic() + timeout
    progress_supported = True
    while True:
        status = str(sm.describe_pipeline_execution(
            PipelineExecutionArn=execution_arn)["PipelineExecutionStatus"])
        shown = status
        if progress_supported and status not in TERMINAL:
            progress = step_progress(sm, execution_arn)
            progress_supported = progress is not None
            shown = f"{status} ({progress})" if progress else status
        if on_status:
            on_status(shown)
        if status in TERMINAL or time.monotonic() >= deadline:
            return status
        time.sleep(poll)


def executions(sm: Any, pipeline_name: str, limit: int = 10) -> list[dict[str, Any]]:
    """The last executions, newest first."""
    response = sm.list_pipeline_executions(PipelineName=pipeline_name, SortBy="CreationTime",
                                           SortOrder="Descending", MaxResults=limit)
    return list(response.get("PipelineExecutionSummaries") or [])[:limit]
