"""Exemptions: a rule waived for matching resources, with an owner, a reason and an expiry.

``policies/exemptions.yaml``::

    exemptions:
      - rule: s3-access-logging
        resource: "storage-scratch*"     # fnmatch on the resource name or URN
        owner: ml-platform@example.com
        reason: scratch bucket, deleted after the migration (TICKET-123)
        expires: 2026-12-31
        stacks: [dev]                    # optional: only these stacks

An exemption turns matching findings into "exempted" ones until it expires; after that the
findings count again and the exemption itself is a violation of ``exemption-expired``.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

EMAIL = r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$"
DEFAULT_FILE = Path(__file__).resolve().parent / "exemptions.yaml"


class ExemptionsError(ValueError):
    """The exemptions file cannot be used; the message names the file and the entry."""


class Exemption(BaseModel):
    """One waiver of one rule for resources matching a pattern."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rule: str = Field(min_length=1)
    resource: str = Field(min_length=1)
    owner: str = Field(pattern=EMAIL)
    reason: str = Field(min_length=10)
    expires: dt.date
    stacks: tuple[str, ...] = ()

    @field_validator("expires", mode="before")
    @classmethod
    def _date(cls, value: Any) -> Any:
        if isinstance(value, str) and not re.match(r"^\d{4}-\d{2}-\d{2}$", value):
            raise ValueError(f"expires must be YYYY-MM-DD (got {value!r})")
        return value

    def matches(self, rule: str, name: str, urn: str, stack: str | None = None) -> bool:
        """Whether this exemption covers ``rule`` on the resource (name or URN pattern)."""
        if rule != self.rule:
            return False
        if self.stacks and stack is not None and stack not in self.stacks:
            return False
        return fnmatch.fnmatchcase(name, self.resource) or fnmatch.fnmatchcase(urn, self.resource)

    def expired(self, today: dt.date) -> bool:
        """True on the day after ``expires``."""
        return today > self.expires

    @property
    def label(self) -> str:
        return f"{self.rule} on {self.resource}"


def parse_exemptions(data: Any, source: str, known_rules: Iterable[str] | None = None) -> list[Exemption]:
    """Validate the loaded YAML; raises ExemptionsError naming ``source`` and the entry."""
    if data is None:
        return []
    if not isinstance(data, dict) or set(data) - {"exemptions"}:
        raise ExemptionsError(f"{source}: expected a mapping with the single key 'exemptions'")
    entries = data.get("exemptions") or []
    if not isinstance(entries, list):
        raise ExemptionsError(f"{source}: exemptions: must be a list")
    rules = set(known_rules) if known_rules is not None else None
    out: list[Exemption] = []
    for i, entry in enumerate(entries):
        try:
            exemption = Exemption.model_validate(entry)
        except ValidationError as exc:
            err = exc.errors()[0]
            loc = ".".join(str(p) for p in err["loc"]) or "entry"
            msg = str(err["msg"]).removeprefix("Value error, ")
            raise ExemptionsError(f"{source}: exemptions[{i}].{loc}: {msg}") from None
        if rules is not None and exemption.rule not in rules:
            raise ExemptionsError(f"{source}: exemptions[{i}].rule: unknown rule {exemption.rule!r}")
        out.append(exemption)
    return out


def load_exemptions(path: Path = DEFAULT_FILE, known_rules: Iterable[str] | None = None) -> list[Exemption]:
    """Read and validate an exemptions file; a missing file means no exemptions."""
    from ruamel.yaml import YAML, YAMLError

    if not path.exists():
        return []
    try:
        data = YAML(typ="safe").load(path.read_text(encoding="utf-8"))
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise ExemptionsError(f"{path}{where}: {problem}") from None
    return parse_exemptions(data, str(path), known_rules)
