"""project.yaml: the model, per-stack lookups, schema freshness and one-line errors."""

from __future__ import annotations

import json

import pytest

from infra.projects.errors import ProjectError
from infra.projects.loader import load_project
from infra.projects.manifest import ProjectManifest, parse_manifest, schema_json
from tests.conftest import ROOT

SOURCE = "pipelines/churn/project.yaml"
CHURN = (ROOT / SOURCE).read_text()


def test_examples_load():
    for name in ("churn", "fraud"):
        project = load_project(ROOT, name)
        assert project.manifest.name == name
        assert project.manifest.feature_groups


def test_threshold_and_sizes_fall_back_to_tier():
    manifest = load_project(ROOT, "churn").manifest
    assert manifest.model.threshold_for("prod", "prod") == 0.80
    assert manifest.model.threshold_for("prod-eu", "prod") == 0.80  # tier fallback
    assert manifest.model.threshold_for("sandbox", "qa") is None
    assert manifest.instance_type_for("staging", "staging") == "ml.m5.xlarge"
    assert manifest.max_runtime_for("dev", "dev") == 3600
    assert manifest.package_group == "churn"


def test_model_section_shape_for_promotion():
    manifest, _ = parse_manifest(CHURN, SOURCE)
    dumped = manifest.model_dump(by_alias=True)["model"]
    assert dumped == {"packageGroup": "churn",
                      "approval": {"metric": "auc",
                                   "thresholds": {"dev": 0.6, "staging": 0.75, "prod": 0.8}}}


def test_schema_file_is_current():
    path = ROOT / "docs" / "project.schema.json"
    assert path.read_text() == schema_json(), "run: mlops pipelines schema --write"
    schema = json.loads(path.read_text())
    assert schema["additionalProperties"] is False
    assert {"name", "owner", "model"} <= set(schema["required"])


def test_schema_validates_the_examples():
    import jsonschema
    from ruamel.yaml import YAML

    schema = json.loads(schema_json())
    for name in ("churn", "fraud"):
        data = YAML(typ="safe").load((ROOT / "pipelines" / name / "project.yaml").read_text())
        jsonschema.validate(data, schema)


def _replace(old: str, new: str) -> str:
    assert old in CHURN, old
    return CHURN.replace(old, new, 1)


DIGEST = "@sha256:" + "0a" * 32
KUBERNETES = ("serving:\n  target: {dev: kubernetes}\n  kubernetes:\n"
              f"    image: ecr/server{DIGEST}\n    loaderImage: ecr/loader{DIGEST}\n")


def test_a_kubernetes_target_per_stack_with_its_options():
    manifest, _ = parse_manifest(_replace("serving:\n", KUBERNETES), SOURCE)
    serving = manifest.serving
    assert serving is not None and serving.kubernetes is not None
    assert (serving.target_for("dev", "dev"), serving.target_for("prod", "prod")) == (
        "kubernetes", "sagemaker")  # sagemaker unless a stack or its tier says otherwise
    options = serving.kubernetes
    assert (options.port, options.invocation_path, options.run_as_user) == (
        8080, "/invocations", 10001)
    assert (options.health.readiness, options.health.liveness, options.health.startup) == (
        "/ping", "/ping", "/ping")


