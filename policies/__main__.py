"""The CrossGuard entry point: `pulumi preview --policy-pack policies`.

The ONLY place a PolicyPack is built: its constructor starts the analyzer's gRPC server and
never returns, so nothing importable may do this at import time.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pulumi_policy import EnforcementLevel, PolicyPack  # noqa: E402

from policies.adapter import build_policies  # noqa: E402

PolicyPack(
    name="mlops-platform",
    description="Security and ML-operations rules for the mlops-platform stacks.",
    enforcement_level=EnforcementLevel.ADVISORY,
    policies=build_policies(),
)
