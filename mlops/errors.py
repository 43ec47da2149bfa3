"""Exit codes and the one-line error contract of every `mlops` command."""

from __future__ import annotations

EXIT_OK = 0
EXIT_CHECK_FAILED = 1  # a check ran and found problems
EXIT_USAGE = 2  # bad arguments, stack files, manifests: the user must fix input


class UsageError(Exception):
    """Bad input a person can fix; the message names the file, key or argument."""
