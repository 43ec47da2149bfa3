"""`mlops demo`: the whole platform working end to end on the local sandbox, narrated.

The demo is a list of named steps (``STEPS``); each takes the shared ``Demo`` context and returns
a one-line result. Every step goes through the same library functions as the `mlops` commands
(sandbox provisioning, `pipelines submit`, `models register/approve/promote`), so the demo shows
the tools a platform team uses, not a separate script.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import typer

from common import tokens
from mlops.console import err, out
from mlops.errors import EXIT_CHECK_FAILED, EXIT_INTERRUPTED

DEMO_STACKS = ("dev", "staging", "prod")
PROJECT = "churn"
INBOX = "{stem}-alerts-demo-inbox"


@dataclass
class Demo:
    """What the steps share: the root, the sandbox server, stack outputs and what was made."""

    root: Path
    state: Any  # mlops.sandbox.server.ServerState
    aws: Any  # mlops.ops.aws.AwsClients of the sandbox (the process environment points there)
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    facts: dict[str, Any] = field(default_factory=dict)

    def client(self, service: str) -> Any:
        return self.state.client(service)

    def stem(self, stack: str) -> str:
        return str(self.outputs[stack]["topicArn"].rsplit(":", 1)[-1].removesuffix("-alerts"))


@dataclass(frozen=True)
class Step:
    key: str
    title: str
    narration: str
    run: Callable[[Demo], str]


def provision_all(demo: Demo) -> str:
    from mlops.commands.sandbox import provision_stacks

    results = provision_stacks(list(DEMO_STACKS), quiet=True)
    parts = []
    for stack, result in results.items():
        demo.outputs[stack] = result.plan.outputs
        demo.counts[stack] = dict(Counter(o.type for o in result.outcomes if o.simulated))
        if result.failed:
            first = result.failed[0]
            raise RuntimeError(f"{stack}: {first.name} ({first.type}) failed: {first.detail}")
        simulated = sum(1 for o in result.outcomes if o.simulated)
        parts.append(f"{stack}: {simulated}/{len(result.outcomes)} simulated")
    return "; ".join(parts)


def submit_pipeline(demo: Demo) -> str:
    """Validate the churn project for dev (render + platform rules), then submit it the way
    `mlops pipelines submit` does: code uploaded, pipeline upserted, an execution started."""
    from mlops.ops import pipelines

    account = demo.aws.identity()["Account"]
    prepared = pipelines.prepare(demo.root, PROJECT, "dev", account_id=account)
    if prepared.findings:
        raise RuntimeError(f"{PROJECT} does not validate in dev: {prepared.findings[0]}")
    submission = pipelines.submit(prepared, demo.state.endpoint)
    execution = submission.execution_arn or ""
    sm = demo.client("sagemaker")
    status = sm.describe_pipeline_execution(PipelineExecutionArn=execution)
    demo.facts["execution"] = execution
    steps = len(json.loads(prepared.definition)["Steps"])
    return (f"validated ({steps} top-level steps, no rule findings); "
            f"{prepared.context.pipeline_name} {submission.action}, "
            f"execution {execution.rsplit('/', 1)[-1]} {status['PipelineExecutionStatus']}")


def seed_features(demo: Demo) -> str:
    """The churn project's sample records into the dev feature group's offline store."""
    from mlops.local import launch

    written = launch.seed(demo.root, PROJECT, "dev", aws=demo.aws)
    return "; ".join(f"{count} {group} records -> {uri}" for group, (uri, count) in written.items())


def train_locally(demo: Demo) -> str:
    """`mlops pipelines run churn --local`: every step for real on this machine, against the
    sandbox; the Register step puts the trained model into the dev registry."""
    from mlops.local import launch

    report = launch.start(demo.root, PROJECT, "dev", aws=demo.aws)
    if report.failure is not None:
        tail = " | ".join(report.failure.log_tail[-3:])
        raise RuntimeError(f"local run {report.run_id} failed at {report.failure.name}: "
                           f"{report.failure.detail}" + (f" ({tail})" if tail else ""))
    register = next(s for s in report.steps if s.name == "Register")
    arn = register.outputs[0]
    version = int(arn.rsplit("/", 1)[-1])
    sm, s3 = demo.client("sagemaker"), demo.client("s3")
    package = sm.describe_model_package(ModelPackageName=arn)
    report_uri = package["ModelMetrics"]["ModelQuality"]["Statistics"]["S3Uri"]
    bucket, key = report_uri.removeprefix("s3://").split("/", 1)
    auc = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())["metrics"]["auc"]["value"]
    # A re-run reuses cached steps, so the test split is where Preprocess put it, not this run's.
    preprocess = next(s for s in report.steps if s.name == "Preprocess")
    test_split = next(uri for uri in preprocess.outputs if uri.rstrip("/").endswith("/test"))
    demo.facts.update(package=arn, auc=auc, test_split=test_split.rstrip("/") + "/test.csv",
                      versions={"dev": version})
    ran = sum(1 for s in report.steps if s.status == "Succeeded")
    cached = sum(1 for s in report.steps if s.status == "Cached")
    return (f"run {report.run_id}: {ran} steps ran" + (f", {cached} cached" if cached else "")
            + f"; XGBoost test AUC {auc:.3f}; registered {PROJECT} v{version} "
              f"({package['ModelApprovalStatus']})")


def approve_model(demo: Demo) -> str:
    from mlops.ops import models

    version = demo.facts["versions"]["dev"]
    reason = f"demo: measured auc {demo.facts['auc']:.3f} meets the threshold"
    approved = models.approve(demo.root, PROJECT, "dev", version, reason, aws=demo.aws)
    return f"v{version} is {approved.status} in dev (artifact checksum recorded)"


def demo_root(demo: Demo) -> Path:
    """A copy of the project for the demo's pins: its own stacks/ (so the checkout's stack
    files stay as they are), the checkout's pipelines/ and render cache."""
    from mlops.sandbox.server import sandbox_dir

    root = sandbox_dir() / "demo-root"
    if not (root / "stacks").is_dir():
        root.mkdir(parents=True, exist_ok=True)
        shutil.copytree(demo.root / "stacks", root / "stacks")
    for shared in ("pipelines", ".cache"):
        link = root / shared
        if not link.exists():
            (demo.root / shared).mkdir(exist_ok=True)
            link.symlink_to(demo.root / shared, target_is_directory=True)
    return root


