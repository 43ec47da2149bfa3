"""What each stack's Plan gets per project: feature groups, pipelines, schedules, alarms."""

from __future__ import annotations

import json

import pytest

from common import tokens
from tests.conftest import SHIPPED_STACKS

FG = tokens.SAGEMAKER_FEATURE_GROUP
PIPELINE = tokens.SAGEMAKER_PIPELINE
SCHEDULE = tokens.SCHEDULE
ALARM = tokens.METRIC_ALARM
ROLE_POLICY = tokens.IAM_ROLE_POLICY
ROLE = tokens.IAM_ROLE
CODE = tokens.S3_BUCKET_OBJECT
KEY = tokens.KMS_KEY
DASHBOARD = tokens.DASHBOARD


def key_arn(plan) -> str:
    return plan.of_type(KEY)[0].urn


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_feature_groups(plans, stack):
    plan = plans[stack]
    groups = {r.inputs["featureGroupName"]: r for r in plan.of_type(FG)}
    assert set(groups) == {f"mlops-{stack}-churn-customers", f"mlops-{stack}-fraud-transactions"}
    for name, group in groups.items():
        offline = group.inputs["offlineStoreConfig"]
        assert offline["tableFormat"] == "Iceberg"
        assert offline["s3StorageConfig"]["s3Uri"].startswith(
            f"s3://mlops-{stack}-feature-store-")
        assert offline["s3StorageConfig"]["kmsKeyId"].startswith("arn:aws:kms:")
        assert offline["dataCatalogConfig"] == {
            "catalog": "AwsDataCatalog", "database": "sagemaker_featurestore",
            "tableName": name.replace("-", "_")}
        assert key_arn(plan) in group.property_dependencies["offlineStoreConfig"]
        assert group.inputs["roleArn"].endswith(f"role/mlops-{stack}-sagemaker-execution")
        assert group.inputs["tags"]["mlops:owner"].endswith("@example.com")
        assert group.protect is group.retain_on_delete is (stack == "prod")
        names = [d["featureName"] for d in group.inputs["featureDefinitions"]]
        assert names == sorted(names)  # reordering features in project.yaml changes nothing
    churn = groups[f"mlops-{stack}-churn-customers"]
    online = churn.inputs.get("onlineStoreConfig")
    if stack == "dev":  # onlineFeatureStore: false
        assert not online
    else:
        assert online["enableOnlineStore"] is True
        # the environment key, like the offline store
        assert online["securityConfig"]["kmsKeyId"] == \
            churn.inputs["offlineStoreConfig"]["s3StorageConfig"]["kmsKeyId"]
        assert online["ttlDuration"] == {"value": 30, "unit": "Days"}
    assert not groups[f"mlops-{stack}-fraud-transactions"].inputs.get("onlineStoreConfig")


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_pipelines_schedules_and_alarms(plans, stack):
    plan = plans[stack]
    topic = f"arn:aws:sns:eu-west-1:123456789012:mlops-{stack}-alerts"
    pipelines = {r.inputs["pipelineName"]: r for r in plan.of_type(PIPELINE)}
    assert set(pipelines) == {f"mlops-{stack}-churn", f"mlops-{stack}-fraud"}
    for name, pipeline in pipelines.items():
        project = name.rsplit("-", 1)[1]
        definition = json.loads(pipeline.inputs["pipelineDefinition"])
        assert any(s["Type"] == "Training" for s in definition["Steps"])
        assert pipeline.inputs["roleArn"].endswith(f"role/mlops-{stack}-sagemaker-execution")
        assert pipeline.inputs["tags"] == {"mlops:project": project,
                                           "mlops:owner": f"{project}-team@example.com"}
        code = [r for r in plan.of_type(CODE) if r.inputs["key"].startswith(f"code/{project}/")]
        assert code and all(c.inputs["serverSideEncryption"] == "aws:kms" for c in code)
        assert {c.urn for c in code} <= set(pipeline.dependencies)
        # every code object (or prefix: the platform's step code) the definition reads is
        # uploaded, the platform's once per stack
        shared = [r for r in plan.of_type(CODE) if r.inputs["key"].startswith("_platform/code/")]
        assert {c.urn for c in shared} <= set(pipeline.dependencies)
        keys = {c.inputs["key"] for c in code + shared}
        bucket = code[0].inputs["bucket"]
        for uri in _code_uris(definition):
            wanted = uri.removeprefix(f"s3://{bucket}/")
            assert wanted in keys or any(k.startswith(f"{wanted}/") for k in keys), wanted

    alarms = {r.inputs["dimensions"]["PipelineName"]: r for r in plan.of_type(ALARM)}
    assert set(alarms) == set(pipelines)
    for alarm in alarms.values():
        assert alarm.inputs["namespace"] == "AWS/Sagemaker/ModelBuildingPipeline"
        assert alarm.inputs["metricName"] == "ExecutionFailed"
        assert alarm.inputs["alarmActions"] == alarm.inputs["okActions"] == [topic]
        assert alarm.inputs["treatMissingData"] == "notBreaching"

    schedules = {r.inputs["name"]: r for r in plan.of_type(SCHEDULE)}
    assert schedules[f"mlops-{stack}-churn"].inputs["scheduleExpression"] == "cron(0 3 ? * MON *)"
    assert schedules[f"mlops-{stack}-fraud"].inputs["scheduleExpression"] == "rate(1 day)"
    for name, schedule in schedules.items():
        target = schedule.inputs["target"]
        assert target["arn"] == f"arn:aws:sagemaker:eu-west-1:123456789012:pipeline/{name}"
        assert target["roleArn"].endswith(f"role/{name}-scheduler")
        role = next(r for r in plan.of_type(ROLE) if r.inputs["name"] == f"{name}-scheduler")
        trust = json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]
        assert trust["Principal"] == {"Service": "scheduler.amazonaws.com"}
        # the schedule is encrypted with the environment key, which its role may only decrypt
        (key,) = plan.of_type(tokens.KMS_KEY)
        assert key.urn in schedule.property_dependencies["kmsKeyArn"]
        key_arn = schedule.inputs["kmsKeyArn"]
        assert key_arn.startswith("arn:aws:kms:eu-west-1:123456789012:key/")
        [policy] = [r for r in plan.of_type(ROLE_POLICY) if r.inputs["role"] == f"{name}-scheduler"]
        assert json.loads(policy.inputs["policy"])["Statement"] == [
            {"Sid": "StartThisPipeline", "Effect": "Allow",
             "Action": ["sagemaker:StartPipelineExecution"], "Resource": [target["arn"]]},
            {"Sid": "DecryptSchedule", "Effect": "Allow", "Action": ["kms:Decrypt"],
             "Resource": [key_arn]}]

    [dashboard] = [r for r in plan.of_type(DASHBOARD)
                   if r.inputs["dashboardName"] == f"mlops-{stack}-pipelines"]
    widgets = json.loads(dashboard.inputs["dashboardBody"])["widgets"]
    assert [w["properties"]["title"] for w in widgets] == [
        f"mlops-{stack}-churn: executions", f"mlops-{stack}-fraud: executions"]
    for widget, name in zip(widgets, sorted(pipelines), strict=True):
        assert {tuple(m) for m in widget["properties"]["metrics"]} == {
            ("AWS/Sagemaker/ModelBuildingPipeline", metric, "PipelineName", name)
            for metric in ("ExecutionSucceeded", "ExecutionFailed", "ExecutionStopped")}


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_pipelines_deploy_the_environment_key_by_its_arn(plans, stack):
    """Rendered with the key's alias ARN; deployed with the key's ARN (see with_key_arn)."""
    plan = plans[stack]
    env_key = next(iter(plan.of_type(FG))).inputs["offlineStoreConfig"]["s3StorageConfig"][
        "kmsKeyId"]
    for pipeline in plan.of_type(PIPELINE):
        definition = json.loads(pipeline.inputs["pipelineDefinition"])
        train = next(s for s in definition["Steps"] if s["Type"] == "Training")["Arguments"]
        assert train["ResourceConfig"]["VolumeKmsKeyId"] == env_key
        assert f"alias/mlops-{stack}" not in pipeline.inputs["pipelineDefinition"]


