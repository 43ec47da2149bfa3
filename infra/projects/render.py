"""Render a project's SageMaker pipeline definition with the SageMaker Python SDK.

``pipeline.py``'s ``build(ctx)`` returns a ``sagemaker.mlops.workflow.Pipeline``; the SDK's
``Pipeline.definition()`` produces the JSON (never written by hand). Rendering is offline: the
SDK gets a boto3 session whose every request is refused before it is sent, and an empty SDK
config (no machine-specific defaults). Results are cached under ``.cache/renders/<sha256>.json``
keyed on the project folder's contents, the context and the SDK versions, so a warm render
does not import the SDK at all.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import importlib.util
import inspect
import json
import logging
import os
import traceback
import warnings
from collections.abc import Iterator
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any

from infra.projects.context import ProjectContext
from infra.projects.errors import ProjectError
from infra.projects.loader import Project

CACHE_DIR = Path(".cache") / "renders"
CACHE_ENV = "MLOPS_RENDER_CACHE"  # overrides <root>/.cache/renders (tests share one cache)
RENDER_FORMAT = "2"  # bump when the rendering procedure changes
SDK_DISTRIBUTIONS = ("sagemaker-core", "sagemaker-mlops", "sagemaker-train", "sagemaker-serve")


class NetworkBlocked(RuntimeError):
    """The SageMaker SDK tried to call AWS while rendering."""


@lru_cache(maxsize=1)
def sdk_versions() -> str:
    """Installed SDK distribution versions (read from metadata; does not import the SDK)."""
    parts = []
    for dist in SDK_DISTRIBUTIONS:
        try:
            parts.append(f"{dist}=={metadata.version(dist)}")
        except metadata.PackageNotFoundError:
            parts.append(f"{dist}==absent")
    return ";".join(parts)


def cache_key(project: Project, ctx: ProjectContext) -> str:
    digest = hashlib.sha256()
    for part in (RENDER_FORMAT, sdk_versions(), project.content_hash, ctx.to_json()):
        digest.update(part.encode() + b"\0")
    return digest.hexdigest()


def canonical(definition: str | dict[str, Any]) -> str:
    """Deterministic JSON text of a definition (sorted keys, no whitespace)."""
    data = json.loads(definition) if isinstance(definition, str) else definition
    return json.dumps(data, sort_keys=True, separators=(",", ":"))


def pretty(definition: str) -> str:
    return json.dumps(json.loads(definition), sort_keys=True, indent=2) + "\n"


@contextlib.contextmanager
def _quiet_sdk() -> Iterator[None]:
    """Silence the SDK's INFO logs and warnings (they are not findings)."""
    previous = logging.root.manager.disable
    logging.disable(logging.WARNING)  # the SDK sets its own levels and handlers per logger
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logging.disable(previous)


def _prepare_environment(region: str) -> None:
    os.environ.setdefault("AWS_DEFAULT_REGION", region)
    os.environ["SAGEMAKER_VALIDATE_ROLE"] = "false"
    os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")
    # The SDK would otherwise try to phone home with usage telemetry.
    os.environ.setdefault("SAGEMAKER_TELEMETRY_OPT_OUT", "true")


def offline_session(ctx: ProjectContext) -> Any:
    """A PipelineSession that cannot reach AWS: every request fails before it is sent."""
    _prepare_environment(ctx.region)
    import boto3
    from sagemaker.core.workflow.pipeline_context import PipelineSession

    boto_session = boto3.Session(
        aws_access_key_id="offline", aws_secret_access_key="offline", region_name=ctx.region
    )

    def refuse(**kwargs: Any) -> None:
        raise NetworkBlocked(
            f"the SageMaker SDK tried to call AWS ({kwargs.get('event_name', 'request')}) "
            "while rendering; pass explicit values (image URIs, S3 URIs) from ctx instead"
        )

    boto_session.events.register("before-send", refuse)
    bucket = ctx.buckets["pipeline-workspace"].removeprefix("s3://")
    session = PipelineSession(
        boto_session=boto_session,
        default_bucket=bucket,
        default_bucket_prefix=ctx.project,
        sagemaker_config={"SchemaVersion": "1.0"},
    )
    # default_bucket() would otherwise check (HeadBucket/CreateBucket) that the bucket exists;
    # the platform creates it, so mark it as resolved.
    session._default_bucket = bucket
    # No SDK defaults from machine config files: they would make renders differ between
    # machines (and an empty config skips the SDK's per-lookup schema validation).
    session.sagemaker_config = {}
    return session


