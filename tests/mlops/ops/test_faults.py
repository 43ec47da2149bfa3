"""Fault injection at every AWS call of a promotion (botocore event hooks).

Retryable faults (connection errors, 5xx, throttling) are retried and the promotion completes in
one run. A crash (non-retryable) at any call leaves no Approved package with a missing or
mismatched artifact, and a re-run converges: exactly one target package, its artifact matching
the source checksum, pinned once, audited once.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Callable

import pytest

from mlops.ops import promotion
from mlops.ops.aws import AwsClients
from mlops.ops.pins import read_pins
from tests.mlops.ops.world import MANIFEST, REGION, SESSION, World

from .faults import KINDS, Crash, Faults

pytestmark = pytest.mark.slow  # a fault at every AWS call, one promotion each

FULL = os.environ.get("MLOPS_FULL_FAULT_SWEEP") == "1"


def _project(world: World, name: str) -> int:
    """A fresh project with groups in dev and staging and an Approved dev version (set up with
    boto3 directly, the way `mlops models register` + `approve` leave it: fewer calls, faster)."""
    (world.root / "pipelines" / name).mkdir()
    (world.root / "pipelines" / name / "project.yaml").write_text(
        MANIFEST.replace("name: churn", f"name: {name}"))
    sm, s3 = world.boto("sagemaker"), world.boto("s3")
    for stack in ("dev", "staging"):
        sm.create_model_package_group(ModelPackageGroupName=f"mlops-{stack}-{name}")
    body = world.artifact.read_bytes()
    sha = hashlib.sha256(body).hexdigest()
    key = f"models/{name}/{sha}/model.tar.gz"
    s3.put_object(Bucket=world.bucket("dev"), Key=key, Body=body)
    sm.create_model_package(
        ModelPackageGroupName=f"mlops-dev-{name}", ModelApprovalStatus="Approved",
        InferenceSpecification={
            "Containers": [{"Image": "img", "ModelDataUrl": f"s3://{world.bucket('dev')}/{key}"}],
            "SupportedContentTypes": ["text/csv"], "SupportedResponseMIMETypes": ["text/csv"]},
        CustomerMetadataProperties={"mlops:artifactSha256": sha, "metric:auc": "0.91"})
    (world.root / "pins" / name / "stacks").mkdir(parents=True)
    shutil.copy(world.root / "stacks" / "Pulumi.staging.yaml",
                world.root / "pins" / name / "stacks" / "Pulumi.staging.yaml")
    return 1


def _promote(world: World, aws: AwsClients, name: str, version: int) -> promotion.PromotionResult:
    return promotion.promote(world.root, name, version, "dev", "staging", aws=aws,
                             pins_root=world.root / "pins" / name)


def _auto_approve_staging(world: World) -> None:
    """Promoted packages become Approved: the invariant below then has teeth."""
    path = world.root / "stacks" / "Pulumi.staging.yaml"
    path.write_text(path.read_text().replace("    allowFrom: [dev]\n",
                                             "    allowFrom: [dev]\n    autoApprove: true\n"))


def _check_invariant(world: World, name: str) -> list[dict]:
    """No Approved package without its artifact; never more than one package per source."""
    sm, s3 = world.boto("sagemaker"), world.boto("s3")
    sha = hashlib.sha256(world.artifact.read_bytes()).hexdigest()
    summaries = sm.list_model_packages(ModelPackageGroupName=f"mlops-staging-{name}")
    packages = [sm.describe_model_package(ModelPackageName=s["ModelPackageArn"])
                for s in summaries["ModelPackageSummaryList"]]
    assert len(packages) <= 1
    for pkg in packages:
        if pkg["ModelApprovalStatus"] == "Approved":
            url = pkg["InferenceSpecification"]["Containers"][0]["ModelDataUrl"]
            bucket, key = url[5:].split("/", 1)
            body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
            assert hashlib.sha256(body).hexdigest() == sha
    return packages


def _check_converged(world: World, name: str, result: promotion.PromotionResult, *,
                     lock_released: bool = True) -> None:
    packages = _check_invariant(world, name)
    assert len(packages) == 1
    (pkg,) = packages
    assert pkg["ModelApprovalStatus"] == "Approved"
    assert result.target_arn == pkg["ModelPackageArn"]
    assert read_pins(world.root / "pins" / name, "staging")[name] == {
        "version": pkg["ModelPackageVersion"], "packageArn": pkg["ModelPackageArn"],
        "artifactUri": pkg["InferenceSpecification"]["Containers"][0]["ModelDataUrl"],
        "artifactSha256": hashlib.sha256(world.artifact.read_bytes()).hexdigest()}
    s3 = world.boto("s3")
    keys = [o["Key"] for o in s3.list_objects_v2(
        Bucket=world.bucket("staging"), Prefix=f"audit/{name}/").get("Contents", [])]
    records = [json.loads(s3.get_object(Bucket=world.bucket("staging"), Key=k)["Body"].read())
               for k in keys]
    assert [r["event"] for r in records] == ["promoted"]
    assert records[0]["packageArn"] == pkg["ModelPackageArn"]
    if lock_released:
        assert s3.list_objects_v2(Bucket=world.bucket("staging"),
                                  Prefix=f"locks/promotion/{name}/").get("KeyCount") == 0


def _sweep(world: World, kinds: tuple[str, ...],
           run: Callable[[Faults, AwsClients, str, int], None]) -> set[str]:
    """Count the calls of a clean promotion, then run ``run`` with a fault at each of them.

    The kinds take turns by call index (every call gets a fault, every kind is used); with
    MLOPS_FULL_FAULT_SWEEP=1 every call gets every kind (slower).
    """
    _auto_approve_staging(world)
    faults = Faults()
    aws = AwsClients(region=REGION, boto_session=SESSION, on_client=faults.hook)
    for name in ("warm", "clean"):  # the first run also creates clients, asks STS once
        version = _project(world, name)
        faults.calls.clear()
        _promote(world, aws, name, version)
    total = len(faults.calls)
    assert total >= 20
    used: set[str] = set()
    for index in range(total):
        for kind in (kinds if FULL else (kinds[index % len(kinds)],)):
            name = f"p{index}-{kind}"
            version = _project(world, name)
            faults.calls.clear()
            faults.at, faults.kind, faults.injected = index, kind, None
            run(faults, aws, name, version)
            used.add(kind)
    return used


def test_retryable_faults_at_every_call_are_retried(world: World) -> None:
    def run(faults: Faults, aws: AwsClients, name: str, version: int) -> None:
        result = _promote(world, aws, name, version)
        assert faults.injected is not None
        assert result.passed, (faults.injected, [g for g in result.gates if not g.passed])
        # The faulted request was sent again (botocore retry, or the create loop's own) -- except
        # a create that landed before its error: the create loop finds it instead of repeating.
        landed = faults.kind != "connection" and faults.injected.endswith("CreateModelPackage")
        assert faults.calls.count(faults.injected) >= (1 if landed else 2)
        _check_converged(world, name, result)

    assert _sweep(world, KINDS, run) == set(KINDS)


def test_a_crash_at_every_call_converges_on_rerun(world: World) -> None:
    outcomes: set[str] = set()

    def run(faults: Faults, aws: AwsClients, name: str, version: int) -> None:
        stale_lock = False
        try:
            first = _promote(world, aws, name, version)
        except Crash:
            outcomes.add("crashed")
        else:
            if first.passed:  # the crash hit a best-effort call (releasing the lock)
                outcomes.add("absorbed")
                stale_lock = True  # left to expire
            else:  # a crash inside a gate fails that gate: nothing may have changed
                assert world.boto("sagemaker").list_model_packages(
                    ModelPackageGroupName=f"mlops-staging-{name}")["ModelPackageSummaryList"] == []
                outcomes.add("gate failed")
        _check_invariant(world, name)
        faults.at = None
        again = _promote(world, aws, name, version)
        assert again.passed
        _check_converged(world, name, again, lock_released=not stale_lock)

    assert _sweep(world, ("crash-before", "crash-after"), run) == {"crash-before", "crash-after"}
    assert {"crashed", "gate failed", "absorbed"} <= outcomes
