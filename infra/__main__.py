"""Entry point for `pulumi up`: load settings, build the platform, export outputs."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pulumi  # noqa: E402

from infra.config import SettingsError  # noqa: E402
from infra.program import run  # noqa: E402

try:
    run()
except SettingsError as exc:
    # RunError ends the program with the message alone, no traceback.
    raise pulumi.RunError(str(exc)) from None