def promote(source: str, target: str, pin: bool = False) -> Callable[[Demo], str]:
    """Promote the demo's version through the gates; ``pin`` writes the version into the
    demo's copy of the target stack file (never the checkout's)."""
    def run(demo: Demo) -> str:
        from mlops.ops import models, promotion

        aws = demo.aws
        version = demo.facts["versions"][source]
        note = ""
        if source != "dev":  # promoted versions arrive pending; a reviewer approves them there
            models.approve(demo.root, PROJECT, source, version, f"demo: reviewed in {source}",
                           aws=aws)
            note = f"approved v{version} in {source}; "
        result = promotion.promote(demo.root, PROJECT, version, source, target, pin=pin,
                                    pins_root=demo_root(demo) if pin else None, aws=aws)
        if result.outcome not in ("promoted", "unchanged", "completed"):
            blocked = next((g for g in result.gates if not g.passed), None)
            why = f"{blocked.name}: {blocked.detail}" if blocked else result.outcome
            raise RuntimeError(f"promotion {source} -> {target} blocked ({why})")
        demo.facts["versions"][target] = result.target_version
        return (f"{note}v{version} in {source} -> v{result.target_version} in {target} "
                f"({result.target_status}), {len(result.gates)} gates passed")
    return run


SERVED_STACK = "staging"
REQUESTS = 25


