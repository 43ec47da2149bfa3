"""`mlops endpoints`: the version an endpoint serves, read back through SageMaker, against the
version the stack file pins; and requests to a project's endpoint."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from mlops.ops.endpoints import endpoint_states
from mlops.ops.pins import write_pin
from tests.conftest import run_cli
from tests.mlops.ops.world import MANIFEST, World

SERVING = """
serving:
  instanceType: {dev: ml.m5.large, staging: ml.m5.large, prod: ml.m5.xlarge}
"""
ENDPOINT = "mlops-staging-churn"


@pytest.fixture
def served(world: World) -> Iterator[World]:
    """The world with churn's serving section and the sandbox's SageMaker patches."""
    from mlops.sandbox import moto_patches

    (world.root / "pipelines" / "churn" / "project.yaml").write_text(MANIFEST + SERVING)
    with moto_patches.installed():
        yield world


def serve(world: World, version: int) -> None:
    """What `pulumi up` makes of a pin: a model from the package, a configuration, the endpoint
    (created, or updated to the new configuration)."""
    sm = world.boto("sagemaker")
    package = next(p for p in world.packages("staging") if p["ModelPackageVersion"] == version)
    name = f"{ENDPOINT}-v{version}"
    sm.create_model(ModelName=name, PrimaryContainer={"ModelPackageName": package["ModelPackageArn"]},
                    ExecutionRoleArn="arn:aws:iam::123456789012:role/mlops-staging-sagemaker",
                    EnableNetworkIsolation=True)
    sm.create_endpoint_config(EndpointConfigName=name, ProductionVariants=[{
        "VariantName": "AllTraffic", "ModelName": name, "InstanceType": "ml.m5.large",
        "InitialInstanceCount": 1}])
    existing = [e["EndpointName"] for e in sm.list_endpoints()["Endpoints"]]
    if ENDPOINT in existing:
        sm.update_endpoint(EndpointName=ENDPOINT, EndpointConfigName=name)
    else:
        sm.create_endpoint(EndpointName=ENDPOINT, EndpointConfigName=name)


def pin(world: World, version: int) -> None:
    package = next(p for p in world.packages("staging") if p["ModelPackageVersion"] == version)
    write_pin(world.root, "staging", "churn", version, package["ModelPackageArn"])


def test_nothing_pinned_and_no_endpoint_agree(served: World) -> None:
    [state] = endpoint_states(served.root, "staging", aws=served.aws)
    assert (state.status, state.pinned, state.serving, state.agrees) == ("absent", None, None, True)
    assert state.detail == "no endpoint: nothing is pinned"


def test_a_pin_without_an_endpoint_disagrees_and_says_what_to_run(served: World) -> None:
    served.register("staging")
    pin(served, 1)
    [state] = endpoint_states(served.root, "staging", aws=served.aws)
    assert (state.status, state.pinned, state.agrees) == ("absent", 1, False)
    assert "mlops up --stack staging" in state.detail


def test_the_pinned_version_in_service_agrees(served: World) -> None:
    served.register("staging")
    pin(served, 1)
    serve(served, 1)
    [state] = endpoint_states(served.root, "staging", aws=served.aws)
    assert (state.status, state.serving, state.pinned, state.agrees) == ("InService", 1, 1, True)
    assert state.config == f"{ENDPOINT}-v1"
    assert state.detail.startswith(f"{ENDPOINT}-v1 <- arn:aws:sagemaker:")


def test_an_endpoint_left_on_the_old_version_disagrees(served: World) -> None:
    """What a rollback the apply did not report looks like: v2 pinned, v1 still serving."""
    served.register("staging")
    served.register("staging")
    serve(served, 1)
    pin(served, 2)
    [state] = endpoint_states(served.root, "staging", aws=served.aws)
    assert (state.serving, state.pinned, state.agrees) == (1, 2, False)
    serve(served, 2)
    [state] = endpoint_states(served.root, "staging", aws=served.aws)
    assert (state.serving, state.pinned, state.agrees) == (2, 2, True)


def test_an_endpoint_whose_model_is_gone_says_so(served: World) -> None:
    served.register("staging")
    pin(served, 1)
    serve(served, 1)
    served.boto("sagemaker").delete_model(ModelName=f"{ENDPOINT}-v1")
    [state] = endpoint_states(served.root, "staging", aws=served.aws)
    assert state.serving is None and not state.agrees
    assert state.detail == f"model {ENDPOINT}-v1 is gone"


def test_status_exits_1_on_disagreement_and_0_once_they_agree(served: World, monkeypatch,
                                                               capsys) -> None:
    served.register("staging")
    pin(served, 1)
    code, stdout, stderr = run_cli(monkeypatch, capsys, served.root, "endpoints", "status",
                                   "--stack", "staging")
    assert code == 1
    assert "endpoints of staging disagree with the pinned versions: churn" in stderr
    serve(served, 1)
    code, stdout, _ = run_cli(monkeypatch, capsys, served.root, "endpoints", "status", "--stack",
                              "staging", "--json")
    assert code == 0
    [row] = json.loads(stdout)
    assert (row["project"], row["serving"], row["pinned"], row["agrees"]) == ("churn", 1, 1, True)


def test_invoke_refuses_a_project_without_a_serving_section(world: World, monkeypatch, capsys,
                                                            tmp_path: Path) -> None:
    body = tmp_path / "row.csv"
    body.write_text("1,2,3\n")
    code, _, stderr = run_cli(monkeypatch, capsys, world.root, "endpoints", "invoke", "churn",
                              "--stack", "staging", "--body", str(body))
    assert code == 2
    assert "pipelines/churn/project.yaml: no serving section" in stderr
    assert "Traceback" not in stderr


def test_invoke_names_a_missing_body_file(served: World, monkeypatch, capsys,
                                          tmp_path: Path) -> None:
    missing = tmp_path / "nope.csv"
    code, _, stderr = run_cli(monkeypatch, capsys, served.root, "endpoints", "invoke", "churn",
                              "--stack", "staging", "--body", str(missing))
    assert code == 2
    assert f"--body {missing}" in stderr


def test_invoke_reports_what_the_model_refused_in_one_line(served: World, monkeypatch, capsys,
                                                           tmp_path: Path) -> None:
    """The world's artifact is not an XGBoost model: the container's 424 ModelError, exit 1."""
    served.register("staging")
    pin(served, 1)
    serve(served, 1)
    body = tmp_path / "row.csv"
    body.write_text("1,2,3\n")
    code, stdout, stderr = run_cli(monkeypatch, capsys, served.root, "endpoints", "invoke",
                                   "churn", "--stack", "staging", "--body", str(body))
    assert code == 1
    assert "ModelError" in stderr and "Traceback" not in stderr
    assert stdout == ""
