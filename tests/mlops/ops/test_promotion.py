"""Register, approve, promote dev -> staging -> prod on moto: lineage, pins, audit, idempotency."""

from __future__ import annotations

import hashlib
import json
import threading

import pytest

from mlops.errors import UsageError
from mlops.ops import metrics, models, promotion
from mlops.ops.aws import OpsError
from mlops.ops.environment import NotProvisioned
from mlops.ops.promotion_plan import PromotionPlan
from mlops.ops.versions import describe_source
from tests.mlops.ops.world import ACCOUNT, REGION, World, provision


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_register_uploads_encrypted_artifact_with_checksum_and_metrics(world: World) -> None:
    version = world.register()
    sha = _sha(world.artifact.read_bytes())
    assert version.version == 1
    assert version.status == "PendingManualApproval"
    assert version.sha256 == sha
    assert version.metrics == {"auc": 0.91, "f1": 0.84}
    assert version.artifact == f"s3://{world.bucket('dev')}/models/churn/{sha}/model.tar.gz"
    s3 = world.boto("s3")
    head = s3.head_object(Bucket=world.bucket("dev"), Key=f"models/churn/{sha}/model.tar.gz")
    assert head["ServerSideEncryption"] == "aws:kms"
    assert head["Metadata"]["sha256"] == sha
    desc = world.boto("sagemaker").describe_model_package(ModelPackageName=version.arn)
    uri = desc["ModelMetrics"]["ModelQuality"]["Statistics"]["S3Uri"]
    bucket, key = uri[5:].split("/", 1)
    assert json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read()) == {"auc": 0.91, "f1": 0.84}
    container = desc["InferenceSpecification"]["Containers"][0]
    assert container["Image"] == f"683313688378.dkr.ecr.{REGION}.amazonaws.com/sagemaker-xgboost:1.7-1"
    assert desc["CustomerMetadataProperties"]["mlops:operator"] == "alice@example.com"


