"""`mlops drift`: the drift check of a served project, run here."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from typing import Annotated

import typer

from mlops.commands.common import JsonOpt, StackOpt, group, project_root
from mlops.console import err, out
from mlops.errors import EXIT_CHECK_FAILED, UsageError

app = group("Drift: a served project's traffic against the baseline of the version it serves.")


def _time(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        at = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(f"--at {text!r}: not an ISO-8601 time like 2026-12-02T10:00:00Z") from None
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


@app.command()
def check(
    project: Annotated[str, typer.Argument(metavar="PROJECT", help="A monitored project.")],
    stack: StackOpt,
    at: Annotated[str | None, typer.Option("--at", metavar="TIME", help=(
        "Run as the schedule would at TIME (ISO-8601): the window ends there.")) ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Run the project's drift check on this machine against the stack (exit 1 on drift).

    The platform's drift-check pipeline, as deployed, run by the local runner: the endpoint's
    captured traffic of the window against the baseline of the version it serves; the report
    (JSON and HTML) is written encrypted and the drift metrics are published, so the drift
    alarm and retraining react as they would to the scheduled check.
    """
    from rich.table import Table

    from mlops.ops.drift import check as run_check

    when = _time(at)
    with err.status(f"checking {project} in {stack} for drift"):
        result = run_check(project_root(), project, stack, at=when)
    if result.failure is not None:
        err.print(f"drift check {result.run_id} failed: {result.failure}", markup=False)
        raise typer.Exit(EXIT_CHECK_FAILED)
    report = result.report
    if as_json:
        sys.stdout.write(json.dumps({**report, "reportUri": result.report_uri,
                                     "htmlUri": result.html_uri}, indent=2) + "\n")
    else:
        table = Table(title=f"{project} in {stack}: {report['status']} ({report['records']} "
                            f"records, window ending {report['window_end']})",
                      title_justify="left")
        for column in ("feature", "kind", "PSI", "KS", "unseen", "drifted"):
            table.add_column(column)
        rows = list(report.get("features") or [])
        if report.get("score"):
            rows.append(report["score"])
        for f in rows:
            table.add_row(f["name"], f["kind"], f"{f['psi']:.3f}",
                          "-" if f.get("ks") is None else f"{f['ks']:.3f}",
                          "-" if f.get("unseen_share") is None else f"{f['unseen_share']:.3f}",
                          "[red]yes[/]" if f["drifted"] else "no")
        out.print(table)
        out.print(f"report: {result.html_uri}", markup=False)
    if report["status"] == "drift":
        if not as_json:
            err.print(f"{project} drifted in {stack}: {report['drifted_features']} drifted "
                      "(features or scores)", markup=False)
        raise typer.Exit(EXIT_CHECK_FAILED)
