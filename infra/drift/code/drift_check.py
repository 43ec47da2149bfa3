"""The drift-check Processing step: captured traffic of one endpoint vs its model's baseline.

Reads SageMaker data-capture files (JSONL, one request per line) below
``<root>/input/capture`` whose ``yyyy/mm/dd/hh`` folder overlaps the last ``WINDOW_HOURS`` hours
before ``NOW``, and the baseline ``<root>/input/baseline/baseline.json``; writes ``report.json``
and ``report.html`` to ``<root>/output/report`` and, unless ``PUBLISH_METRICS=false``, publishes
the drift metrics to CloudWatch. ``<root>`` is ``PROCESSING_ROOT`` (default /opt/ml/processing).

Environment: STACK, PROJECT, ENDPOINT, WINDOW_HOURS (24), NOW (ISO-8601, default now), MIN_RECORDS
(100), PSI_THRESHOLD, KS_THRESHOLD, UNSEEN_THRESHOLD, SCORE_PSI_THRESHOLD (Thresholds' defaults),
IGNORE_FEATURES (comma-separated), METRICS_NAMESPACE (MLOps/<stack>/Drift), PUBLISH_METRICS
(true). Exit status 0 whatever the drift (drift is a result); 2 for a malformed baseline or
setting, with one line on stderr naming the file or variable.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import base64  # noqa: E402
import binascii  # noqa: E402
import csv  # noqa: E402
import html  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
from collections.abc import Iterator, Mapping  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from datetime import UTC, datetime, timedelta  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

if __package__:
    from .baseline import read_baseline
    from .drift_math import STATUS_NOT_ENOUGH_DATA, DriftResult, FeatureDrift, Thresholds, compare
else:  # run as a Processing step: this folder is on sys.path
    from baseline import read_baseline  # type: ignore[no-redef]
    from drift_math import (  # type: ignore[no-redef]
        STATUS_NOT_ENOUGH_DATA,
        DriftResult,
        FeatureDrift,
        Thresholds,
        compare,
    )

MAX_METRICS_PER_CALL = 1000


class SettingError(ValueError):
    """A malformed environment variable or input file (one line, naming it)."""


@dataclass(frozen=True)
class Settings:
    """The step's configuration, read from the environment."""

    root: Path
    stack: str
    project: str
    endpoint: str
    now: datetime
    window_hours: float
    min_records: int
    thresholds: Thresholds
    ignore: frozenset[str]
    namespace: str
    publish: bool
    baseline_uri: str = ""

    @property
    def window_start(self) -> datetime:
        return self.now - timedelta(hours=self.window_hours)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        def number(name: str, default: float) -> float:
            raw = env.get(name, "").strip()
            try:
                return float(raw) if raw else default
            except ValueError:
                raise SettingError(f"{name}={raw!r} is not a number") from None

        defaults = Thresholds()
        stack = env.get("STACK", "")
        raw_now = env.get("NOW", "").strip()
        try:
            now = datetime.fromisoformat(raw_now.replace("Z", "+00:00")) if raw_now else \
                datetime.now(UTC)
        except ValueError:
            raise SettingError(f"NOW={raw_now!r} is not an ISO-8601 time") from None
        now = now.replace(tzinfo=UTC) if now.tzinfo is None else now.astimezone(UTC)
        publish = env.get("PUBLISH_METRICS", "true").strip().lower()
        if publish not in {"true", "false", "1", "0", "yes", "no"}:
            raise SettingError(f"PUBLISH_METRICS={publish!r} is neither true nor false")
        window_hours = number("WINDOW_HOURS", 24)
        if window_hours <= 0:
            raise SettingError(f"WINDOW_HOURS={window_hours:g} must be positive")
        return cls(
            root=Path(env.get("PROCESSING_ROOT", "/opt/ml/processing")),
            stack=stack, project=env.get("PROJECT", ""), endpoint=env.get("ENDPOINT", ""),
            now=now, window_hours=window_hours, min_records=int(number("MIN_RECORDS", 100)),
            thresholds=Thresholds(
                psi=number("PSI_THRESHOLD", defaults.psi), ks=number("KS_THRESHOLD", defaults.ks),
                unseen_share=number("UNSEEN_THRESHOLD", defaults.unseen_share),
                score_psi=number("SCORE_PSI_THRESHOLD", defaults.score_psi)),
            ignore=frozenset(n.strip() for n in env.get("IGNORE_FEATURES", "").split(",")
                             if n.strip()),
            namespace=env.get("METRICS_NAMESPACE") or f"MLOps/{stack or 'unknown'}/Drift",
            publish=publish in {"true", "1", "yes"},
            baseline_uri=env.get("BASELINE_URI", "").strip(),
        )


