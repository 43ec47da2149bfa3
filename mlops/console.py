"""Shared rich consoles: results on stdout, messages and progress on stderr.

On a terminal rich fits output to its width. Into a pipe or a file, lines are never cut or
wrapped at 80 columns (rich's default there), so type names and ARNs reach logs and `grep`
whole; ``COLUMNS`` still sets a width when given.
"""

from __future__ import annotations

import os
import sys
from typing import TextIO

from rich.console import Console

UNBOUNDED = 100_000


def _width(stream: TextIO) -> int | None:
    if stream.isatty():
        return None  # rich follows the terminal
    return int(os.environ.get("COLUMNS") or 0) or UNBOUNDED


out = Console(highlight=False, soft_wrap=True, width=_width(sys.stdout))
err = Console(stderr=True, highlight=False, soft_wrap=True, width=_width(sys.stderr))


def fail(message: str) -> None:
    """Print a one-line error on stderr (no markup interpretation of the message)."""
    err.print(f"error: {message}", markup=False)
