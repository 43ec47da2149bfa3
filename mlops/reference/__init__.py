"""The documentation site's reference pages, generated from the code at build time.

``mkdocs build`` calls :func:`generate` through its hook (``mlops/reference/hooks.py``), which
adds the pages as virtual files: nothing is written into ``docs/``. Each page has one
generator here, so the tests compare a page with the code it documents:

- ``reference/cli.md``: every command of the typer app (``mlops/cli.py``), as ``--help`` prints it;
- ``policies.md``: the policy catalogue, exactly as ``mlops policy docs`` writes it;
- ``reference/components.md``: every Pulumi component and the resources it creates, from an
  offline Plan;
- ``reference/stack-settings.md`` and ``reference/project-manifest.md``: the JSON schemas of the
  stack settings model (``infra/config.py``) and of ``project.yaml`` (``infra/projects/manifest.py``);
- ``reference/workflows.md``: every file in ``.github/workflows/``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

# src_uri (relative to docs/) -> generator(root) -> Markdown.
Generator = Callable[[Path], str]

GENERATED_NOTE = ("<!-- Generated at build time by {module} from the code; not a file in docs/, "
                  "do not edit. -->")


def _cli(root: Path) -> str:
    from mlops.reference.cli import render_cli

    return render_cli()


def _policies(root: Path) -> str:
    from mlops.policy.config import CONFIG_DIR
    from mlops.policy.docs import render_docs

    return render_docs(CONFIG_DIR)


def _components(root: Path) -> str:
    from mlops.reference.components import render_components

    return render_components(root)


def _settings(root: Path) -> str:
    from mlops.reference.schemas import render_settings

    return render_settings()


def _manifest(root: Path) -> str:
    from mlops.reference.schemas import render_manifest

    return render_manifest()


def _workflows(root: Path) -> str:
    from mlops.reference.workflows import render_workflows

    return render_workflows(root)


PAGES: dict[str, Generator] = {
    "reference/cli.md": _cli,
    "policies.md": _policies,
    "reference/components.md": _components,
    "reference/stack-settings.md": _settings,
    "reference/project-manifest.md": _manifest,
    "reference/workflows.md": _workflows,
}


def generate(root: Path) -> dict[str, str]:
    """Every generated page: src_uri -> Markdown."""
    return {uri: generator(root) for uri, generator in PAGES.items()}