def deploy_endpoint(demo: Demo) -> str:
    """`pulumi up` of staging again, from the demo's copy whose stack file now pins the
    promoted version: the program adds the model, its configuration and the endpoint."""
    from mlops.sandbox import provision

    result = provision.provision(demo_root(demo), SERVED_STACK, demo.state)
    if result.failed:
        first = result.failed[0]
        raise RuntimeError(f"{first.name} ({first.type}) failed: {first.detail}")
    demo.outputs[SERVED_STACK] = result.plan.outputs
    demo.counts[SERVED_STACK] = dict(Counter(o.type for o in result.outcomes if o.simulated))
    endpoint = result.plan.outputs["endpoints"][PROJECT]
    configs = [r for r in result.plan.custom_resources()
               if r.type == tokens.SAGEMAKER_ENDPOINT_CONFIGURATION]
    demo.facts["endpoint"] = endpoint
    routing = next(r for r in result.plan.custom_resources()
                   if r.type == tokens.SAGEMAKER_ENDPOINT).inputs["deploymentConfig"][
        "blueGreenUpdatePolicy"]["trafficRoutingConfiguration"]["type"]
    return (f"{endpoint} serves {PROJECT} v{demo.facts['versions'][SERVED_STACK]} "
            f"(config {configs[0].inputs['name']}, blue/green {routing.lower()}, "
            "network isolation on, data capture encrypted with the staging key)")


def invoke_endpoint(demo: Demo) -> str:
    """Requests through plain boto3 sagemaker-runtime; the sandbox answers with the model's
    real predictions and captures what it saw; then `mlops endpoints status`."""
    from infra.components.serving import capture_uri
    from mlops.ops.endpoints import endpoint_states

    s3 = demo.client("s3")
    split_bucket, split_key = demo.facts["test_split"].removeprefix("s3://").split("/", 1)
    test = s3.get_object(Bucket=split_bucket, Key=split_key)["Body"].read()
    rows = [line.split(",", 1)[1] for line in test.decode().splitlines()[:REQUESTS]]
    runtime = demo.client("sagemaker-runtime")
    scores = []
    for row in rows:  # one record per request, as a client would send them
        answer = runtime.invoke_endpoint(EndpointName=demo.facts["endpoint"], Body=row,
                                         ContentType="text/csv")
        scores.append(float(answer["Body"].read().decode().strip()))
    capture = capture_uri(demo.outputs[SERVED_STACK]["buckets"]["raw-data"], PROJECT)
    capture_bucket, capture_prefix = capture.removeprefix("s3://").split("/", 1)
    captured = 0
    for page in s3.get_paginator("list_objects_v2").paginate(
            Bucket=capture_bucket, Prefix=f"{capture_prefix}/"):
        for item in page.get("Contents", []):
            body = s3.get_object(Bucket=capture_bucket, Key=item["Key"])["Body"].read()
            captured += sum(1 for line in body.decode().splitlines() if line.strip())
    states = endpoint_states(demo_root(demo), SERVED_STACK, aws=demo.aws)
    agree = all(state.agrees for state in states)
    if not agree:
        raise RuntimeError(f"mlops endpoints status: {[s.detail for s in states]}")
    shown = ", ".join(f"{score:.3f}" for score in scores[:3])
    return (f"{len(scores)} predictions ({shown}, ...); {captured} records captured under "
            f"{capture}/; mlops endpoints status: serving "
            f"v{states[0].serving}, pinned v{states[0].pinned}, they agree")


def trip_alarm(demo: Demo) -> str:
    """Route an alarm to the dev alert topic, trip it, and read it back from a subscribed queue."""
    from mlops.sandbox import alarms

    topic, stem = demo.outputs["dev"]["topicArn"], demo.stem("dev")
    cw, sns, sqs = demo.client("cloudwatch"), demo.client("sns"), demo.client("sqs")
    routed = [a for a in cw.describe_alarms(AlarmNamePrefix=f"{stem}-{PROJECT}")["MetricAlarms"]
              if topic in a.get("AlarmActions", [])]
    if not routed:
        raise RuntimeError(f"no alarm of {PROJECT} in dev notifies {topic} "
                           f"(is alarms.enabled false in pipelines/{PROJECT}/project.yaml?)")
    name = routed[0]["AlarmName"]
    queue_url = sqs.create_queue(QueueName=INBOX.format(stem=stem))["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"]["QueueArn"]
    subscribed = any(s["Endpoint"] == queue_arn for s in
                     sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"])
    if not subscribed:
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn,
                      Attributes={"RawMessageDelivery": "true"})
    reason = f"demo run {time.time_ns()}: 1 failed execution in the last 5 minutes"
    alarms.trip(cw, name, reason)
    state = cw.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]["StateValue"]
    for _ in range(20):
        for message in sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10,
                                           WaitTimeSeconds=0).get("Messages", []):
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
            body = json.loads(message["Body"])
            if body.get("NewStateReason") == reason:  # not an older run's message
                demo.facts["alarm"] = name
                # Recovered, so the promotion gates ("no alarms firing") pass on the next run.
                cw.set_alarm_state(AlarmName=name, StateValue="OK",
                                   StateReason="demo: the failure was looked into")
                return (f"{name} went to {state}; the alert topic delivered it to "
                        f"{queue_arn.rsplit(':', 1)[-1]}; then back to OK")
        time.sleep(0.1)
    raise RuntimeError(f"alarm {name} went to {state} but its notification never reached {topic}")