def test_register_from_s3_uri_and_custom_image(world: World) -> None:
    s3 = world.boto("s3")
    s3.create_bucket(Bucket="notebooks", CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_object(Bucket="notebooks", Key="runs/7/model.tar.gz", Body=b"from-a-notebook")
    version = models.register_model(world.root, "churn", "dev", "s3://notebooks/runs/7/model.tar.gz",
                                    {"auc": 0.7}, "my.registry/image:1", aws=world.aws)
    assert version.sha256 == _sha(b"from-a-notebook")
    assert version.artifact.startswith(f"s3://{world.bucket('dev')}/models/churn/")
    assert version.inference["Containers"][0]["Image"] == "my.registry/image:1"
    assert version.source["kind"] == "registration"
    assert version.source["from"] == "s3://notebooks/runs/7/model.tar.gz"


def test_happy_path_dev_staging_prod(world: World) -> None:
    dev = world.approved("dev")
    first = promotion.promote(world.root, "churn", dev.version, "dev", "staging", aws=world.aws)
    assert first.passed and first.outcome == "promoted"
    assert first.target_status == "PendingManualApproval"
    models.approve(world.root, "churn", "staging", first.target_version or 0, "soak ok", aws=world.aws)
    second = promotion.promote(world.root, "churn", first.target_version or 0, "staging", "prod",
                               aws=world.aws)
    assert second.passed and second.outcome == "promoted"
    assert second.target_status == "PendingManualApproval"  # prod: manual approval by default

    prod = models.list_versions(world.root, "churn", "prod", aws=world.aws)
    assert len(prod) == 1
    lineage = prod[0].metadata
    assert lineage["mlops:sourcePackageArn"] == first.target_arn
    assert lineage["mlops:sourceStack"] == "staging"
    assert lineage["mlops:sourceVersion"] == str(first.target_version)
    assert lineage["mlops:operator"] == "alice@example.com"
    assert lineage["mlops:gitCommit"] == "0123456789abcdef0123456789abcdef01234567"
    assert lineage["mlops:promotedAt"].endswith("Z")
    assert prod[0].metrics == {"auc": 0.91, "f1": 0.84}
    assert prod[0].source == {
        "kind": "promotion", "stack": "staging", "version": first.target_version,
        "packageArn": first.target_arn, "gitCommit": "0123456789abcdef0123456789abcdef01234567",
        "operator": "alice@example.com", "time": lineage["mlops:promotedAt"]}
    assert describe_source(prod[0].source) == f"promoted from staging v{first.target_version}"
    # The artifact was copied into prod's bucket, re-encrypted with prod's key, same bytes.
    sha = _sha(world.artifact.read_bytes())
    assert prod[0].artifact == f"s3://{world.bucket('prod')}/models/churn/{sha}/model.tar.gz"
    kms = world.boto("kms")
    prod_key = kms.describe_key(KeyId="alias/mlops-prod")["KeyMetadata"]["Arn"]
    head = world.boto("s3").head_object(Bucket=world.bucket("prod"), Key=f"models/churn/{sha}/model.tar.gz")
    assert head["SSEKMSKeyId"] == prod_key
    # Pinned in both target stack files.
    from mlops.ops.pins import read_pins

    # The pin names the promoted artifact too: Kubernetes serving loads exactly that object.
    def artifact(stack: str) -> str:
        return f"s3://{world.bucket(stack)}/models/churn/{sha}/model.tar.gz"

    assert read_pins(world.root, "staging") == {
        "churn": {"version": first.target_version, "packageArn": first.target_arn,
                  "artifactUri": artifact("staging"), "artifactSha256": sha}}
    assert read_pins(world.root, "prod") == {
        "churn": {"version": second.target_version, "packageArn": second.target_arn,
                  "artifactUri": artifact("prod"), "artifactSha256": sha}}
    assert read_pins(world.root, "dev") == {}
    # Approved in prod, then it can serve.
    approved = models.approve(world.root, "churn", "prod", second.target_version or 0, "CAB-42",
                              aws=world.aws)
    assert approved.status == "Approved"
    assert approved.approval == "approved by alice@example.com: CAB-42"


def test_promotion_is_idempotent(world: World) -> None:
    dev = world.approved()
    first = promotion.promote(world.root, "churn", dev.version, "dev", "staging", aws=world.aws)
    stack_file = (world.root / "stacks" / "Pulumi.staging.yaml").read_text()
    again = promotion.promote(world.root, "churn", dev.version, "dev", "staging", aws=world.aws)
    assert again.outcome == "unchanged"
    assert again.target_arn == first.target_arn
    assert again.pinned is False
    assert again.audit_key == first.audit_key
    assert len(world.packages("staging")) == 1
    assert [r["event"] for r in world.trail("staging")] == ["promoted"]
    assert (world.root / "stacks" / "Pulumi.staging.yaml").read_text() == stack_file


def test_concurrent_promotions_leave_one_package(world: World) -> None:
    dev = world.approved()
    barrier = threading.Barrier(2)
    results: list[promotion.PromotionResult] = []
    errors: list[BaseException] = []

    def run() -> None:
        barrier.wait()
        try:
            results.append(promotion.promote(world.root, "churn", dev.version, "dev", "staging",
                                             aws=world.aws, pin=False))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors
    assert len(world.packages("staging")) == 1
    assert {r.target_arn for r in results} == {world.packages("staging")[0]["ModelPackageArn"]}
    assert sorted(r.outcome for r in results) == ["promoted", "unchanged"]
    assert [r["event"] for r in world.trail("staging")] == ["promoted"]
    # The lock is released.
    s3 = world.boto("s3")
    assert s3.list_objects_v2(Bucket=world.bucket("staging"), Prefix="locks/").get("KeyCount") == 0


def test_dry_run_shows_gates_and_plan_and_changes_nothing(world: World) -> None:
    dev = world.approved()
    result = promotion.promote(world.root, "churn", dev.version, "dev", "staging", dry_run=True,
                               aws=world.aws)
    assert result.passed and result.outcome == "planned"
    assert any(line.startswith("copy s3://") for line in result.planned)
    assert any("pin churn in stacks/Pulumi.staging.yaml" in line for line in result.planned)
    assert world.packages("staging") == []
    assert world.trail("staging") == []
    assert "mlops:models" not in (world.root / "stacks" / "Pulumi.staging.yaml").read_text()


def test_no_pin_skips_the_stack_file(world: World) -> None:
    dev = world.approved()
    result = promotion.promote(world.root, "churn", dev.version, "dev", "staging", pin=False,
                               aws=world.aws)
    assert result.outcome == "promoted" and result.pinned is None
    assert "mlops:models" not in (world.root / "stacks" / "Pulumi.staging.yaml").read_text()


def test_auto_approve_target_starts_approved(world: World) -> None:
    path = world.root / "stacks" / "Pulumi.staging.yaml"
    path.write_text(path.read_text().replace("    allowFrom: [dev]\n",
                                             "    allowFrom: [dev]\n    autoApprove: true\n"))
    dev = world.approved()
    result = promotion.promote(world.root, "churn", dev.version, "dev", "staging", aws=world.aws)
    assert result.target_status == "Approved"
    assert world.packages("staging")[0]["ModelApprovalStatus"] == "Approved"


def test_audit_records_and_events(world: World) -> None:
    sqs = world.boto("sqs")
    queue = sqs.create_queue(QueueName="audit")["QueueUrl"]
    attrs = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]
    events = world.boto("events")
    events.put_rule(Name="mlops", EventPattern=json.dumps({"source": ["mlops.platform"]}))
    events.put_targets(Rule="mlops", Targets=[{"Id": "q", "Arn": attrs["QueueArn"]}])

    dev = world.register()
    models.reject(world.root, "churn", "dev", dev.version, "leaky feature", aws=world.aws)
    dev2 = world.approved()
    result = promotion.promote(world.root, "churn", dev2.version, "dev", "staging", aws=world.aws)

    trail = world.trail("dev")
    assert [r["event"] for r in sorted(trail, key=lambda r: r["time"])] == [
        "registered", "rejected", "registered", "approved"]
    rejected = next(r for r in trail if r["event"] == "rejected")
    assert rejected["reason"] == "leaky feature"
    assert rejected["operator"] == "alice@example.com"
    assert rejected["previousStatus"] == "PendingManualApproval"
    assert rejected["packageArn"] == dev.arn
    (promoted,) = world.trail("staging")
    assert promoted["event"] == "promoted"
    assert promoted["packageArn"] == result.target_arn
    assert promoted["source"] == {"stack": "dev", "version": dev2.version, "packageArn": dev2.arn,
                                  "artifact": dev2.artifact}
    assert promoted["artifactSha256"] == dev2.sha256
    assert promoted["gitCommit"] == "0123456789abcdef0123456789abcdef01234567"
    assert [g["passed"] for g in promoted["gates"]] == [True] * 6
    assert promoted["auditKey"] == result.audit_key
    # Audit objects are encrypted with the environment's key.
    head = world.boto("s3").head_object(Bucket=world.bucket("staging"), Key=result.audit_key or "")
    assert head["ServerSideEncryption"] == "aws:kms"

    received = []
    for _ in range(5):
        batch = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
        received += [json.loads(m["Body"]) for m in batch]
        if not batch:
            break
    assert sorted(e["detail-type"] for e in received) == sorted([
        "Model Version Registered", "Model Version Rejected", "Model Version Registered",
        "Model Version Approved", "Model Version Promoted"])
    assert all(e["source"] == "mlops.platform" for e in received)