def _line(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


# (id, manifest text, key in the message, text on the blamed line or None, problem fragment)
MALFORMED = [
    ("yaml-syntax", _replace("owner: churn-team@example.com", "owner: [unclosed"), None,
     "description:", "invalid YAML"),  # the parser notices on the next line
    ("yaml-tab-indent", _replace("  - name: customers", "\t- name: customers"), None, None,
     "invalid YAML"),
    ("not-a-mapping", "- just\n- a list\n", None, None, "must be a mapping"),
    ("unknown-top-key", CHURN + "extra: 1\n", "extra", "extra: 1", "unknown key"),
    ("unknown-nested-key", _replace("    online: true", "    onlne: true"),
     "featureGroups[0].onlne", "onlne", "unknown key"),
    ("bad-feature-type", _replace("type: Integral}\n      - {name: monthly",
                                  "type: Float}\n      - {name: monthly"),
     "featureGroups[0].features[2].type", "tenure_months", "must be one of"),
    ("duplicate-feature", _replace("{name: support_calls, type: Integral}",
                                   "{name: tenure_months, type: Integral}"),
     "featureGroups[0].features[5].name", None, "duplicate feature"),
    ("record-id-not-a-feature", _replace("recordIdentifier: customer_id", "recordIdentifier: cid"),
     "featureGroups[0].recordIdentifier", "recordIdentifier", "not one of the features"),
    ("event-time-integral", _replace("{name: event_time, type: Fractional}",
                                     "{name: event_time, type: Integral}"),
     "featureGroups[0].eventTime", "eventTime", "Fractional"),
    ("ttl-without-online", _replace("    online: true\n", "    online: false\n"),
     "featureGroups[0].ttl", "ttl", "online: true"),
    ("bad-owner", _replace("churn-team@example.com", "churn-team"), "owner", "owner",
     'must be an email address like team@example.com (got "churn-team")'),
    ("missing-model", CHURN[:CHURN.index("model:")], "model", None, "required key is missing"),
    ("missing-metric", _replace("    metric: auc\n", ""), "model.approval.metric", None,
     "required"),
    ("threshold-not-number", _replace("prod: 0.80}", "prod: high}"),
     "model.approval.thresholds.prod", "thresholds", "must be a number"),
    ("bad-schedule", _replace("cron(0 3 ? * MON *)", "every monday"), "pipeline.schedule",
     "schedule", "must be an EventBridge Scheduler expression: cron(0 3 * * ? *), rate(1 day)"),
    ("unix-cron", _replace("cron(0 3 ? * MON *)", "cron(0 3 * * 1)"), "pipeline.schedule",
     "schedule", "null or none for no schedule"),
    ("bad-instance-type", _replace("{dev: ml.m5.large,", "{dev: m5.large,"),
     "pipeline.instanceType.dev", "instanceType", "not a SageMaker instance type"),
    ("runtime-out-of-range", _replace("{dev: 3600, staging", "{dev: 10, staging"),
     "pipeline.maxRuntimeSeconds.dev", "maxRuntimeSeconds", "between 60"),
    ("bad-parameter-name", _replace("    TrainRatio: 0.7", "    train-ratio: 0.7"),
     "pipeline.parameters", "parameters", "alphanumeric"),
    ("bad-module-name", _replace("  module: pipeline.py", "  module: ../evil.py"),
     "pipeline.module", "module:", "must be a Python file name in the project folder"),
    ("features-not-a-list", _replace("    features:\n", "    features: 3\n    x_features:\n"),
     "featureGroups[0].features", "features: 3", "must be a list"),
    ("reserved-feature", _replace("{name: churned, type: Integral}",
                                  "{name: write_time, type: Integral}"),
     "featureGroups[0].features[7].name", "write_time", "a column the offline store adds"),
    ("feature-trailing-underscore", _replace("name: tenure_months", "name: tenure_"),
     "featureGroups[0].features[2].name", "tenure_", "not ending with '_'"),
    ("group-description-too-long", _replace("    description: Customer activity",
                                            "    description: " + "x" * 120 + " Customer activity"),
     "featureGroups[0].description", "description: xxx", "must be at most 128 characters"),
    ("bad-group-name", _replace("  - name: customers", "  - name: Customers!"),
     "featureGroups[0].name", "Customers!", "must be lowercase letters, digits and '-'"),
    ("bad-metric", _replace("    metric: auc", "    metric: AUC score"),
     "model.approval.metric", "metric:", "must be a metric name"),
    ("ttl-unit", _replace("unit: Days}", "unit: Months}"), "featureGroups[0].ttl.unit", "ttl:",
     "must be one of"),
    ("alarm-period", _replace("periodSeconds: 3600", "periodSeconds: 90"),
     "alarms.periodSeconds", "periodSeconds", "multiple of 60"),
    ("model-monitor-backend", _replace("monitoring:\n", "monitoring:\n  backend: model-monitor\n"),
     "monitoring.backend", "backend: model-monitor", "use backend: pipeline"),
    ("unknown-backend", _replace("monitoring:\n", "monitoring:\n  backend: clarify\n"),
     "monitoring.backend", "backend: clarify", "must be one of"),
    ("unknown-serving-target", _replace("serving:\n", "serving:\n  target: {dev: gke}\n"),
     "serving.target.dev", "target:", "must be one of 'sagemaker' or 'kubernetes'"),
    ("kubernetes-target-without-options",
     _replace("serving:\n", "serving:\n  target: {dev: kubernetes}\n"),
     "serving.target.dev", "target:", "needs a serving.kubernetes section"),
    ("image-by-tag", _replace("serving:\n", KUBERNETES.replace(f"server{DIGEST}", "server:1.4")),
     "serving.kubernetes.image", "image:", "must be an image pinned by digest: "
     "<repository>@sha256:<64 hex digits> (got \"ecr/server:1.4\")"),
    ("short-digest", _replace("serving:\n", KUBERNETES.replace(f"loader{DIGEST}",
                                                                 "loader@sha256:abc")),
     "serving.kubernetes.loaderImage", "loaderImage:", "must be an image pinned by digest"),
    ("root-uid", _replace("serving:\n", KUBERNETES + "    runAsUser: 0\n"),
     "serving.kubernetes.runAsUser", "runAsUser", "must be >= 10000 (got 0)"),
    ("two-scaling-targets", _replace("serving:\n", KUBERNETES + "    autoscaling:\n      dev: "
                                     "{min: 1, max: 2, targetCpuUtilization: 60, "
                                     "targetRequestsPerSecond: 9}\n"),
     "serving.kubernetes.autoscaling.dev.targetCpuUtilization", "dev: {min",
     "exactly one of targetCpuUtilization or targetRequestsPerSecond"),
    ("bad-memory", _replace("serving:\n", KUBERNETES + "    resources: {dev: {memory: 2GB}}\n"),
     "serving.kubernetes.resources.dev.memory", "resources:",
     "must be a memory quantity like 512Mi or 4Gi"),
]


@pytest.mark.parametrize(("text", "key", "line_text", "problem"),
                         [m[1:] for m in MALFORMED], ids=[m[0] for m in MALFORMED])
def test_malformed_manifest_gives_one_clear_line(text, key, line_text, problem):
    with pytest.raises(ProjectError) as info:
        parse_manifest(text, SOURCE)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(SOURCE)
    assert problem in message
    if key:
        assert info.value.key == key
    if line_text:
        assert info.value.line == _line(text, line_text), message


@pytest.mark.parametrize("value", ["null", "none"])
def test_no_schedule(value):
    manifest, _ = parse_manifest(_replace("cron(0 3 ? * MON *)", value), SOURCE)
    assert manifest.pipeline.schedule is None


def test_duplicate_feature_blames_the_second_occurrence():
    text = _replace("{name: support_calls, type: Integral}", "{name: tenure_months, type: Integral}")
    with pytest.raises(ProjectError) as info:
        parse_manifest(text, SOURCE)
    lines = [i for i, line in enumerate(text.splitlines(), 1) if "name: tenure_months" in line]
    assert info.value.line == lines[1]


def test_folder_name_must_match(tmp_root):
    path = tmp_root / "pipelines" / "churn" / "project.yaml"
    path.write_text(path.read_text().replace("name: churn", "name: churn2", 1))
    with pytest.raises(ProjectError, match=r"project.yaml:\d+: name: must equal the folder"):
        load_project(tmp_root, "churn")


def test_unknown_project(tmp_root):
    with pytest.raises(ProjectError, match="no such project .*churn, fraud"):
        load_project(tmp_root, "nope")


def test_missing_module(tmp_root):
    (tmp_root / "pipelines" / "churn" / "pipeline.py").unlink()
    with pytest.raises(ProjectError, match="pipeline.module: pipelines/churn/pipeline.py does"):
        load_project(tmp_root, "churn")


def test_manifest_model_is_frozen():
    manifest, _ = parse_manifest(CHURN, SOURCE)
    assert isinstance(manifest, ProjectManifest)
    with pytest.raises(ValueError, match="frozen"):
        manifest.name = "other"  # type: ignore[misc]