DRIFT_CLOCK = "demo-drift.json"
DRIFT_REQUESTS = 120
SETTLE_SECONDS = 20  # for EventBridge's delivery to the pipeline target
RETRAIN_SECONDS = 90  # for the triggered training run in the sandbox server


def _drift_clock(demo: Demo) -> datetime | None:
    """When the demo's first hourly check runs (its checks span two more hours).

    A later demo run in the same sandbox checks after the alarm's evaluation periods have moved
    past the earlier run's datapoints (CloudWatch data cannot be deleted), and the traffic sent
    now must stay inside the check's window: None when no such time is left (after about five
    demo runs in a day in one sandbox).
    """
    from mlops.sandbox.server import sandbox_dir

    plan = demo.facts["monitoring"]
    period = timedelta(seconds=plan.period_seconds)
    now = datetime.now(UTC) + timedelta(minutes=1)
    path = sandbox_dir() / DRIFT_CLOCK
    try:
        last = datetime.fromisoformat(json.loads(path.read_text(encoding="utf-8"))["last"])
    except (OSError, ValueError, KeyError):
        last = None
    start = now if last is None else max(now, last + plan.debounce.evaluation_periods * period)
    if start + 2 * period - timedelta(hours=plan.window_hours) >= now:
        return None
    return start


def _check_time(demo: Demo, periods: int) -> datetime:
    """The time of the hourly check ``periods`` after the demo's first one."""
    return demo.facts["drift_start"] + periods * timedelta(
        seconds=demo.facts["monitoring"].period_seconds)


def _save_clock(last: datetime) -> None:
    from mlops.sandbox.server import sandbox_dir

    (sandbox_dir() / DRIFT_CLOCK).write_text(json.dumps({"last": last.isoformat()}) + "\n",
                                             encoding="utf-8")


def _send(demo: Demo, rows: list[str]) -> None:
    runtime = demo.client("sagemaker-runtime")
    for row in rows:
        runtime.invoke_endpoint(EndpointName=demo.facts["endpoint"], Body=row,
                                ContentType="text/csv")


def _test_rows(demo: Demo, count: int) -> list[str]:
    s3 = demo.client("s3")
    bucket, key = demo.facts["test_split"].removeprefix("s3://").split("/", 1)
    rows = [line.split(",", 1)[1] for line in
            s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode().splitlines() if line]
    return [rows[i % len(rows)] for i in range(count)]


def shifted(rows: list[str], by: float = 3.0) -> tuple[list[str], list[int]]:
    """The rows with every numeric column (more than two distinct values: not a one-hot one)
    moved up by ``by`` of its standard deviations; and the indexes of those columns."""
    import numpy as np

    table = np.array([[float(v) for v in row.split(",")] for row in rows])
    numeric = [i for i in range(table.shape[1]) if len(np.unique(table[:, i])) > 2]
    table[:, numeric] += by * table[:, numeric].std(axis=0)
    return [",".join(f"{v:g}" for v in row) for row in table], numeric


def _check(demo: Demo, at: datetime) -> Any:
    from mlops.ops.drift import check

    result = check(demo_root(demo), PROJECT, SERVED_STACK, at=at, aws=demo.aws)
    if result.failure is not None:
        raise RuntimeError(f"drift check {result.run_id} failed: {result.failure}")
    return result