def test_audit_objects_are_never_overwritten(world: World) -> None:
    from mlops.ops import audit

    target = audit.AuditTarget(bucket=world.bucket("dev"), key_arn=None)
    record = {"event": "approved", "project": "churn", "version": 1, "time": "2026-01-01T00:00:00Z"}
    key, written = audit.append(world.aws, target, record, idempotency="same")
    again, rewritten = audit.append(world.aws, target, {**record, "reason": "changed"},
                                    idempotency="same")
    assert (key, written) == (again, not rewritten) == (key, True)
    assert "reason" not in json.loads(world.boto("s3").get_object(
        Bucket=world.bucket("dev"), Key=key)["Body"].read())
    s3 = world.boto("s3")
    with pytest.raises(s3.exceptions.ClientError, match="PreconditionFailed"):
        s3.put_object(Bucket=world.bucket("dev"), Key=key, Body=b"{}", IfNoneMatch="*")


def test_list_shows_status_metrics_and_source(world: World) -> None:
    world.register()
    world.approved()
    versions = models.list_versions(world.root, "churn", "dev", aws=world.aws)
    assert [(v.version, v.status) for v in versions] == [(1, "PendingManualApproval"), (2, "Approved")]
    data = versions[1].to_dict()
    assert {"version", "status", "arn", "metrics", "source"} <= set(data)
    assert "inference" not in data


