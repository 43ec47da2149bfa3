"""The CI identity program (``bootstrap/ci/``): its settings and what it builds.

It is a Pulumi program of its own (project ``mlops-ci``), run once per AWS account by an
administrator, never by a workflow. It reads the platform's stack files (``stacks/``) for each
stack's prefix, region, tier, tags and promotion sources, so the roles are scoped by the same
names the platform uses. Settings (``bootstrap/ci/Pulumi.<stack>.yaml``, namespace ``mlops-ci``):

- ``mlops-ci:repository`` (required): ``owner/name`` of the GitHub repository, exactly as GitHub
  spells it (trust conditions are case-sensitive);
- ``mlops-ci:stacks``: the platform stacks CI deploys into this account (default dev, staging,
  prod);
- ``mlops-ci:environments``: stack -> GitHub environment (default: the stack's name);
- ``mlops-ci:defaultBranch``: the branch the drift check runs on (default ``main``);
- ``mlops-ci:createOidcProvider``: false when the account already has GitHub's provider (one
  per account; default true);
- ``mlops-ci:namePrefix``: prefix of CI's own names (default ``mlops``);
- ``aws:region``: where the state backend lives.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pulumi

from infra.components.ci_identity import (
    CI_STACK,
    ENVIRONMENT_TAG,
    STATE_LOGS_PURPOSE,
    CiIdentity,
    CiIdentityArgs,
    StackTarget,
)
from infra.config import BUCKET_NAME_MAX, REGION, Settings, SettingsError, parse_settings, stack_file
from infra.naming import Naming

ROOT = Path(__file__).resolve().parent.parent
NAMESPACE = "mlops-ci"
PROGRAM_DIR = "bootstrap/ci"
DEFAULT_STACKS = ("dev", "staging", "prod")
REPOSITORY = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}$")
# GitHub environment names; no wildcard or separator characters (they go into an exact `sub`).
ENVIRONMENT = re.compile(r"^[A-Za-z0-9._-]{1,255}$")
BRANCH = re.compile(r"^[A-Za-z0-9._/-]{1,255}$")
PREFIX = re.compile(r"^[a-z][a-z0-9-]{0,14}$")
KEYS = ("repository", "stacks", "environments", "defaultBranch", "createOidcProvider",
        "namePrefix")


def program_file(stack: str) -> str:
    return f"{PROGRAM_DIR}/Pulumi.{stack}.yaml"


def _decode(value: Any) -> Any:
    """Structured config arrives from the engine as JSON text."""
    import json

    if isinstance(value, str) and value[:1] in "[{":
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def _flag(value: Any, source: str, key: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise SettingsError(source, key, f"must be true or false (got {value!r})")


def read_platform_settings(root: Path, stack: str) -> Settings:
    """A platform stack's validated settings, read from ``stacks/Pulumi.<stack>.yaml``."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    source = stack_file(stack)
    path = root / source
    if not path.is_file():
        raise SettingsError(source, None, "no such stack file")
    try:
        data = YAML(typ="safe", pure=True).load(path.read_text(encoding="utf-8")) or {}
    except YAMLError as exc:
        raise SettingsError(source, None, f"invalid YAML: {exc}".splitlines()[0]) from None
    config = data.get("config") if isinstance(data, dict) else None
    if not isinstance(config, dict):
        raise SettingsError(source, "config", "must be a mapping of settings")
    return parse_settings(config, source)