def _code_uris(definition: dict) -> list[str]:
    found = []

    def walk(node):
        if isinstance(node, dict):
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)
        elif isinstance(node, str) and "/code/" in node and node.startswith("s3://"):
            found.append(node)
    walk(definition)
    return found


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_registry_uses_manifest_package_groups(plans, stack):
    groups = plans[stack].outputs["modelPackageGroups"]
    assert groups == {"churn": f"mlops-{stack}-churn", "fraud": f"mlops-{stack}-fraud"}
    assert set(plans[stack].outputs["pipelines"]) == {"churn", "fraud"}


def test_project_error_stops_the_program_before_any_registration(tmp_root):
    from infra.projects.errors import ProjectError
    from mlops.offline.runtime import build_plan

    path = tmp_root / "pipelines" / "fraud" / "project.yaml"
    path.write_text(path.read_text().replace("type: Fractional}", "type: Double}", 1))
    with pytest.raises(ProjectError, match=r"fraud/project.yaml:\d+: featureGroups\[0\]"):
        build_plan(tmp_root, "dev")


def test_rule_violation_stops_the_program(tmp_root):
    from infra.projects.errors import RuleViolation
    from mlops.offline.runtime import build_plan

    path = tmp_root / "pipelines" / "churn" / "pipeline.py"
    path.write_text(path.read_text().replace(
        "networking=Networking(enable_network_isolation=ctx.network_isolation)",
        "networking=Networking(enable_network_isolation=False)"))
    with pytest.raises(RuleViolation, match="step Train: EnableNetworkIsolation: must be true"):
        build_plan(tmp_root, "prod")