def test_missing_version_and_environment_are_one_line_errors(world: World) -> None:
    missing = r"churn version 9 not found in mlops-dev-churn \(stack dev; versions: none\)"
    with pytest.raises(UsageError, match=missing):
        promotion.promote(world.root, "churn", 9, "dev", "staging", aws=world.aws)
    with pytest.raises(UsageError, match="same stack"):
        promotion.promote(world.root, "churn", 1, "dev", "dev", aws=world.aws)
    with pytest.raises(UsageError, match="pipelines/nope/project.yaml"):
        models.list_versions(world.root, "nope", "dev", aws=world.aws)
    (world.root / "stacks" / "Pulumi.qa.yaml").write_text(
        (world.root / "stacks" / "Pulumi.staging.yaml").read_text())
    bucket = f"mlops-qa-model-artifacts-{ACCOUNT}-{REGION}"
    with pytest.raises(NotProvisioned, match=f"stack qa: bucket {bucket} not found"):
        models.register_model(world.root, "churn", "qa", str(world.artifact), world.metrics,
                              aws=world.aws)
    provision("qa", group=False)
    with pytest.raises(NotProvisioned, match="model package group mlops-qa-churn not found"):
        models.list_versions(world.root, "churn", "qa", aws=world.aws)


def test_approve_refuses_a_tampered_artifact(world: World) -> None:
    version = world.register()
    bucket, key = version.artifact[5:].split("/", 1)
    world.boto("s3").put_object(Bucket=bucket, Key=key, Body=b"tampered")
    with pytest.raises(OpsError, match="refusing to approve churn v1 in dev: .*sha256"):
        models.approve(world.root, "churn", "dev", version.version, aws=world.aws)
    assert world.packages("dev")[0]["ModelApprovalStatus"] == "PendingManualApproval"


def test_bad_metrics_files(world: World, tmp_path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"auc": "high"}')
    with pytest.raises(UsageError, match=r"bad.json: auc: must be a number"):
        models.register_model(world.root, "churn", "dev", str(world.artifact), bad, aws=world.aws)
    bad.write_text("{nope")
    with pytest.raises(UsageError, match=r"bad.json:1:2: invalid JSON"):
        models.register_model(world.root, "churn", "dev", str(world.artifact), bad, aws=world.aws)
    with pytest.raises(UsageError, match="no such artifact file"):
        models.register_model(world.root, "churn", "dev", str(tmp_path / "x.tar.gz"),
                              world.metrics, aws=world.aws)


def _lock_key(world: World, arn: str) -> str:
    return f"locks/promotion/churn/{hashlib.sha256(arn.encode()).hexdigest()[:24]}.json"


