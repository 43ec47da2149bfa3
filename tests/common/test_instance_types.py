"""Instance types with local NVMe storage: where an endpoint configuration takes no KMS key."""

from __future__ import annotations

import pytest

from common.instance_types import family, has_local_nvme


@pytest.mark.parametrize(("instance_type", "nvme"), [
    ("ml.m5d.large", True), ("ml.c5d.xlarge", True), ("ml.r5d.2xlarge", True),
    ("ml.m6id.large", True), ("ml.c6gd.large", True), ("ml.g4dn.xlarge", True),
    ("ml.p3dn.24xlarge", True), ("ml.p4d.24xlarge", True), ("ml.g5.xlarge", True),
    ("ml.g6.xlarge", True), ("ml.trn1.2xlarge", True), ("ml.inf2.xlarge", True),
    ("ml.m5.large", False), ("ml.m5.xlarge", False), ("ml.c5.large", False),
    ("ml.t3.medium", False), ("ml.p3.2xlarge", False), ("ml.inf1.xlarge", False),
    ("ml.g4.xlarge", False), ("m5d.large", False), ("", False),
])
def test_local_nvme(instance_type: str, nvme: bool) -> None:
    assert has_local_nvme(instance_type) is nvme


def test_family() -> None:
    assert family("ml.g4dn.xlarge") == "g4dn"
    assert family("ml.m5.large") == "m5"
    assert family("c5.large") is None