def _alarm_state(demo: Demo) -> str:
    name = demo.facts["monitoring"].alarm_name
    return str(demo.client("cloudwatch").describe_alarms(AlarmNames=[name])["MetricAlarms"][0][
        "StateValue"])


def _executions(demo: Demo) -> set[str]:
    sm = demo.client("sagemaker")
    pipeline = demo.facts["monitoring"].training_pipeline
    arns: set[str] = set()
    for page in sm.get_paginator("list_pipeline_executions").paginate(PipelineName=pipeline):
        arns.update(e["PipelineExecutionArn"] for e in page["PipelineExecutionSummaries"])
    return arns


def _triggered(demo: Demo, before: set[str], source: str) -> dict[str, Any]:
    """The one execution started since ``before``, run to its end; its trigger record."""
    sm, s3 = demo.client("sagemaker"), demo.client("s3")
    deadline = time.monotonic() + SETTLE_SECONDS
    new = _executions(demo) - before
    while not new and time.monotonic() < deadline:
        time.sleep(0.2)
        new = _executions(demo) - before
    if len(new) != 1:
        raise RuntimeError(f"{len(new)} executions of {demo.facts['monitoring'].training_pipeline}"
                           f" started, not one")
    [arn] = new
    parameters = {p["Name"]: p["Value"] for p in sm.list_pipeline_parameters_for_execution(
        PipelineExecutionArn=arn)["PipelineParameters"]}
    if parameters.get("TriggerSource") != source:
        raise RuntimeError(f"{arn} started with TriggerSource={parameters.get('TriggerSource')}, "
                           f"not {source}")
    deadline = time.monotonic() + RETRAIN_SECONDS
    status = ""
    while time.monotonic() < deadline:
        described = sm.describe_pipeline_execution(PipelineExecutionArn=arn)
        status = described["PipelineExecutionStatus"]
        if status in ("Succeeded", "Failed", "Stopped"):
            break
        time.sleep(0.5)
    if status != "Succeeded":
        reason = described.get("FailureReason", "still running") if status else "no status"
        raise RuntimeError(f"the triggered execution {arn} ended {status or 'never'}: {reason}")
    from infra.projects.triggers import audit_prefix

    bucket = demo.outputs[SERVED_STACK]["buckets"]["model-artifacts"]
    key = f"{audit_prefix(PROJECT)}{arn.rsplit('/', 1)[-1]}.json"
    record = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    return {**record, "uri": f"s3://{bucket}/{key}", "parameters": parameters}


def _outcome(record: dict[str, Any]) -> str:
    execution = record["execution"].rsplit("/", 1)[-1]
    if record["run"]:
        return f"execution {execution} retrained"
    return f"execution {execution} {record['outcome']} ({record['reason']})"


def drift_none(demo: Demo) -> str:
    """Normal traffic (the test split) to the staging endpoint, then the hourly drift check."""
    from infra.components.serving import capture_uri
    from mlops.local import launch
    from mlops.ops.drift import monitored
    from mlops.ops.environment import environment

    env = environment(demo_root(demo), SERVED_STACK, demo.aws)
    demo.facts["monitoring"] = monitored(demo_root(demo), PROJECT, env.settings, env.naming)
    # The retraining that drift starts reads the staging feature store.
    launch.seed(demo.root, PROJECT, SERVED_STACK, aws=demo.aws)
    # Each demo run's window starts empty: earlier demo runs' shifted traffic is removed.
    s3 = demo.client("s3")
    capture = capture_uri(demo.outputs[SERVED_STACK]["buckets"]["raw-data"], PROJECT)
    bucket, prefix = capture.removeprefix("s3://").split("/", 1)
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=f"{prefix}/"):
        for item in page.get("Contents", []):
            s3.delete_object(Bucket=bucket, Key=item["Key"])
    start = _drift_clock(demo)
    if start is None:
        demo.facts["drift_skip"] = (
            "skipped: earlier demo runs in this sandbox used up the alarm's periods of the next "
            "day (`mlops sandbox down`, then make demo, to see the drift loop again)")
        return demo.facts["drift_skip"]
    demo.facts["drift_start"] = start
    _send(demo, _test_rows(demo, DRIFT_REQUESTS))
    result = _check(demo, start)
    if result.drift != "no-drift":
        raise RuntimeError(f"normal traffic: the drift check says {result.drift}")
    _save_clock(start)
    worst = max(result.report["features"], key=lambda f: f["psi"])
    return (f"{result.report['records']} records against the baseline of the served version: "
            f"no drift (largest PSI {worst['psi']:.3f}, {worst['name']}); alarm "
            f"{demo.facts['monitoring'].alarm_name} {_alarm_state(demo)}")


