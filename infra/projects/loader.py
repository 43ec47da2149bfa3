"""Load the projects of a platform and build each project's per-stack context.

Everything here is cheap (no SageMaker SDK): manifests, content hashes, the feature-group
replacement guard and the context's deterministic names.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from infra.projects.context import FeatureGroupRef, ProjectContext
from infra.projects.discover import PROJECT_NAME, pipelines_dir, project_names
from infra.projects.errors import ProjectError
from infra.projects.manifest import ProjectManifest, key_path, load_manifest, manifest_line
from infra.projects.platform_code import platform_code_files

if TYPE_CHECKING:
    from infra.config import Settings
    from infra.naming import Naming

LOCK_FILE = "featuregroups.lock.json"
FEATURE_STORE_DATABASE = "sagemaker_featurestore"
FEATURE_GROUP_NAME_MAX = 64  # SageMaker CreateFeatureGroup
ROLE_NAME_MAX = 64  # IAM (the schedule's role is <pipeline>-scheduler)
PACKAGE_GROUP_NAME_MAX = 63  # SageMaker CreateModelPackageGroup
_SKIP_DIRS = {"__pycache__", ".pytest_cache", ".ipynb_checkpoints"}


def _files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(
        p for p in folder.rglob("*")
        if p.is_file() and not (_SKIP_DIRS & set(p.relative_to(folder).parts))
        and p.suffix not in (".pyc", ".pyo")
    )


def folder_hash(folder: Path) -> str:
    """sha256 over relative paths and contents of every file in ``folder``."""
    digest = hashlib.sha256()
    for path in _files(folder):
        digest.update(path.relative_to(folder).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


@dataclass(frozen=True)
class Project:
    """A loaded project folder."""

    name: str
    path: Path
    source: str  # pipelines/<name> relative to the root, for messages
    manifest: ProjectManifest
    content_hash: str  # whole folder
    code_hash: str  # code/ only: names the S3 prefix the code is uploaded to

    @property
    def module_path(self) -> Path:
        return self.path / self.manifest.pipeline.module

    @property
    def module_source(self) -> str:
        return f"{self.source}/{self.manifest.pipeline.module}"

    @property
    def code_files(self) -> list[Path]:
        return _files(self.path / "code")


def load_project(root: Path, name: str) -> Project:
    """Load ``pipelines/<name>``: manifest, lock guard, hashes. Raises ProjectError."""
    folder = pipelines_dir(root) / name
    source = f"pipelines/{name}"
    if not PROJECT_NAME.match(name):
        raise ProjectError(source, None, None,
                           "project names are lowercase letters, digits and '-' (max 32)")
    if not folder.is_dir():
        known = ", ".join(project_names(root)) or "none"
        raise ProjectError(source, None, None, f"no such project (projects here: {known})")
    manifest = load_manifest(folder, root)
    module = folder / manifest.pipeline.module
    if not module.is_file():
        raise ProjectError(f"{source}/project.yaml", "pipeline.module",
                           manifest_line(folder / "project.yaml", ("pipeline", "module")),
                           f"{source}/{manifest.pipeline.module} does not exist")
    check_feature_group_lock(folder, source, manifest)
    return Project(name=name, path=folder, source=source, manifest=manifest,
                   content_hash=folder_hash(folder), code_hash=folder_hash(folder / "code"))


def load_projects(root: Path, names: list[str] | None = None) -> list[Project]:
    """Every project (or the named ones), sorted; the first problem raises ProjectError."""
    return [load_project(root, n) for n in (names if names is not None else project_names(root))]


# --- feature-group replacement guard --------------------------------------------------------


def read_lock(folder: Path, source: str) -> dict[str, dict]:
    path = folder / LOCK_FILE
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ProjectError(f"{source}/{LOCK_FILE}", None, exc.lineno,
                           f"invalid JSON: {exc.msg}") from None
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise ProjectError(f"{source}/{LOCK_FILE}", None, None,
                           "must map feature group names to their locked schema")
    return data


def lock_payload(manifest: ProjectManifest) -> dict[str, dict]:
    return {g.name: g.schema_lock() for g in manifest.feature_groups}


def write_lock(folder: Path, manifest: ProjectManifest) -> Path:
    """Record the manifest's feature groups as deployed (``mlops pipelines lock``)."""
    path = folder / LOCK_FILE
    path.write_text(json.dumps(lock_payload(manifest), indent=2, sort_keys=True) + "\n",
                    encoding="utf-8")
    return path