@dataclass
class Window:
    """What the capture files of the window held."""

    rows: list[list[str]] = field(default_factory=list)
    scores: list[float] = field(default_factory=list)
    files: int = 0
    requests: int = 0
    malformed: int = 0  # request rows of the wrong width, unparsable lines and outputs
    inputs_seen: bool = False
    outputs_seen: bool = False


# --- reading the capture ---------------------------------------------------------------------

def file_hour(path: Path, folder: Path) -> datetime | None:
    """The UTC hour of a capture file from its ``yyyy/mm/dd/hh`` folders (None when absent)."""
    parts = path.relative_to(folder).parts[:-1]
    if len(parts) < 4 or not all(p.isdigit() for p in parts[-4:]):
        return None
    year, month, day, hour = (int(p) for p in parts[-4:])
    try:
        return datetime(year, month, day, hour, tzinfo=UTC)
    except ValueError:
        return None


def window_files(folder: Path, start: datetime, end: datetime) -> list[Path]:
    """Capture files whose hour [h, h+1) overlaps [start, end], oldest first."""
    found = []
    for path in sorted(folder.rglob("*.jsonl")):
        hour = file_hour(path, folder)
        if hour is not None and hour + timedelta(hours=1) > start and hour <= end:
            found.append(path)
    return found


def decode(side: Mapping[str, Any]) -> str:
    """The text of one side of a capture record (base64 decoded when so encoded)."""
    data = str(side.get("data", ""))
    if str(side.get("encoding", "")).upper() == "BASE64":
        return base64.b64decode(data, validate=True).decode("utf-8")
    return data


def parse_scores(text: str) -> list[float]:
    """Scores of a CSV answer: comma-joined on one line or one per line (or both)."""
    return [float(v) for line in text.splitlines() for v in line.split(",") if v.strip()]


def read_window(files: list[Path], width: int) -> Window:
    """Request rows (of ``width`` columns) and scores of the records in ``files``."""
    window = Window(files=len(files))
    for path in files:
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            if not line.strip():
                continue
            try:
                capture = json.loads(line)["captureData"]
            except (json.JSONDecodeError, KeyError, TypeError):
                window.malformed += 1
                continue
            window.requests += 1
            if "endpointInput" in capture:
                window.inputs_seen = True
                try:
                    text = decode(capture["endpointInput"])
                except (binascii.Error, UnicodeDecodeError, AttributeError):
                    window.malformed += 1
                else:
                    for row in csv.reader(io.StringIO(text)):
                        if not row:
                            continue
                        if len(row) == width:
                            window.rows.append(row)
                        else:
                            window.malformed += 1
            if "endpointOutput" in capture:
                window.outputs_seen = True
                try:
                    window.scores.extend(parse_scores(decode(capture["endpointOutput"])))
                except (binascii.Error, UnicodeDecodeError, AttributeError, ValueError):
                    window.malformed += 1
    return window


# --- the report -------------------------------------------------------------------------------

def report(result: DriftResult, settings: Settings, window: Window) -> dict[str, Any]:
    """report.json: the drift result and what it was computed from."""
    return {
        **result.to_dict(),
        "stack": settings.stack, "project": settings.project, "endpoint": settings.endpoint,
        "window_start": settings.window_start.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "window_end": settings.now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "window_hours": settings.window_hours,
        "files_read": window.files, "requests": window.requests, "malformed": window.malformed,
    }


