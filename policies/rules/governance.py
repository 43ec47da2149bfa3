"""Governance of the pack itself: exemptions that have expired are violations."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from policies.core import Finding, Resource, Severity, stack_rule

EXEMPTION_EXPIRED = "exemption-expired"


@stack_rule(
    EXEMPTION_EXPIRED, area="governance", severity=Severity.CRITICAL, types=[],
    description="Every exemption in policies/exemptions.yaml is still within its expiry date; "
                "an expired exemption is itself a violation (mandatory in every environment).",
    remediation="Fix the resource and delete the exemption, or renew it with a new expiry date, "
                "owner and reason after review.",
)
def exemption_expired(resources: Sequence[Resource], config: Mapping[str, Any]) -> Iterator[Finding]:
    """Findings come from the exemptions file, not from resources (see policies.exemptions)."""
    return iter(())
