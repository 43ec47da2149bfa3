"""A model version's metrics: read from a file, kept as package metadata and as a report in S3.

A package carries its metrics twice: as ``metric:<name>`` metadata (what `mlops models list` and
the gates read) and as a flat JSON report next to the artifact, referenced from
``ModelMetrics.ModelQuality.Statistics``. A package a pipeline registered has only the report,
in either shape :func:`flatten_metrics` accepts.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from pathlib import Path
from typing import Any

from mlops.errors import UsageError
from mlops.ops import artifacts
from mlops.ops.environment import KeyedEnv

METRIC = "metric:"
METRIC_NAME = re.compile(r"^[A-Za-z0-9_.:/=+@-]{1,100}$")


def flatten_metrics(data: Any) -> dict[str, float]:
    """Metrics as ``{name: number}`` from a flat map (``{"auc": 0.91}``) or an evaluation report
    (``{"metrics": {"auc": {"value": 0.91}}}``, what the example evaluation steps write; any group
    name). ValueError naming the key on anything else."""
    if not isinstance(data, dict) or not data:
        raise ValueError('must be a JSON object of metric name -> number (e.g. {"auc": 0.91})')
    out: dict[str, float] = {}

    def put(name: str, value: Any, where: str) -> None:
        if isinstance(value, dict) and "value" in value:
            value, where = value["value"], f"{where}.value"
        if isinstance(value, bool) or not isinstance(value, (int, float)) \
                or not math.isfinite(value):
            raise ValueError(f"{where}: must be a number (got {value!r})")
        if not METRIC_NAME.match(name):
            raise ValueError(f"{where}: {name!r} is not a metric name")
        if name in out:
            raise ValueError(f"{where}: metric {name} given twice")
        out[name] = float(value)

    for key, value in data.items():
        if isinstance(value, dict) and "value" not in value and value:
            for name, inner in value.items():
                put(str(name), inner, f"{key}.{name}")
        else:
            put(str(key), value, str(key))
    return out


def read_metrics(path: Path) -> dict[str, float]:
    """A metrics file (see :func:`flatten_metrics`); UsageError naming the file on bad input."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"{path}: no such metrics file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: cannot read the metrics file ({exc})") from None
    except json.JSONDecodeError as exc:
        raise UsageError(f"{path}:{exc.lineno}:{exc.colno}: invalid JSON: {exc.msg}") from None
    try:
        return flatten_metrics(data)
    except ValueError as exc:
        raise UsageError(f"{path}: {exc}") from None


def as_metadata(metrics: dict[str, float]) -> dict[str, str]:
    """``metric:<name>`` package metadata for each metric."""
    return {f"{METRIC}{k}": repr(v) for k, v in metrics.items()}


def from_metadata(meta: dict[str, str]) -> dict[str, float]:
    """The ``metric:<name>`` metadata of a package (values that are not numbers left out)."""
    metrics: dict[str, float] = {}
    for key, value in meta.items():
        if key.startswith(METRIC):
            try:
                metrics[key[len(METRIC):]] = float(value)
            except ValueError:
                continue
    return metrics


def from_report(s3: Any, desc: dict[str, Any]) -> dict[str, float]:
    """The metrics in the report a package's ``ModelMetrics`` points at; {} when unreadable."""
    uri = (((desc.get("ModelMetrics") or {}).get("ModelQuality") or {}).get("Statistics")
           or {}).get("S3Uri")
    if not uri:
        return {}
    try:
        bucket, key = artifacts.split_s3(uri)
        return flatten_metrics(json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read()))
    except Exception:  # an unreadable report: no metrics, so the metrics gate fails
        return {}


def store_report(env: KeyedEnv, project: str, sha256: str,
                 metrics: dict[str, float]) -> dict[str, Any]:
    """Store the metrics next to the artifact; returns the package's ``ModelMetrics``."""
    body = json.dumps(metrics, sort_keys=True).encode()
    key = artifacts.key_for(project, sha256, f"metrics-{hashlib.sha256(body).hexdigest()[:12]}.json")
    env.client("s3").put_object(Bucket=env.bucket, Key=key, Body=body,
                                ContentType="application/json", **env.encryption())
    uri = f"s3://{env.bucket}/{key}"
    return {"ModelQuality": {"Statistics": {"ContentType": "application/json", "S3Uri": uri}}}