HINT = ("replacing a feature group loses its data; create a new versioned group "
        "(e.g. {name}-v2) and keep this one until consumers move")


def replacement_problems(
    locked: dict[str, dict], manifest: ProjectManifest
) -> list[tuple[tuple[str | int, ...], str]]:
    """(key path, problem) for every change that would replace (or delete) a locked group.

    The AWS provider replaces a feature group when its feature definitions (any addition,
    removal or retyping), record identifier, event time or online store change
    (hashicorp/terraform-provider-aws#36784): each of those is refused.
    """
    problems: list[tuple[tuple[str | int, ...], str]] = []
    current = {g.name: g for g in manifest.feature_groups}
    for name, lock in sorted(locked.items()):
        hint = HINT.format(name=name)
        group = current.get(name)
        if group is None:
            problems.append((("featureGroups",),
                             f"removes the deployed feature group {name!r}, which deletes it "
                             f"and its data; keep it, or retire it on purpose by also deleting "
                             f"its entry from {LOCK_FILE}"))
            continue
        at: tuple[str | int, ...] = ("featureGroups", manifest.feature_groups.index(group))
        for field, value in (("recordIdentifier", group.record_identifier),
                             ("eventTime", group.event_time)):
            if lock.get(field) != value:
                problems.append(((*at, field), f"changed from {lock.get(field)!r}; {hint}"))
        if "online" in lock and lock["online"] != group.online:
            state = "on" if group.online else "off"
            problems.append(((*at, "online"), f"turns the online store {state}; {hint}"))
        locked_types = lock.get("features") or {}
        for i, feature in enumerate(group.features):
            if feature.name not in locked_types:
                problems.append(((*at, "features", i, "name"),
                                 f"adds feature {feature.name!r}: the provider can only add a "
                                 f"feature by replacing the group; {hint}"))
            elif locked_types[feature.name] != feature.type:
                problems.append(((*at, "features", i, "type"),
                                 f"retypes feature {feature.name!r} from "
                                 f"{locked_types[feature.name]} to {feature.type}; {hint}"))
        names = {f.name for f in group.features}
        for feature in sorted(set(locked_types) - names):
            problems.append(((*at, "features"), f"removes feature {feature!r}; {hint}"))
    return problems


def check_feature_group_lock(folder: Path, source: str, manifest: ProjectManifest) -> None:
    problems = replacement_problems(read_lock(folder, source), manifest)
    if problems:
        path, problem = problems[0]
        raise ProjectError(f"{source}/project.yaml", key_path(path),
                           manifest_line(folder / "project.yaml", path), problem)


# --- per-stack context -------------------------------------------------------------------


def feature_group_name(naming: Naming, project: str, group: str) -> str:
    return f"{naming.stem}-{project}-{group}"


def glue_table(naming: Naming, project: str, group: str) -> str:
    return feature_group_name(naming, project, group).replace("-", "_")


def offline_store_uri(naming: Naming, project: str, group: str) -> str:
    return f"s3://{naming.bucket('feature-store')}/{project}/{group}"


def pipeline_name(naming: Naming, project: str) -> str:
    return f"{naming.stem}-{project}"


def code_prefix(naming: Naming, project: Project) -> str:
    """Content-addressed S3 prefix of the project's code/ folder."""
    return (f"s3://{naming.bucket('pipeline-workspace')}/code/{project.name}/"
            f"{project.code_hash[:16]}")


def key_alias_arn(naming: Naming) -> str:
    """The environment key by alias ARN: known before deployment, resolved by KMS at use."""
    return f"arn:{naming.partition}:kms:{naming.region}:{naming.account_id}:{naming.key_alias}"


