"""Human views of a Plan: a tree by component and a count per type."""

from __future__ import annotations

from collections import defaultdict

from rich.table import Table
from rich.tree import Tree

from mlops.offline.plan import Plan, PlanResource


def _label(r: PlanResource) -> str:
    flags = []
    if r.protect:
        flags.append("protected")
    if r.retain_on_delete:
        flags.append("retained")
    suffix = f" [yellow]({', '.join(flags)})[/]" if flags else ""
    style = "bold" if not r.custom else ""
    name = f"[{style}]{r.name}[/]" if style else r.name
    return f"{name} [dim]{r.type}[/]{suffix}"


def plan_tree(plan: Plan) -> Tree:
    """Resources under their parent components."""
    children: dict[str | None, list[PlanResource]] = defaultdict(list)
    for r in plan.resources:
        children[r.parent].append(r)
    root = Tree(f"[bold]{plan.project}[/] / stack [bold]{plan.stack}[/]")

    def add(node: Tree, parent: str | None) -> None:
        # components first, then resources, each by name
        for r in sorted(children.get(parent, []), key=lambda r: (r.custom, r.name)):
            add(node.add(_label(r)), r.urn)

    add(root, None)
    return root


def type_table(plan: Plan) -> Table:
    table = Table(title=f"{plan.stack}: resources per type")
    table.add_column("type")
    table.add_column("count", justify="right")
    counts = plan.type_counts()
    for token, count in sorted(counts.items()):
        table.add_row(token, str(count))
    table.add_section()
    table.add_row("[bold]total[/]", f"[bold]{sum(counts.values())}[/]")
    return table
