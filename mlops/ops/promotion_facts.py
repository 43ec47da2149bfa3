"""A promotion's facts, gathered with I/O: what :mod:`mlops.ops.promotion_plan` plans from.

The source package and the check of its artifact, the target environment's names and promotion
settings, the project's alarms in the source stack, a target package already promoted from the
source (with its artifact, audit record and pin), the operator and the commit. A check that
fails with an error is kept as that error (:class:`~mlops.ops.promotion_plan.Checked`): the gate
that needs it fails with it, never the command.
"""

from __future__ import annotations

from pathlib import Path

from infra.projects.discover import project_names
from mlops.ops import artifacts, audit
from mlops.ops.aws import AwsClients
from mlops.ops.environment import Env, KeyedEnv, environment, load_project
from mlops.ops.packages import PackageStore
from mlops.ops.pins import is_pinned
from mlops.ops.promotion_plan import Checked, Promoted, PromotionFacts, TargetFacts, audit_id
from mlops.ops.provenance import git_commit, operator
from mlops.ops.versions import ModelVersion, to_version

SOURCE_KEY = "mlops:sourcePackageArn"


def firing_alarms(env: Env, project: str, projects: list[str]) -> list[str]:
    """The project's alarms (``<stem>-<project>-*``) in ALARM, not those of a project whose name
    extends this one (``churn`` must not see ``churn-v2``'s alarms)."""
    base = f"{env.naming.stem}-{project}"
    others = tuple(f"{env.naming.stem}-{p}-" for p in projects
                   if p != project and p.startswith(f"{project}-"))
    firing: list[str] = []
    pages = env.client("cloudwatch").get_paginator("describe_alarms").paginate(
        AlarmNamePrefix=base)
    for page in pages:
        for alarm in page.get("MetricAlarms", []) + page.get("CompositeAlarms", []):
            name = str(alarm["AlarmName"])
            mine = (name == base or name.startswith(f"{base}-")) and not name.startswith(others)
            if mine and alarm.get("StateValue") == "ALARM":
                firing.append(name)
    return sorted(firing)


def find_promoted(env: KeyedEnv, group: str, source: ModelVersion,
                  pins_root: Path | None) -> Promoted | None:
    """The target package promoted from ``source`` (lowest version), with its artifact checked,
    its audit record looked up, and (with ``pins_root``) whether the stack file pins it."""
    found = PackageStore(env, group).find(SOURCE_KEY, source.arn)
    if not found:
        return None
    package = to_version(env.stack, source.project, found[0])
    s3 = env.client("s3")
    return Promoted(
        package=package,
        artifact=Checked.of(lambda: artifacts.check(s3, package.artifact, source.sha256)),
        audit_key=audit.find_record(s3, env.audit_target(), source.project,
                                    audit_id(group, source.arn)),
        pinned=pins_root is not None and is_pinned(pins_root, env.stack, source.project,
                                                   package.version, package.arn,
                                                   package.artifact or None, source.sha256),
    )


def gather_facts(root: Path, project: str, version: int, source: str, target: str, *,
                 aws: AwsClients | None = None,
                 pins_root: Path | None = None) -> tuple[PromotionFacts, KeyedEnv]:
    """The facts a promotion plan is made from, and the target environment to apply it in.

    Raises UsageError (NotProvisioned) when either environment lacks what a promotion needs.
    ``pins_root``: where the stack files to pin are (None: not pinning).
    """
    proj = load_project(root, project)
    src = environment(root, source, aws)
    dst = environment(root, target, aws)
    src_store = PackageStore(src, src.require_group(proj))
    dst.require_bucket()
    group = dst.require_group(proj)
    keyed = dst.with_key()
    s3 = src.client("s3")
    pkg = to_version(source, project, src_store.describe_version(project, version), s3)
    settings = dst.settings.promotion
    facts = PromotionFacts(
        project=project,
        source_stack=source,
        source=pkg,
        target=TargetFacts(stack=target, tier=dst.tier, bucket=dst.bucket,
                           key_alias=dst.naming.key_alias, group=group,
                           allow_from=tuple(settings.allow_from),
                           auto_approve=settings.auto_approve),
        metric=proj.model.approval.metric,
        threshold=proj.model.threshold_for(target, dst.tier),
        artifact_check=Checked.of(lambda: artifacts.check(s3, pkg.artifact, pkg.sha256)),
        firing_alarms=Checked.of(lambda: firing_alarms(src, project, project_names(root))),
        alarm_prefix=f"{src.naming.stem}-{project}-",
        promoted=find_promoted(keyed, group, pkg, pins_root),
        operator=operator(dst.aws),
        git_commit=git_commit(root),
    )
    return facts, keyed
