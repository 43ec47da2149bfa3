"""Sub-command groups of `mlops`, one module each, each exposing a ``typer.Typer`` named ``app``."""