def test_a_held_lock_blocks_and_an_expired_one_is_taken_over(world: World) -> None:
    import time

    dev = world.approved()
    s3 = world.boto("s3")
    key = _lock_key(world, dev.arn)
    held = {"token": "other", "owner": "bob", "expires": time.time() + 60}
    s3.put_object(Bucket=world.bucket("staging"), Key=key, Body=json.dumps(held).encode())
    heard: list[str] = []
    with pytest.raises(OpsError, match=r"promotion lock s3://.* is held by bob until .* UTC"):
        promotion.promote(world.root, "churn", dev.version, "dev", "staging", aws=world.aws,
                          lock_wait=0.05, notify=heard.append)
    assert heard and "waiting for the promotion lock" in heard[0]
    assert world.packages("staging") == []

    expired = {**held, "expires": time.time() - 1}  # a run that died mid-promotion
    s3.put_object(Bucket=world.bucket("staging"), Key=key, Body=json.dumps(expired).encode())
    result = promotion.promote(world.root, "churn", dev.version, "dev", "staging", aws=world.aws)
    assert result.outcome == "promoted"
    assert s3.list_objects_v2(Bucket=world.bucket("staging"), Prefix="locks/").get("KeyCount") == 0


def test_gates_are_reported_before_anything_changes(world: World) -> None:
    dev = world.approved()
    seen: list[tuple[list[bool], int, list[dict]]] = []

    def on_plan(plan: PromotionPlan) -> None:
        seen.append(([g.passed for g in plan.gates], len(world.packages("staging")),
                     world.trail("staging")))

    result = promotion.promote(world.root, "churn", dev.version, "dev", "staging", aws=world.aws,
                               on_plan=on_plan)
    assert seen == [([True] * 6, 0, [])]
    assert result.outcome == "promoted" and len(world.packages("staging")) == 1


def test_a_lock_left_by_a_killed_run_on_this_host_is_taken_over_at_once(world: World) -> None:
    import os
    import socket
    import subprocess
    import sys
    import time

    dev = world.approved()
    child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                           capture_output=True, text=True, check=True)
    dead = int(child.stdout)
    assert dead != os.getpid()
    held = {"token": "killed", "owner": "bob", "host": socket.gethostname(), "pid": dead,
            "expires": time.time() + 600}
    world.boto("s3").put_object(Bucket=world.bucket("staging"), Key=_lock_key(world, dev.arn),
                                Body=json.dumps(held).encode())
    result = promotion.promote(world.root, "churn", dev.version, "dev", "staging", aws=world.aws,
                               lock_wait=0.05)
    assert result.outcome == "promoted"
    # Killed after the package existed: the re-run finds it and clears the dead run's lock.
    s3 = world.boto("s3")
    s3.put_object(Bucket=world.bucket("staging"), Key=_lock_key(world, dev.arn),
                  Body=json.dumps(held).encode())
    again = promotion.promote(world.root, "churn", dev.version, "dev", "staging", aws=world.aws)
    assert again.outcome == "unchanged"
    assert s3.list_objects_v2(Bucket=world.bucket("staging"), Prefix="locks/").get("KeyCount") == 0
    # A live holder on this host (this very process) is waited for.
    from mlops.ops.lock import stale

    assert not stale({**held, "pid": os.getpid()})
    assert not stale({**held, "host": "elsewhere"})
    assert stale({**held, "expires": time.time() - 1, "host": "elsewhere"})


def test_a_rerun_writes_a_missing_audit_record_and_says_completed(world: World,
                                                                  monkeypatch) -> None:
    from mlops.ops import audit

    dev = world.approved()
    real = audit.append

    def crash(*args, **kwargs):  # the process dies after the package exists, before the audit
        raise KeyboardInterrupt

    monkeypatch.setattr(audit, "append", crash)
    with pytest.raises(KeyboardInterrupt):
        promotion.promote(world.root, "churn", dev.version, "dev", "staging", aws=world.aws)
    assert len(world.packages("staging")) == 1 and world.trail("staging") == []
    monkeypatch.setattr(audit, "append", real)
    again = promotion.promote(world.root, "churn", dev.version, "dev", "staging", aws=world.aws)
    assert again.outcome == "completed"
    assert [r["event"] for r in world.trail("staging")] == ["promoted"]
    third = promotion.promote(world.root, "churn", dev.version, "dev", "staging", aws=world.aws)
    assert third.outcome == "unchanged" and third.pinned is False