def context_for(project: Project, settings: Settings, naming: Naming) -> ProjectContext:
    """The ``ctx`` of ``project`` in the stack ``naming.stack``."""
    m = project.manifest
    stack, tier = naming.stack, settings.environment
    source = f"{project.source}/project.yaml"
    manifest_file = project.path / "project.yaml"

    def refuse(path: tuple[str | int, ...], problem: str) -> ProjectError:
        return ProjectError(source, key_path(path), manifest_line(manifest_file, path), problem)

    instance_type = m.instance_type_for(stack, tier) or settings.allowed_instance_types[0]
    if instance_type not in settings.allowed_instance_types:
        key = stack if stack in m.pipeline.instance_type else tier
        raise refuse(("pipeline", "instanceType", key),
                     f"{instance_type} is not allowed in stack {stack} "
                     f"(allowed: {', '.join(settings.allowed_instance_types)})")
    runtime = m.max_runtime_for(stack, tier) or settings.max_runtime_seconds
    if runtime > settings.max_runtime_seconds:
        key = stack if stack in m.pipeline.max_runtime_seconds else tier
        raise refuse(("pipeline", "maxRuntimeSeconds", key),
                     f"{runtime} s exceeds the limit of stack {stack} "
                     f"({settings.max_runtime_seconds} s)")
    for i, g in enumerate(m.feature_groups):
        physical = feature_group_name(naming, project.name, g.name)
        if len(physical) > FEATURE_GROUP_NAME_MAX:
            raise refuse(("featureGroups", i, "name"),
                         f"makes the feature group name {physical} ({len(physical)} characters; "
                         f"SageMaker allows {FEATURE_GROUP_NAME_MAX}): shorten it")
    group_name = naming.package_group(m.package_group)
    if len(group_name) > PACKAGE_GROUP_NAME_MAX:
        raise refuse(("model", "packageGroup") if m.model.package_group else ("name",),
                     f"makes the model package group name {group_name} ({len(group_name)} "
                     f"characters; SageMaker allows {PACKAGE_GROUP_NAME_MAX}): shorten it")
    role = f"{pipeline_name(naming, project.name)}-scheduler"
    if m.pipeline.schedule and len(role) > ROLE_NAME_MAX:
        raise refuse(("name",), f"makes the schedule's role name {role} ({len(role)} characters; "
                                f"IAM allows {ROLE_NAME_MAX}): shorten the project name")
    buckets = {p: f"s3://{naming.bucket(p)}" for p in
               ("raw-data", "feature-store", "model-artifacts", "pipeline-workspace")}
    groups = {
        g.name: FeatureGroupRef(
            name=feature_group_name(naming, project.name, g.name),
            table=glue_table(naming, project.name, g.name),
            record_identifier=g.record_identifier,
            event_time=g.event_time,
            features=tuple(f.name for f in g.features),
            offline_store_uri=offline_store_uri(naming, project.name, g.name),
        )
        for g in m.feature_groups
    }
    return ProjectContext(
        project=project.name,
        stack=stack,
        environment=tier,
        region=settings.region,
        account_id=naming.account_id,
        pipeline_name=pipeline_name(naming, project.name),
        role_arn=naming.role_arn(naming.execution_role),
        kms_key_arn=key_alias_arn(naming),
        buckets=buckets,
        feature_groups=groups,
        feature_store_database=FEATURE_STORE_DATABASE,
        model_package_group=group_name,
        allowed_instance_types=tuple(settings.allowed_instance_types),
        instance_type=instance_type,
        max_runtime_seconds=runtime,
        runtime_limit_seconds=settings.max_runtime_seconds,
        network_isolation=settings.is_prod,
        approval_metric=m.model.approval.metric,
        approval_threshold=m.model.threshold_for(stack, tier),
        parameters=dict(m.pipeline.parameters),
        code_uri=code_prefix(naming, project),
        platform_code_uri=platform_code_files().prefix(buckets["pipeline-workspace"]),
    )
