"""Facts about SageMaker instance types that both the platform and the policy pack need.

Endpoint configurations take a KMS key for their ML storage volumes, except on instance types
with local NVMe instance storage: there "local storage volumes are encrypted using a hardware
module on the instance" and CreateEndpointConfig refuses a ``KmsKeyId`` (SageMaker API
reference, CreateEndpointConfig). Those are the families with a ``d`` for local disk after the
generation (m5d, c5d, r5d, m6id, c6gd, g4dn, p3dn, p4d, p4de, ...) and the accelerated families
whose every size has instance storage (g5, g6, g6e, p5, trn1, trn1n, inf2).
"""

from __future__ import annotations

import re

# ml.<family>.<size>; the family is letters, a generation digit, then attribute letters.
_FAMILY = re.compile(r"^ml\.([a-z]+)(\d+)([a-z-]*)\.[a-z0-9]+$")
# Families whose sizes all have local NVMe storage without a 'd' in the name.
NVME_FAMILIES = frozenset({"g5", "g6", "g6e", "p5", "p5e", "p5en", "trn1", "trn1n", "inf2"})


def family(instance_type: str) -> str | None:
    """``ml.m5d.xlarge`` -> ``m5d``; None when it is not a SageMaker ``ml.`` instance type."""
    match = _FAMILY.match(instance_type)
    return None if match is None else "".join(match.groups())


def has_local_nvme(instance_type: str) -> bool:
    """Whether the instance type has local NVMe storage (no KMS key on its volumes)."""
    match = _FAMILY.match(instance_type)
    if match is None:
        return False
    name, generation, attributes = match.groups()
    return f"{name}{generation}{attributes}" in NVME_FAMILIES or "d" in attributes
