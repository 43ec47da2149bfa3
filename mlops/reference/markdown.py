"""Small Markdown helpers for the generated pages: text from docstrings and help strings,
escaped so that Python-Markdown shows it as written."""

from __future__ import annotations

import re

# Code spans (``x`` or `x`) pass through; everything else is escaped.
_CODE = re.compile(r"(``.+?``|`[^`\n]+`)")
_SPECIAL = re.compile(r"([\\*_\[\]])")


def text(value: str, *, pipes: bool = False) -> str:
    """Prose: ``<``/``>``/``&`` as entities and emphasis/link characters (and, with ``pipes``,
    table pipes) escaped, outside code spans, which tables keep whole."""
    parts = _CODE.split(value)
    out = []
    for i, part in enumerate(parts):
        if i % 2:  # a code span
            out.append(part)
            continue
        part = part.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        part = _SPECIAL.sub(r"\\\1", part)
        out.append(part.replace("|", "\\|") if pipes else part)
    return "".join(out)


def cell(value: str) -> str:
    """A table cell: prose on one line, its pipes escaped."""
    return text(" ".join(value.split()), pipes=True)


def code(value: str) -> str:
    """An inline code span that holds ``value`` whatever backticks it contains."""
    fence = "``" if "`" in value else "`"
    pad = " " if value.startswith("`") or value.endswith("`") else ""
    return f"{fence}{pad}{value}{pad}{fence}"


def paragraphs(doc: str) -> str:
    """A docstring's paragraphs as Markdown paragraphs (lines of one paragraph joined)."""
    blocks = [" ".join(block.split()) for block in re.split(r"\n\s*\n", doc.strip())]
    return "\n\n".join(text(b) for b in blocks if b)


def slug(heading: str) -> str:
    """The anchor Python-Markdown's toc extension gives a plain heading."""
    value = re.sub(r"[^\w\s-]", "", heading).strip().lower()
    return re.sub(r"[-\s]+", "-", value)


def table(header: list[str], rows: list[list[str]]) -> list[str]:
    """Lines of a Markdown table; cells are used as given (call cell() on prose)."""
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join("---" for _ in header) + " |"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines
