"""The one error type of ML projects: a person can fix it, and it names the file, key and line."""

from __future__ import annotations

from infra.config import SettingsError


class ProjectError(SettingsError):
    """A project file (project.yaml, pipeline.py, a lock file) is invalid.

    ``str()`` is one line: ``<file>[:<line>]: [<key>: ]<problem>``. It subclasses SettingsError
    so every place that turns bad configuration into one line and exit 2 (``mlops`` commands,
    ``pulumi.RunError`` in ``infra/__main__.py``) handles project problems the same way.
    """

    def __init__(self, file: str, key: str | None, line: int | None, problem: str) -> None:
        super().__init__(f"{file}:{line}" if line else file, key, problem)
        self.file = file
        self.line = line


class RuleViolation(ProjectError):
    """Rendered definitions break platform rules (raised by the program before registration)."""