def _line_in(path: Path, tb: Any) -> int | None:
    """The last line of ``path`` in a traceback (where the project's code failed)."""
    line = None
    for frame in traceback.extract_tb(tb):
        if Path(frame.filename).resolve() == path.resolve():
            line = frame.lineno
    return line


def _load_module(project: Project) -> Any:
    path = project.module_path
    source = project.module_source
    module_name = f"_mlops_project_{project.name.replace('-', '_')}_{project.content_hash[:12]}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ProjectError(source, None, None, "cannot be loaded as a Python module")
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except SyntaxError as exc:
        raise ProjectError(source, None, exc.lineno, f"syntax error: {exc.msg}") from None
    except (Exception, SystemExit) as exc:  # noqa: BLE001 (an import-time failure is the project's)
        line = _line_in(path, exc.__traceback__)
        raise ProjectError(source, None, line,
                           f"failed on import: {type(exc).__name__}: {_one_line(exc)}") from None
    return module


def render_fresh(project: Project, ctx: ProjectContext) -> str:
    """Import the SDK, load pipeline.py, call ``build(ctx)`` and return canonical JSON."""
    source = project.module_source
    with _quiet_sdk():
        session = offline_session(ctx)
        from sagemaker.mlops.workflow.pipeline import Pipeline

        module = _load_module(project)
        build = getattr(module, "build", None)
        if build is None or not callable(build):
            raise ProjectError(source, "build", None,
                               "defines no function build(ctx) -> Pipeline")
        line = _def_line(build, project.module_path)
        if not _takes_one_argument(build):
            raise ProjectError(source, "build", line,
                               "must take exactly one argument: build(ctx) -> Pipeline")
        ctx = dataclasses.replace(ctx, session=session)
        try:
            pipeline = build(ctx)
        except (Exception, SystemExit) as exc:  # noqa: BLE001 (the project's, in one line)
            raise ProjectError(source, "build()", _line_in(project.module_path, exc.__traceback__),
                               f"raised {type(exc).__name__}: {_one_line(exc)}") from None
        if not isinstance(pipeline, Pipeline):
            raise ProjectError(source, "build()", line,
                               f"must return a sagemaker.mlops.workflow.Pipeline "
                               f"(got {type(pipeline).__name__})")
        monitoring = project.manifest.monitoring
        try:
            if monitoring is not None:  # retraining starts it: Trigger and CoolDown come first
                from infra.projects.triggers import wrap

                pipeline = wrap(pipeline, ctx, monitoring.retrain.cooldown_hours, source)
            definition = pipeline.definition()
        except ProjectError:
            raise
        except (Exception, SystemExit) as exc:  # noqa: BLE001
            line = _line_in(project.module_path, exc.__traceback__)
            raise ProjectError(source, "Pipeline.definition()", line,
                               f"raised {type(exc).__name__}: {_one_line(exc)}") from None
    return canonical(definition)


def _def_line(function: Any, path: Path) -> int | None:
    """The line ``function`` is defined on, when it is defined in ``path``."""
    code = getattr(function, "__code__", None)
    if code is None or Path(code.co_filename).resolve() != path.resolve():
        return None
    return int(code.co_firstlineno)


def _takes_one_argument(function: Any) -> bool:
    try:
        inspect.signature(function).bind(None)
    except TypeError:
        return False
    except ValueError:  # no signature (a builtin): let the call decide
        return True
    return True


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text[:300] + ("..." if len(text) > 300 else "")


def cache_dir(root: Path) -> Path:
    override = os.environ.get(CACHE_ENV)
    return Path(override) if override else root / CACHE_DIR


def render(project: Project, ctx: ProjectContext, root: Path, *, use_cache: bool = True) -> str:
    """The definition JSON of ``project`` in ``ctx``'s stack, from the cache when warm."""
    path = cache_dir(root) / f"{cache_key(project, ctx)}.json"
    if use_cache and path.is_file():
        try:
            return canonical(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            pass  # a damaged cache entry is re-rendered
    definition = render_fresh(project, ctx)
    if use_cache:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(definition, encoding="utf-8")
        tmp.replace(path)
    return definition