def test_a_rejected_event_is_retried_then_fails_the_command(world: World, monkeypatch) -> None:
    from mlops.ops import audit

    events = world.aws.client("events")
    real = events.put_events
    answers = [{"Code": "ThrottlingException"}, {"Code": None}]
    calls: list[int] = []

    def put_events(**kwargs):
        calls.append(1)
        code = answers.pop(0)["Code"] if answers else "AccessDeniedException"
        if code is None:
            return real(**kwargs)
        return {"FailedEntryCount": 1, "Entries": [{"ErrorCode": code, "ErrorMessage": "no"}]}

    monkeypatch.setattr(events, "put_events", put_events)
    version = world.register()  # throttled once, then accepted
    assert len(calls) == 2
    assert [r["event"] for r in world.trail("dev")] == ["registered"]
    with pytest.raises(OpsError, match=r"rejected churn v1 in dev, but its audit record could not "
                       r"be written \(EventBridge .* rejected the audit event: "
                       r"AccessDeniedException: no\); re-run"):
        models.reject(world.root, "churn", "dev", version.version, "x", aws=world.aws)
    assert [r["event"] for r in world.trail("dev")] == ["registered"]  # no record without event
    assert audit.EMIT_ATTEMPTS >= 2


def test_alarms_of_a_project_with_a_longer_name_do_not_block(world: World) -> None:
    (world.root / "pipelines" / "churn-v2").mkdir()
    (world.root / "pipelines" / "churn-v2" / "project.yaml").write_text(
        (world.root / "pipelines" / "churn" / "project.yaml").read_text().replace(
            "name: churn", "name: churn-v2"))
    dev = world.approved()
    cw = world.boto("cloudwatch")
    cw.put_metric_alarm(AlarmName="mlops-dev-churn-v2-execution-failed", MetricName="m",
                        Namespace="n", Statistic="Sum", Period=300, EvaluationPeriods=1,
                        Threshold=1, ComparisonOperator="GreaterThanOrEqualToThreshold")
    cw.set_alarm_state(AlarmName="mlops-dev-churn-v2-execution-failed", StateValue="ALARM",
                       StateReason="test")
    result = promotion.promote(world.root, "churn", dev.version, "dev", "staging", dry_run=True,
                               aws=world.aws)
    assert result.passed, [g for g in result.gates if not g.passed]


def test_a_pipeline_registered_version_gets_its_checksum_at_approval(world: World) -> None:
    """Pipelines register without mlops:artifactSha256: approval records it, then it promotes."""
    s3, sm = world.boto("s3"), world.boto("sagemaker")
    s3.put_object(Bucket=world.bucket("dev"), Key="pipelines/run-1/model.tar.gz", Body=b"trained")
    report = {"binary_classification_metrics": {"auc": {"value": 0.93}}}
    s3.put_object(Bucket=world.bucket("dev"), Key="pipelines/run-1/evaluation.json",
                  Body=json.dumps(report).encode())
    sm.create_model_package(
        ModelPackageGroupName=world.group("dev"), ModelApprovalStatus="PendingManualApproval",
        InferenceSpecification={"Containers": [{"Image": "img", "ModelDataUrl":
                                                f"s3://{world.bucket('dev')}/pipelines/run-1/model.tar.gz"}],
                                "SupportedContentTypes": ["text/csv"],
                                "SupportedResponseMIMETypes": ["text/csv"]},
        ModelMetrics={"ModelQuality": {"Statistics": {
            "ContentType": "application/json",
            "S3Uri": f"s3://{world.bucket('dev')}/pipelines/run-1/evaluation.json"}}})
    (listed,) = models.list_versions(world.root, "churn", "dev", aws=world.aws)
    assert listed.sha256 is None and listed.metrics == {"auc": 0.93}
    assert listed.source == {"kind": "pipeline"}
    blocked = promotion.promote(world.root, "churn", 1, "dev", "staging", dry_run=True, aws=world.aws)
    assert "no checksum recorded" in next(g.detail for g in blocked.gates
                                          if g.name == "artifact checksum")
    approved = models.approve(world.root, "churn", "dev", 1, "pipeline run ok", aws=world.aws)
    assert approved.sha256 == _sha(b"trained")
    result = promotion.promote(world.root, "churn", 1, "dev", "staging", aws=world.aws)
    assert result.outcome == "promoted"
    (staged,) = models.list_versions(world.root, "churn", "staging", aws=world.aws)
    assert staged.sha256 == _sha(b"trained") and staged.metrics == {"auc": 0.93}


