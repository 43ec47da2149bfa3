"""serving_baseline: the drift baseline of the version a stack pins (moto, the `world` fixture)."""

from __future__ import annotations

import pytest

from mlops.ops import promotion
from mlops.ops.aws import OpsError
from mlops.ops.baselines import serving_baseline
from mlops.ops.environment import environment
from mlops.ops.pins import write_pin
from tests.mlops.ops.world import World


def test_the_pinned_versions_baseline(world: World) -> None:
    dev, _ = world.with_baseline("dev")
    result = promotion.promote(world.root, "churn", dev.version, "dev", "staging", aws=world.aws)
    [staged] = world.packages("staging")
    expected = staged["DriftCheckBaselines"]["ModelDataQuality"]["Statistics"]["S3Uri"]
    assert expected.startswith(f"s3://{world.bucket('staging')}/models/churn/")
    assert result.target_arn == staged["ModelPackageArn"]
    assert serving_baseline(environment(world.root, "staging", world.aws), "churn") == expected


def test_nothing_pinned_is_none(world: World) -> None:
    world.with_baseline("dev")  # registered, never pinned in dev
    assert serving_baseline(environment(world.root, "dev", world.aws), "churn") is None
    assert serving_baseline(environment(world.root, "prod", world.aws), "churn") is None


def test_a_pinned_version_without_a_baseline_is_none(world: World) -> None:
    dev = world.approved()
    promotion.promote(world.root, "churn", dev.version, "dev", "staging", aws=world.aws)
    assert serving_baseline(environment(world.root, "staging", world.aws), "churn") is None


def test_a_pinned_package_that_is_gone_is_an_error(world: World) -> None:
    gone = "arn:aws:sagemaker:eu-west-1:123456789012:model-package/mlops-prod-churn/7"
    write_pin(world.root, "prod", "churn", 7, gone)
    with pytest.raises(OpsError, match="pins churn v7, but its model package .* does not exist"):
        serving_baseline(environment(world.root, "prod", world.aws), "churn")
