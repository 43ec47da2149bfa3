"""Entry point for `pulumi up` in bootstrap/ci: the OIDC provider, the CI roles, the state backend.

Run once per AWS account by an administrator (docs/ci.md, "Bootstrap"); no workflow runs it.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import pulumi  # noqa: E402

from infra.ci import run  # noqa: E402
from infra.config import SettingsError  # noqa: E402

try:
    run()
except SettingsError as exc:
    # RunError ends the program with the message alone, no traceback.
    raise pulumi.RunError(str(exc)) from None