def drift_shift(demo: Demo) -> str:
    """Shifted traffic; two hourly checks drift; the M-of-N alarm fires on the second; the
    EventBridge rule starts the training pipeline with TriggerSource=drift."""
    if "drift_skip" in demo.facts:
        return str(demo.facts["drift_skip"])
    rows, numeric = shifted(_test_rows(demo, DRIFT_REQUESTS))
    _send(demo, rows)
    before = _executions(demo)
    first = _check(demo, _check_time(demo, 1))
    after_one = _alarm_state(demo)
    if first.drift != "drift" or after_one == "ALARM":
        raise RuntimeError(f"first shifted check: {first.drift}, alarm {after_one} (expected "
                           "drift, and no alarm after one period)")
    second = _check(demo, _check_time(demo, 2))
    _save_clock(_check_time(demo, 2))
    after_two = _alarm_state(demo)
    if after_two != "ALARM":
        raise RuntimeError(f"two drifted checks left the alarm {after_two}")
    record = _triggered(demo, before, "drift")
    demo.facts["drift_html"] = second.html_uri
    registered = ""
    if record["run"]:
        group = demo.outputs[SERVED_STACK]["modelPackageGroups"][PROJECT]
        packages = demo.client("sagemaker").list_model_packages(
            ModelPackageGroupName=group, SortBy="CreationTime", SortOrder="Descending")[
            "ModelPackageSummaryList"]
        registered = (f", registered v{packages[0]['ModelPackageVersion']} "
                      f"{packages[0]['ModelApprovalStatus']}")
    return (f"{len(numeric)} numeric features shifted by 3 standard deviations; "
            f"{second.report['drifted_features']} drifted; alarm {after_one} after one drifted "
            f"check, {after_two} after two; "
            f"EventBridge started {record['parameters']['TriggerSource']} "
            f"({record['parameters'].get('TriggerDetail', '')}): {_outcome(record)}{registered}; "
            f"audit {record['uri']}; drift report {second.html_uri}")


def drift_cooldown(demo: Demo) -> str:
    """The alarm again, and a new data file, within the cool-down: each starts an execution that
    ends at once, skipped, and says why in the audit."""
    if "drift_skip" in demo.facts:
        return str(demo.facts["drift_skip"])
    plan = demo.facts["monitoring"]
    cw, s3 = demo.client("cloudwatch"), demo.client("s3")
    cw.set_alarm_state(AlarmName=plan.alarm_name, StateValue="OK",
                       StateReason="demo: an operator reset the alarm after the retraining")
    before = _executions(demo)
    # the hour of the last check, checked again: its datapoint re-evaluates the alarm
    third = _check(demo, _check_time(demo, 2))
    if _alarm_state(demo) != "ALARM":
        raise RuntimeError(f"a third drifted check ({third.drift}) did not raise the alarm")
    again = _triggered(demo, before, "drift")
    if again["run"]:
        raise RuntimeError(f"{again['execution']} retrained within the cool-down")
    bucket = demo.outputs[SERVED_STACK]["buckets"]["raw-data"]
    key = f"{plan.new_data_prefix}demo-{time.strftime('%Y%m%dT%H%M%S')}.csv"
    before = _executions(demo)
    s3.put_object(Bucket=bucket, Key=key, Body="\n".join(_test_rows(demo, 10)).encode(),
                  ServerSideEncryption="aws:kms",
                  SSEKMSKeyId=demo.outputs[SERVED_STACK]["keyArn"])
    new_data = _triggered(demo, before, "new-data")
    # Handled: the retrained version waits for review. Back to OK, so the promotion gate
    # ("no alarms firing") passes on the next demo run.
    cw.set_alarm_state(AlarmName=plan.alarm_name, StateValue="OK",
                       StateReason="demo: drift handled, the retrained version awaits review")
    return (f"drift alarm again: {_outcome(again)}; new file s3://{bucket}/{key}: "
            f"TriggerSource=new-data, {_outcome(new_data)}")


