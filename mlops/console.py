"""Shared rich consoles: results on stdout, messages and progress on stderr."""

from __future__ import annotations

from rich.console import Console

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def fail(message: str) -> None:
    """Print a one-line error on stderr (no markup interpretation of the message)."""
    err.print(f"error: {message}", markup=False)