def plot_png(drift: FeatureDrift) -> str:
    """Base64 PNG: baseline vs window shares over the baseline's bins (or categories)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    positions = np.arange(len(drift.labels))
    figure, axes = plt.subplots(figsize=(7, 3.2), dpi=80)
    try:
        axes.bar(positions - 0.2, drift.expected, width=0.4, label="baseline")
        axes.bar(positions + 0.2, drift.actual, width=0.4, label="window")
        axes.set_xticks(positions, drift.labels, rotation=45, ha="right", fontsize=7)
        axes.set_ylabel("share")
        axes.set_title(f"{drift.name}: PSI {drift.psi:.3f}")
        axes.legend()
        figure.tight_layout()
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")
    finally:
        plt.close(figure)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:.4f}"


def render_html(data: dict[str, Any], result: DriftResult) -> str:
    """report.html: status, a table of every feature and a plot per drifted feature and score."""
    e = html.escape
    title = f"Drift check: {data['project']} / {data['endpoint']} ({data['stack']})"
    rows = []
    for drift in [*result.features, *([result.score] if result.score else [])]:
        rows.append(
            f"<tr><td>{e(drift.name)}</td><td>{e(drift.kind)}</td><td>{drift.count}</td>"
            f"<td>{_number(drift.psi)}</td><td>{_number(drift.ks)}</td>"
            f"<td>{_number(drift.unseen_share)}</td>"
            f"<td class=\"{'drift' if drift.drifted else 'ok'}\">"
            f"{'drifted' if drift.drifted else ''}</td></tr>")
    plots = []
    plotted = [f for f in result.features if f.drifted]
    if result.score is not None:
        plotted.append(result.score)
    if result.status != STATUS_NOT_ENOUGH_DATA:
        for drift in plotted:
            plots.append(f"<h3>{e(drift.name)}</h3><img alt=\"{e(drift.name)}\" "
                         f"src=\"data:image/png;base64,{plot_png(drift)}\">")
    notes = []
    if not result.features_available:
        notes.append("Feature drift unavailable: the capture held no endpoint input.")
    if not result.score_available:
        notes.append("Score drift unavailable: the capture held no endpoint output "
                     "(or the baseline has no score).")
    if result.ignored:
        notes.append(f"Ignored: {', '.join(result.ignored)}.")
    return "\n".join([
        "<!DOCTYPE html>", "<html><head><meta charset=\"utf-8\">", f"<title>{e(title)}</title>",
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}"
        "td:first-child{text-align:left}.drift{color:#b00;font-weight:bold}</style>",
        "</head><body>", f"<h1>{e(title)}</h1>",
        f"<p>Status: <strong>{e(result.status)}</strong>; {result.records} records "
        f"(minimum {result.min_records}), {data['drifted_features']} drifted, "
        f"{data['files_read']} files, {data['malformed']} malformed; window "
        f"{e(data['window_start'])} to {e(data['window_end'])}.</p>",
        *(f"<p>{e(n)}</p>" for n in notes),
        "<table><tr><th>feature</th><th>kind</th><th>count</th><th>PSI</th><th>KS</th>"
        "<th>unseen</th><th>drift</th></tr>", *rows, "</table>", *plots, "</body></html>", ""])


# --- metrics ----------------------------------------------------------------------------------

def metric_data(result: DriftResult, project: str, when: datetime) -> list[dict[str, Any]]:
    """CloudWatch datums: per feature PSI and KS or UnseenShare (Project, Feature), the score as
    Feature=score, and DriftedFeatures and Records (Project). Only the last two without enough
    data."""

    def datum(name: str, value: float, unit: str = "None", feature: str | None = None
              ) -> dict[str, Any]:
        dimensions = [{"Name": "Project", "Value": project}]
        if feature is not None:
            dimensions.append({"Name": "Feature", "Value": feature})
        return {"MetricName": name, "Dimensions": dimensions, "Timestamp": when,
                "Value": float(value), "Unit": unit}

    data = [datum("Records", result.records, "Count"),
            datum("DriftedFeatures", result.drifted_features, "Count")]
    if result.status == STATUS_NOT_ENOUGH_DATA:
        return data
    for drift in [*result.features, *([result.score] if result.score else [])]:
        data.append(datum("PSI", drift.psi, feature=drift.name))
        if drift.kind == "categorical":
            data.append(datum("UnseenShare", drift.unseen_share or 0.0, feature=drift.name))
        else:
            data.append(datum("KS", drift.ks or 0.0, feature=drift.name))
    return data


def batches(items: list[Any], size: int = MAX_METRICS_PER_CALL) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def publish(data: list[dict[str, Any]], namespace: str, client: Any = None) -> int:
    """Put ``data`` in ``namespace`` (at most 1000 datums per call); returns the call count."""
    if client is None:
        import boto3

        region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
        client = boto3.client("cloudwatch", region_name=region)
    calls = 0
    for batch in batches(data):
        client.put_metric_data(Namespace=namespace, MetricData=batch)
        calls += 1
    return calls


# --- the step ---------------------------------------------------------------------------------

def frame_of(rows: list[list[str]], baseline: Mapping[str, Any]) -> pd.DataFrame:
    """Request rows as a frame named by the baseline's features (numeric columns parsed)."""
    names = [f["name"] for f in baseline["features"]]
    frame = pd.DataFrame(rows, columns=names, dtype=object)
    for feature in baseline["features"]:
        if feature["kind"] == "numeric":
            frame[feature["name"]] = pd.to_numeric(frame[feature["name"]], errors="coerce")
    return frame