def test_metrics_must_be_finite_numbers(world: World, tmp_path) -> None:
    bad = tmp_path / "nan.json"
    bad.write_text('{"auc": NaN}')
    with pytest.raises(UsageError, match=r"nan.json: auc: must be a number \(got nan\)"):
        metrics.read_metrics(bad)
    bad.write_text("[0.9]")
    with pytest.raises(UsageError, match=r"nan.json: must be a JSON object of metric name"):
        metrics.read_metrics(bad)


def test_a_run_that_finds_the_package_mid_promotion_waits_and_changes_nothing(
        world: World, monkeypatch) -> None:
    """The package exists but its first run has not audited yet: the second waits for the lock."""
    from mlops.ops import audit

    dev = world.approved()
    real = audit.append
    in_audit, go_on = threading.Event(), threading.Event()

    def slow_append(*args, **kwargs):
        if kwargs.get("idempotency"):
            in_audit.set()
            assert go_on.wait(10)
        return real(*args, **kwargs)

    monkeypatch.setattr(audit, "append", slow_append)
    results: dict[str, promotion.PromotionResult] = {}
    first = threading.Thread(target=lambda: results.setdefault("first", promotion.promote(
        world.root, "churn", dev.version, "dev", "staging", aws=world.aws, pin=False)))
    first.start()
    assert in_audit.wait(10) and len(world.packages("staging")) == 1
    heard: list[str] = []
    second = threading.Thread(target=lambda: results.setdefault("second", promotion.promote(
        world.root, "churn", dev.version, "dev", "staging", aws=world.aws, pin=False,
        notify=heard.append)))
    second.start()
    for _ in range(500):
        if heard:
            break
        threading.Event().wait(0.01)
    assert heard and "waiting for the promotion lock" in heard[0]
    go_on.set()
    first.join(10)
    second.join(10)
    assert (results["first"].outcome, results["second"].outcome) == ("promoted", "unchanged")
    assert [r["event"] for r in world.trail("staging")] == ["promoted"]


def test_a_promotion_does_not_describe_every_version_of_the_target(world: World) -> None:
    from mlops.ops.aws import AwsClients
    from tests.mlops.ops.world import SESSION

    sm = world.boto("sagemaker")
    for i in range(12):  # unrelated versions already in the target registry
        sm.create_model_package(ModelPackageGroupName=world.group("staging"),
                                ModelPackageDescription=f"older {i}",
                                InferenceSpecification={"Containers": [{"Image": "i"}],
                                                        "SupportedContentTypes": ["a"],
                                                        "SupportedResponseMIMETypes": ["a"]})
    dev = world.approved()
    calls: list[str] = []
    aws = AwsClients(region=REGION, boto_session=SESSION, on_client=lambda c: c.meta.events.register(
        "before-call.sagemaker.DescribeModelPackage", lambda **kw: calls.append("describe")))
    result = promotion.promote(world.root, "churn", dev.version, "dev", "staging", aws=aws)
    assert result.outcome == "promoted" and result.target_version == 13
    assert len(calls) <= 5, len(calls)  # the source; the new package (created, re-found)


