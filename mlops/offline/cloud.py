"""The account, region and partition one run of the program is for, and ARNs in it."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass

DEFAULT_ACCOUNT = "123456789012"


@dataclass(frozen=True)
class Cloud:
    account_id: str
    region: str
    partition: str = "aws"

    def arn(self, service: str, resource: str, *, regional: bool = True, account: bool = True) -> str:
        region = self.region if regional else ""
        acct = self.account_id if account else ""
        return f"arn:{self.partition}:{service}:{region}:{acct}:{resource}"


def stable_uuid(*parts: str) -> str:
    """A UUID derived from ``parts``: the same resource gets the same fake ID in every run."""
    return str(uuid.UUID(hashlib.sha256("/".join(parts).encode()).hexdigest()[:32]))