def baseline_file(folder: Path) -> Path:
    """``baseline.json`` in ``folder``, or its only JSON file (a baseline under another name)."""
    path = folder / "baseline.json"
    others = sorted(folder.rglob("*.json")) if folder.is_dir() else []
    return others[0] if not path.is_file() and len(others) == 1 else path


def serving_baseline(endpoint: str, client: Any = None) -> tuple[str, str]:
    """(baseline S3 URI, model package ARN) of the version ``endpoint`` serves now, read the way
    SageMaker resolves it: endpoint -> configuration -> model -> model package."""
    import boto3

    sm = client or boto3.client("sagemaker")
    config = sm.describe_endpoint(EndpointName=endpoint)["EndpointConfigName"]
    variant = sm.describe_endpoint_config(EndpointConfigName=config)["ProductionVariants"][0]
    model = sm.describe_model(ModelName=variant["ModelName"])
    container = model.get("PrimaryContainer") or (model.get("Containers") or [{}])[0]
    package = container.get("ModelPackageName")
    if not package:
        raise SettingError(f"endpoint {endpoint}: model {variant['ModelName']} is not created "
                           "from a model package, so it has no registered baseline")
    described = sm.describe_model_package(ModelPackageName=package)
    quality = (described.get("DriftCheckBaselines") or {}).get("ModelDataQuality") or {}
    uri = (quality.get("Statistics") or {}).get("S3Uri")
    if not uri:
        raise SettingError(f"endpoint {endpoint}: {package} was registered without a drift "
                           "baseline (DriftCheckBaselines.ModelDataQuality.Statistics)")
    return str(uri), str(package)


def fetch_baseline(settings: Settings, folder: Path) -> tuple[Path, str, str | None]:
    """The baseline file to compare with: BASELINE_URI when set, else the serving version's
    (downloaded into ``folder``); with the S3 URI and the model package it belongs to."""
    uri, package = settings.baseline_uri, None
    if not uri:
        local = baseline_file(folder)
        if local.is_file():
            return local, str(local), None
        uri, package = serving_baseline(settings.endpoint)
    import boto3

    bucket, _, key = uri.removeprefix("s3://").partition("/")
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / "baseline.json"
    target.write_bytes(boto3.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read())
    return target, uri, package


def run(settings: Settings) -> tuple[dict[str, Any], DriftResult]:
    """Compute the drift of the window, write the reports, publish the metrics."""
    path, baseline_uri, package = fetch_baseline(settings, settings.root / "input" / "baseline")
    baseline = read_baseline(path)
    capture = settings.root / "input" / "capture"
    files = window_files(capture, settings.window_start, settings.now) if capture.is_dir() else []
    window = read_window(files, len(baseline["features"]))
    nothing = window.requests == 0
    frame = frame_of(window.rows, baseline) if window.inputs_seen or nothing else None
    scores = np.asarray(window.scores, dtype=float) if window.outputs_seen or nothing else None
    result = compare(baseline, frame, scores, settings.thresholds, settings.min_records,
                     set(settings.ignore))
    data = {**report(result, settings, window), "baseline": baseline_uri,
            "model_package": package}
    target = settings.root / "output" / "report"
    target.mkdir(parents=True, exist_ok=True)
    (target / "report.json").write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    (target / "report.html").write_text(render_html(data, result), encoding="utf-8")
    if settings.publish:
        publish(metric_data(result, settings.project, settings.now), settings.namespace)
    return data, result


def main(env: Mapping[str, str] | None = None) -> int:
    try:
        settings = Settings.from_env(os.environ if env is None else env)
        data, result = run(settings)
    except (SettingError, ValueError) as exc:
        print(f"drift_check: {exc}", file=sys.stderr)
        return 2
    drifted = ", ".join(result.drifted) or "none"
    print(f"drift-check {settings.project}/{settings.endpoint}: {result.status}, "
          f"{result.records} records from {data['files_read']} files ({data['malformed']} "
          f"malformed), drifted: {drifted}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
