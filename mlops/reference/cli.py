"""reference/cli.md: every command of the `mlops` typer app, walked as click sees it.

Each command gets a section with its help exactly as ``mlops ... --help`` prints it (plain
layout, 100 columns), so the page and the terminal never disagree.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from mlops.reference.markdown import cell, code, slug, table, text

WIDTH = 100  # the CLI's own help width (mlops.commands.common.HELP_SETTINGS)


@dataclass(frozen=True)
class CommandDoc:
    """One command (or group) of the tree, with what its page section shows."""

    path: str  # "mlops pipelines validate"
    depth: int  # 0 for mlops itself
    is_group: bool
    short_help: str
    help_text: str  # what --help prints
    options: tuple[str, ...]  # every option string: "--stack", "-s", "--pin", "--no-pin", ...
    arguments: tuple[str, ...]  # argument names as help shows them


def command_tree(app: object | None = None) -> Any:
    """The click command of a typer app (default: the `mlops` app).

    typer 0.2x carries its own copy of click (``typer._click``), so the tree is read by duck
    typing: a group has ``list_commands``/``get_command``, a parameter says what it is in
    ``param_type_name``.
    """
    import typer.main

    if app is None:
        from mlops.cli import app as mlops_app

        app = mlops_app
    return typer.main.get_command(app)  # type: ignore[arg-type]


def is_group(command: Any) -> bool:
    return callable(getattr(command, "list_commands", None))


def walk(command: Any, name: str = "mlops", parent: Any = None, depth: int = 0
         ) -> Iterator[CommandDoc]:
    """Every command under ``command``, depth first, in the order help lists them."""
    ctx = command.context_class(command, info_name=name, parent=parent, terminal_width=WIDTH,
                                max_content_width=WIDTH)
    options: list[str] = []
    arguments: list[str] = []
    for param in command.get_params(ctx):
        kind = getattr(param, "param_type_name", "")
        if kind == "option":
            options += [*param.opts, *param.secondary_opts]
        elif kind == "argument":
            arguments.append(getattr(param, "display_name_raw", None) or str(param.name))
    group = is_group(command)
    yield CommandDoc(
        path=ctx.command_path, depth=depth, is_group=group,
        short_help=command.get_short_help_str(limit=200), help_text=command.get_help(ctx),
        options=tuple(options), arguments=tuple(arguments),
    )
    if group:
        for sub in command.list_commands(ctx):
            child = command.get_command(ctx, sub)
            if child is not None and not getattr(child, "hidden", False):
                yield from walk(child, sub, ctx, depth + 1)


def render_cli(app: object | None = None) -> str:
    """The Markdown page of the command tree."""
    docs = list(walk(command_tree(app)))
    root = docs[0]
    lines = [
        f"# Command line: `{root.path}`",
        "",
        "<!-- Generated at build time by mlops/reference/cli.py from the typer app in "
        "mlops/cli.py; not a file in docs/, do not edit. -->",
        "",
        "Every command of the `mlops` tool, with its help exactly as `--help` prints it. "
        "The page is generated from the command tree when the site is built, so it lists what "
        "this checkout's `mlops` accepts. In this repository, run it as `.venv/bin/mlops` or "
        "`mlops` in an activated `.venv`.",
        "",
        "Exit codes are the same in every group: 0 done; 1 a check failed (policy violation, "
        "platform rule finding, gate, disagreement, differences with `--exit-code`) or an AWS "
        "operation failed; 2 bad input (arguments, stack files, project manifests, plan files, "
        "missing AWS credentials), always as one line naming the file, key or option.",
        "",
        "## Commands",
        "",
    ]
    lines += table(["command", "what it does"],
                   [[f"[{code(d.path)}](#{slug(d.path)})", cell(d.short_help)]
                    for d in docs[1:]])
    for doc in docs:
        if doc.depth == 0:
            lines += ["", f"## {doc.path}", ""]
        else:
            lines += ["", f"{'#' * min(doc.depth + 1, 4)} {doc.path}", ""]
        if doc.short_help:
            lines += [text(doc.short_help), ""]
        lines += ["```text", doc.help_text.rstrip(), "```"]
    return "\n".join(lines) + "\n"