def ci_args(config: Mapping[str, Any], root: Path, source: str, account_id: str) -> CiIdentityArgs:
    """Validate the program's settings and the platform stacks they name; SettingsError names
    the file and the key of the first problem."""
    ns = f"{NAMESPACE}:"
    values = {k[len(ns):]: _decode(v) for k, v in config.items() if k.startswith(ns)}
    for key in values:
        if key not in KEYS:
            raise SettingsError(source, f"{ns}{key}", f"unknown setting (known: {', '.join(KEYS)})")
    repository = values.get("repository")
    if not isinstance(repository, str) or not REPOSITORY.match(repository):
        raise SettingsError(source, f"{ns}repository",
                            f"required: the GitHub repository as owner/name (got {repository!r})")
    region = config.get("aws:region")
    if not isinstance(region, str) or not re.match(REGION, region):
        raise SettingsError(source, "aws:region", f"required: the state backend's region "
                                                  f"(got {region!r})")
    prefix = values.get("namePrefix", "mlops")
    if not isinstance(prefix, str) or not PREFIX.match(prefix):
        raise SettingsError(source, f"{ns}namePrefix", f"lower-case letters, digits and '-', "
                                                       f"15 at most (got {prefix!r})")
    longest = Naming(prefix, CI_STACK, account_id, region).bucket(STATE_LOGS_PURPOSE)
    if len(longest) > BUCKET_NAME_MAX:
        raise SettingsError(source, f"{ns}namePrefix", f"prefix and region make bucket names of "
                                                       f"{len(longest)} characters (S3 allows "
                                                       f"{BUCKET_NAME_MAX}): {longest}")
    branch = values.get("defaultBranch", "main")
    if not isinstance(branch, str) or not BRANCH.match(branch):
        raise SettingsError(source, f"{ns}defaultBranch", f"not a branch name: {branch!r}")
    stacks = values.get("stacks", list(DEFAULT_STACKS))
    if not isinstance(stacks, list) or not stacks or not all(isinstance(s, str) for s in stacks):
        raise SettingsError(source, f"{ns}stacks", "must be a non-empty list of stack names")
    environments = values.get("environments", {})
    if not isinstance(environments, dict):
        raise SettingsError(source, f"{ns}environments", "must map stack -> GitHub environment")
    for stack, env in environments.items():
        if stack not in stacks:
            raise SettingsError(source, f"{ns}environments.{stack}", "not one of mlops-ci:stacks")
        if not isinstance(env, str) or not ENVIRONMENT.match(env):
            raise SettingsError(source, f"{ns}environments.{stack}",
                                f"not a GitHub environment name (letters, digits, '.', '_', "
                                f"'-'): {env!r}")
    if CI_STACK in stacks:
        raise SettingsError(source, f"{ns}stacks", f"a platform stack cannot be named "
                                                   f"{CI_STACK!r}: CI's own names use it")
    create = _flag(values.get("createOidcProvider", True), source, f"{ns}createOidcProvider")

    settings = {stack: read_platform_settings(root, stack) for stack in stacks}

    def naming(stack: str, s: Settings) -> Naming:
        if s.account_id and s.account_id != account_id:
            raise SettingsError(stack_file(stack), "mlops:accountId",
                                f"stack {stack} is in account {s.account_id}, this program runs "
                                f"in {account_id}: run it there for that stack")
        return Naming(prefix=s.name_prefix, stack=stack, account_id=account_id, region=s.region)

    namings = {stack: naming(stack, s) for stack, s in settings.items()}
    stems = sorted((n.stem, stack) for stack, n in namings.items())
    for a_stem, a in stems:
        for b_stem, b in stems:
            if a != b and b_stem.startswith(f"{a_stem}-"):
                raise SettingsError(source, f"{ns}stacks",
                                    f"the names of stack {b} ({b_stem}-*) fall under those of "
                                    f"stack {a} ({a_stem}-*): {a}'s roles would reach {b}")
    targets = []
    for stack, s in settings.items():
        tag = s.default_tags.get(ENVIRONMENT_TAG)
        if not tag:
            raise SettingsError(stack_file(stack), "aws:defaultTags.tags",
                                f"needs {ENVIRONMENT_TAG}: the deploy role finds the stack's KMS "
                                "key by it")
        sources = []
        for origin in s.promotion.allow_from:
            other = namings.get(origin) or naming(origin, read_platform_settings(root, origin))
            sources.append(other)
        targets.append(StackTarget(stack=stack, environment=str(environments.get(stack, stack)),
                                   naming=namings[stack], tier=s.environment,
                                   environment_tag=tag, promote_from=tuple(sources)))
    return CiIdentityArgs(
        repository=repository, naming=Naming(prefix, CI_STACK, account_id, region),
        targets=tuple(targets), default_branch=branch, create_provider=create,
        tags={"mlops:managed-by": "pulumi", "mlops:component": "ci-identity"})


def run(root: Path = ROOT) -> CiIdentity:
    """The program: settings from the engine, the account from STS, then the component."""
    import pulumi_aws as aws
    from pulumi.runtime.config import CONFIG, get_config_env

    stack = pulumi.get_stack()
    config = {**get_config_env(), **CONFIG.get()}
    account = aws.get_caller_identity().account_id
    identity = CiIdentity("ci", ci_args(config, root, program_file(stack), account))
    for key, value in identity.outputs.items():
        pulumi.export(key, value)
    return identity
