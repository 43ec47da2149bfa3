"""A JUnit XML report as Markdown, for a CI job summary (``$GITHUB_STEP_SUMMARY``).

``make test JUNIT=FILE`` (pytest) and ``make checkov`` (Checkov) write JUnit; ``make
test-summary JUNIT=FILE`` prints the totals and every failed or errored case (the first line of
its message), so a reader sees what failed without opening the log. Standard library only.
"""

from __future__ import annotations

import argparse
import html
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

MAX_LISTED = 50


@dataclass
class Case:
    name: str
    outcome: str  # passed | failed | error | skipped
    message: str = ""


@dataclass
class Report:
    cases: list[Case] = field(default_factory=list)
    seconds: float = 0.0

    def count(self, outcome: str) -> int:
        return sum(1 for c in self.cases if c.outcome == outcome)


def _cell(text: str) -> str:
    """Text safe inside a Markdown table cell: one line, no HTML, no column breaks."""
    line = " ".join(text.split())
    line = line if len(line) <= 200 else line[:197] + "..."
    return html.escape(line, quote=False).replace("|", "\\|")


def parse(path: Path) -> Report:
    """Read pytest's or Checkov's JUnit XML (``<testsuites>`` or a single ``<testsuite>``)."""
    root = ET.parse(path).getroot()
    suites = [root] if root.tag == "testsuite" else root.iter("testsuite")
    report = Report()
    for suite in suites:
        report.seconds += float(suite.get("time") or 0)
        for case in suite.iter("testcase"):
            prefix = case.get("classname") or ""
            name = f"{prefix}::{case.get('name')}" if prefix else str(case.get("name"))
            outcome, message = "passed", ""
            for tag, kind in (("failure", "failed"), ("error", "error"), ("skipped", "skipped")):
                found = case.find(tag)
                if found is not None:
                    outcome = kind
                    message = found.get("message") or (found.text or "").strip()
                    break
            report.cases.append(Case(name, outcome, message.splitlines()[0] if message else ""))
    return report


def markdown(report: Report, title: str) -> str:
    failed = [c for c in report.cases if c.outcome in ("failed", "error")]
    verdict = "failed" if failed else "passed"
    lines = [
        f"### {html.escape(title, quote=False)}: {verdict}",
        "",
        "| tests | passed | failed | errors | skipped | seconds |",
        "| ---: | ---: | ---: | ---: | ---: | ---: |",
        f"| {len(report.cases)} | {report.count('passed')} | {report.count('failed')} | "
        f"{report.count('error')} | {report.count('skipped')} | {report.seconds:.1f} |",
    ]
    if failed:
        lines += ["", "| outcome | case | message |", "| --- | --- | --- |"]
        lines += [f"| {c.outcome} | {_cell(c.name)} | {_cell(c.message)} |"
                  for c in failed[:MAX_LISTED]]
        if len(failed) > MAX_LISTED:
            lines.append(f"\n{len(failed) - MAX_LISTED} more in the job log.")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ci.junit_summary", description=__doc__)
    parser.add_argument("report", type=Path, nargs="?", help="the JUnit XML file")
    parser.add_argument("--title", default=None, help="heading (default: the file's name)")
    args = parser.parse_args(argv)
    if args.report is None:
        parser.error("give the JUnit file (make test-summary JUNIT=FILE)")
    title = args.title or args.report.name
    if not args.report.is_file():
        sys.stdout.write(f"### {title}: no report\n\n{args.report} was not written: the run "
                         "stopped before its tests (see the job log).\n")
        return 0
    try:
        report = parse(args.report)
    except ET.ParseError as exc:
        sys.stderr.write(f"{args.report}: not JUnit XML ({exc})\n")
        return 2
    sys.stdout.write(markdown(report, title))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
