"""Start a local run of a project for one stack: render it, choose where data lives, run.

Against S3 (the default: the sandbox, or whatever the AWS environment names), the definition is
the one ``submit`` deploys (the environment key by its ARN), the step code is uploaded as
``submit`` uploads it, and RegisterModel registers into the stack's registry. With
``--data DIR`` nothing talks to AWS: ``DIR/<bucket>/<key>`` stands for ``s3://<bucket>/<key>``,
the rendered definition is used as it is, and RegisterModel writes its request to the run folder.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infra.projects.platform_code import platform_code_files
from mlops.errors import UsageError
from mlops.local import run as local_run
from mlops.local.job import RunEnv
from mlops.local.storage import DirStore, S3Store, Store, join_uri

RUNS_DIR = Path(".cache") / "runs"


def parse_params(pairs: list[str] | None) -> dict[str, str]:
    """``Name=value`` pairs of ``--param``; UsageError naming a malformed one."""
    values: dict[str, str] = {}
    for pair in pairs or []:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise UsageError(f"--param {pair!r}: expected Name=value")
        values[name] = value
    return values


def runs_folder(root: Path, project: str) -> Path:
    """Where a project's local runs keep their logs and working folders."""
    return root / RUNS_DIR / project


def upload_code(store: Store, prepared: Any, kms_key: str | None) -> list[str]:
    """The project's code/ files and the platform's shared step code at the content-addressed
    prefixes the definition names."""
    code = prepared.project.path / "code"
    shared = platform_code_files()
    files = [(join_uri(prepared.context.code_uri, path.relative_to(code).as_posix()), path)
             for path in prepared.project.code_files]
    files += [(join_uri(prepared.context.platform_code_uri, shared.relative(path)), path)
              for path in shared.files]
    for uri, path in files:
        store.write(uri, path.read_bytes(), kms_key)
    return [uri for uri, _ in files]


@dataclass
class Target:
    """A project rendered for a stack, with the store its data lives in."""

    prepared: Any  # mlops.ops.pipelines.Prepared
    store: Store
    definition: str  # the JSON to run
    sagemaker: Any | None  # the registry's client; None with --data
    kms_key: str | None  # the environment key's ARN; None with --data
    aws: Any | None = None  # the AwsClients; None with --data


def target(root: Path, project: str, stack: str, *, data_dir: Path | None = None,
           endpoint_url: str | None = None, aws: Any | None = None) -> Target:
    """Render ``project`` for ``stack`` against S3 (``aws`` or the environment's clients) or a
    local folder (``data_dir``); UsageError when the stack is not provisioned there."""
    from mlops.offline.runtime import load_settings
    from mlops.ops.aws import AwsClients
    from mlops.ops.pipelines import deployable, environment_key_arn, prepare

    settings, _ = load_settings(root, stack)
    if data_dir is not None:
        if not data_dir.is_dir():
            raise UsageError(f"--data {data_dir}: no such folder")
        prepared = prepare(root, project, stack)
        return Target(prepared, DirStore(data_dir.resolve()), prepared.definition, None, None)
    clients = aws or AwsClients(region=settings.region, endpoint_url=endpoint_url)
    account = settings.account_id or clients.identity()["Account"]
    prepared = prepare(root, project, stack, account_id=account)
    key = environment_key_arn(clients.client("kms"), prepared.context)
    if key is None:
        raise UsageError(f"{prepared.context.kms_key_arn} does not exist here: provision stack "
                         f"{stack} first (mlops sandbox up --stack {stack}), or use --data DIR")
    return Target(prepared, S3Store(clients.client("s3")), deployable(prepared, key),
                  clients.client("sagemaker"), key, clients)


def start(root: Path, project: str, stack: str, *, params: list[str] | None = None,
          data_dir: Path | None = None, endpoint_url: str | None = None, use_cache: bool = True,
          on_start: Callable[[local_run.Planned], None] | None = None,
          on_step: Callable[[local_run.StepOutcome], None] | None = None,
          aws: Any | None = None, execution_arn: str | None = None,
          parameters: Mapping[str, str] | None = None) -> local_run.RunReport:
    """Render ``project`` for ``stack`` and run it here (see the module docstring).

    Bad input (project, parameters, a step that cannot run here) raises a UsageError before
    anything runs. ``aws`` is an :class:`~mlops.ops.aws.AwsClients` to use instead of one built
    from the environment. ``execution_arn`` makes the run the local run of that (existing)
    pipeline execution: its id is the run id and execution variables name it; ``parameters``
    (name -> text, as an execution holds them) come before ``params``.
    """
    overrides = {**(parameters or {}), **parse_params(params)}
    where = target(root, project, stack, data_dir=data_dir, endpoint_url=endpoint_url, aws=aws)
    prepared = where.prepared
    if prepared.findings:
        raise UsageError(f"{prepared.findings[0]} (fix the platform rule findings first: "
                         f"mlops pipelines validate {project} --stack {stack})")
    definition = json.loads(where.definition)
    local_run.plan(definition)  # refuses a step that cannot run here, before anything runs
    values = local_run.parameter_values(definition, overrides)
    ctx = prepared.context
    run_id = execution_arn.rsplit("/", 1)[-1] if execution_arn else local_run.new_run_id()
    env = RunEnv(run_id=run_id, project=project, pipeline_name=ctx.pipeline_name,
                 region=ctx.region, account_id=ctx.account_id, store=where.store,
                 sagemaker=where.sagemaker, folder=runs_folder(root, project) / run_id,
                 aws=where.aws, execution_arn=execution_arn)
    upload_code(where.store, prepared, where.kms_key)
    return local_run.execute(definition, env, values, use_cache=use_cache, on_step=on_step,
                             on_start=on_start)


def seed(root: Path, project: str, stack: str, *, rows: int | None = None,
         data_dir: Path | None = None, endpoint_url: str | None = None,
         aws: Any | None = None) -> dict[str, tuple[str, int]]:
    """Write the project's sample data into its feature groups' offline stores."""
    from mlops.local.samples import seed as write_samples

    where = target(root, project, stack, data_dir=data_dir, endpoint_url=endpoint_url, aws=aws)
    return write_samples(where.prepared, where.store, where.kms_key, rows)