# The demo, in order. Pipeline submission and promotion plug in at "submit" and "promote-*".
STEPS: list[Step] = [
    Step("provision", "Provision dev, staging and prod",
         "The same Pulumi program `make up` deploys runs against the local moto server: "
         "each registration becomes real boto3 calls (KMS key, buckets, role, registry, alerts).",
         provision_all),
    Step("submit", "Submit the churn pipeline in dev",
         "Data scientists submit their SageMaker pipeline in dev; moto finishes it at once.",
         submit_pipeline),
    Step("seed", "Seed the dev feature store",
         "Sample customer records (pipelines/churn/sample.py) land in the offline store of the "
         "churn feature group, where the pipeline's Preprocess step reads them.", seed_features),
    Step("train", "Run the churn pipeline locally",
         "The deployed definition runs step by step on this machine: preprocess, train XGBoost, "
         "evaluate, check the AUC against the threshold, register the model in the dev "
         "registry (mlops pipelines run churn --local).", train_locally),
    Step("approve", "Approve the model version",
         "A reviewer approves the version in the dev registry.", approve_model),
    Step("promote-staging", "Promote to staging and pin it",
         "The approved version is copied (artifact, package, lineage) into the staging registry "
         "through the gates: allowed source, approved, metric threshold, checksum, no alarms.",
         promote("dev", "staging", pin=True)),
    Step("promote-prod", "Promote to prod",
         "A reviewer approves it in staging; the same gates take it into prod (the demo does not "
         "pin the version into stacks/Pulumi.prod.yaml, so your checkout stays clean).",
         promote("staging", "prod")),
    Step("deploy", "Serve the pinned version in staging",
         "The promotion pinned the version in a copy of stacks/Pulumi.staging.yaml (your "
         "checkout stays clean); applying staging again creates the model, its endpoint "
         "configuration and the endpoint, rolled out blue/green behind rollback alarms.",
         deploy_endpoint),
    Step("invoke", "Send requests to the endpoint",
         "Plain boto3 sagemaker-runtime requests get the model's real predictions; the "
         "endpoint captures requests and answers, encrypted, for drift checks.", invoke_endpoint),
    Step("drift-none", "Check normal traffic for drift",
         "More requests like the training data; the platform's drift-check pipeline (run here "
         "as the hourly schedule would) compares the captured window with the baseline "
         "registered with the served version: no drift, the drift alarm stays OK.", drift_none),
    Step("drift-shift", "Shift the traffic: drift, alarm, retraining",
         "Requests with the numeric features shifted; two hourly checks drift; the alarm needs "
         "2 of 3 periods, so it fires on the second; its EventBridge rule starts the training "
         "pipeline (TriggerSource=drift) and the sandbox runs it; what it registers waits for "
         "approval. A later demo run in this sandbox is inside the cool-down, and says so.",
         drift_shift),
    Step("drift-cooldown", "Trigger again within the cool-down",
         "The alarm fires again and a new data file lands under the project's prefix: each "
         "starts an execution whose Trigger step ends it at once (skipped: cool-down), on record "
         "in the audit log.", drift_cooldown),
    Step("alarm", "Trip an alarm",
         "An alarm on failed pipeline executions fires; the dev alert topic delivers it to a "
         "queue subscribed to it.", trip_alarm),
]