def test_register_takes_the_evaluation_report_the_pipelines_write(world: World, tmp_path) -> None:
    """`{"metrics": {"auc": {"value": n}}}` (pipelines/*/code/evaluate.py) or a flat map."""
    report = tmp_path / "evaluation.json"
    report.write_text(json.dumps({"metrics": {"auc": {"value": 0.93}, "accuracy": {"value": 0.88},
                                              "rows": {"value": 6000}}}))
    version = models.register_model(world.root, "churn", "dev", str(world.artifact), report,
                                     aws=world.aws)
    assert version.metrics == {"auc": 0.93, "accuracy": 0.88, "rows": 6000.0}
    report.write_text(json.dumps({"metrics": {"auc": {"value": "high"}}}))
    with pytest.raises(UsageError, match=r"evaluation.json: metrics.auc.value: must be a number "
                                         r"\(got 'high'\)"):
        metrics.read_metrics(report)
    report.write_text(json.dumps({"a": {"auc": 0.9}, "b": {"auc": 0.8}}))
    with pytest.raises(UsageError, match=r"evaluation.json: b.auc: metric auc given twice"):
        metrics.read_metrics(report)
    with pytest.raises(UsageError, match=r"metrics: auc: must be a number \(got True\)"):
        models.register_model(world.root, "churn", "dev", str(world.artifact), {"auc": True},
                              aws=world.aws)


def test_promotion_copies_the_drift_baseline_re_encrypted(world: World) -> None:
    """The baseline travels with the version: copied next to the artifact, with the target key."""
    dev, body = world.with_baseline("dev")
    first = promotion.promote(world.root, "churn", dev.version, "dev", "staging", aws=world.aws)
    assert first.outcome == "promoted"
    [staged] = world.packages("staging")
    uri = staged["DriftCheckBaselines"]["ModelDataQuality"]["Statistics"]["S3Uri"]
    sha = _sha(b"trained")
    assert uri == (f"s3://{world.bucket('staging')}/models/churn/{sha}/"
                   f"baseline-{_sha(body)[:12]}.json")
    s3, kms = world.boto("s3"), world.boto("kms")
    copied = s3.get_object(Bucket=world.bucket("staging"), Key=uri.split("/", 3)[3])
    assert copied["Body"].read() == body
    staging_key = kms.describe_key(KeyId="alias/mlops-staging")["KeyMetadata"]["Arn"]
    assert (copied["ServerSideEncryption"], copied["SSEKMSKeyId"]) == ("aws:kms", staging_key)
    # ... and on to prod from the staging copy, with prod's key.
    models.approve(world.root, "churn", "staging", first.target_version or 0, "ok", aws=world.aws)
    promotion.promote(world.root, "churn", first.target_version or 0, "staging", "prod",
                      aws=world.aws)
    [prod] = world.packages("prod")
    prod_uri = prod["DriftCheckBaselines"]["ModelDataQuality"]["Statistics"]["S3Uri"]
    assert prod_uri == uri.replace(world.bucket("staging"), world.bucket("prod"))
    head = s3.head_object(Bucket=world.bucket("prod"), Key=prod_uri.split("/", 3)[3])
    assert head["SSEKMSKeyId"] == kms.describe_key(KeyId="alias/mlops-prod")["KeyMetadata"]["Arn"]
    # A re-run changes nothing.
    again = promotion.promote(world.root, "churn", dev.version, "dev", "staging", aws=world.aws)
    assert again.outcome == "unchanged" and len(world.packages("staging")) == 1


def test_a_version_without_a_baseline_promotes_without_one(world: World) -> None:
    dev = world.approved()
    assert promotion.promote(world.root, "churn", dev.version, "dev", "staging",
                             aws=world.aws).outcome == "promoted"
    [staged] = world.packages("staging")
    assert not staged.get("DriftCheckBaselines")
    keys = [o["Key"] for o in world.boto("s3").list_objects_v2(
        Bucket=world.bucket("staging"), Prefix="models/churn/").get("Contents", [])]
    assert not [k for k in keys if "baseline" in k]