def run_demo(root: Path, steps: list[Step] | None = None
             ) -> tuple[Demo, list[tuple[Step, str, str]]]:
    """Run the steps against the sandbox (started if needed); (step, seconds, result) each."""
    from mlops.ops.aws import AwsClients
    from mlops.sandbox import provision, server

    state, _ = server.start(provision.region_of(root, DEMO_STACKS[0]))
    # Every client this process makes (the ops modules' included) talks to the sandbox with
    # its fake credentials, whatever AWS profile or keys the shell has.
    os.environ.pop("AWS_PROFILE", None)
    os.environ.update(state.env())
    demo = Demo(root=root, state=state, aws=AwsClients(region=state.region))
    results: list[tuple[Step, str, str]] = []
    selected = steps or STEPS
    for i, step in enumerate(selected, 1):
        out.print(f"\n[bold]{i}/{len(selected)} {step.title}[/bold]")
        out.print(f"[dim]{step.narration}[/dim]")
        started = time.monotonic()
        with err.status(step.title):
            result = step.run(demo)
        out.print(f"  [green]done[/green] {result} [dim]({time.monotonic() - started:.1f}s)"
                  "[/dim]", markup=True)
        results.append((step, f"{time.monotonic() - started:.1f}s", result))
    return demo, results


def summary(results: list[tuple[Step, str, str]]):  # type: ignore[no-untyped-def]
    """Each step and how long it took (its result was printed in full as it finished)."""
    from rich.table import Table

    table = Table(title="demo summary", title_justify="left")
    table.add_column("step")
    table.add_column("took", justify="right")
    for step, took, _ in results:
        table.add_row(step.title, took)
    return table


INVENTORY = {
    "buckets": tokens.S3_BUCKET,
    "KMS keys": tokens.KMS_KEY,
    "roles": tokens.IAM_ROLE,
    "feature groups": tokens.SAGEMAKER_FEATURE_GROUP,
    "pipelines": tokens.SAGEMAKER_PIPELINE,
    "alarms": tokens.METRIC_ALARM,
    "endpoints": tokens.SAGEMAKER_ENDPOINT,
}


def inventory(demo: Demo):  # type: ignore[no-untyped-def]
    """What is in the sandbox now, per stack (model versions asked live from the registry)."""
    from rich.table import Table

    table = Table(title="in the sandbox now", title_justify="left")
    stacks = list(demo.counts)
    table.add_column("")
    for stack in stacks:
        table.add_column(stack, justify="right")
    table.add_row("resources", *(str(sum(demo.counts[s].values())) for s in stacks))
    for label, token in INVENTORY.items():
        table.add_row(label, *(str(demo.counts[s].get(token, 0)) for s in stacks))
    sm = demo.client("sagemaker")
    cells = []
    for stack in stacks:
        group = demo.outputs[stack].get("modelPackageGroups", {}).get(PROJECT)
        versions = sm.list_model_packages(ModelPackageGroupName=group)[
            "ModelPackageSummaryList"] if group else []
        approved = sum(1 for v in versions if v["ModelApprovalStatus"] == "Approved")
        cells.append(f"{len(versions)} ({approved} approved)")
    table.add_row(f"{PROJECT} model versions", *cells)
    return table


def demo() -> None:
    """Show the whole platform working on a local simulated AWS (no account needed)."""
    from mlops.commands.common import project_root
    from mlops.console import fail
    from mlops.sandbox import server

    started = time.monotonic()
    out.print("[bold]mlops-platform demo[/bold]: everything below runs against a local moto "
              "server, no AWS account involved.")
    try:
        context, results = run_demo(project_root())
    except KeyboardInterrupt:
        fail("demo interrupted; the sandbox keeps what was done (mlops sandbox down to stop it)")
        raise typer.Exit(EXIT_INTERRUPTED) from None
    except Exception as exc:  # a demo step broke: one line, not a traceback
        from mlops.errors import EXIT_USAGE, classify

        known = classify(exc)
        if known is not None and known[0] == EXIT_USAGE:
            raise  # bad input (a stack file, a manifest): the usual one line and exit 2
        fail(f"demo step failed: {known[1] if known else exc}")
        raise typer.Exit(EXIT_CHECK_FAILED) from None
    out.print()
    out.print(summary(results))
    if context.counts:
        out.print(inventory(context))
    state = server.read_state()
    endpoint = state.endpoint if state else "the sandbox"
    out.print(f"\nFinished in {time.monotonic() - started:.0f}s. The sandbox keeps running at "
              f"{endpoint}; look around with plain boto3 or the AWS CLI:")
    out.print('  eval "$(.venv/bin/mlops sandbox env)" && aws s3 ls', markup=False)
    out.print("  .venv/bin/mlops sandbox status    .venv/bin/mlops sandbox down", markup=False)
