"""The generated reference pages match the code they document: every command and option of
the CLI, every policy rule, every setting and manifest key, every component and resource of
the plan, every workflow job."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import typer
from pydantic.alias_generators import to_camel

from infra.config import Settings
from infra.projects.manifest import schema as manifest_schema
from mlops.reference import PAGES, generate
from mlops.reference.cli import CommandDoc, command_tree, render_cli, walk
from mlops.reference.components import component_classes, render_components
from mlops.reference.schemas import render_manifest, render_settings
from mlops.reference.workflows import WorkflowError, read_workflow, render_workflows
from tests.conftest import ROOT

HEADING = re.compile(r"^(#{2,4}) (.+)$", re.M)


def sections(page: str) -> dict[str, str]:
    """Heading text -> the text up to the next heading."""
    marks = list(HEADING.finditer(page))
    return {m.group(2): page[m.end():(marks[i + 1].start() if i + 1 < len(marks) else len(page))]
            for i, m in enumerate(marks)}


def cli_page_problems(page: str, commands: list[CommandDoc]) -> list[str]:
    """What the CLI page lacks of ``commands``: a section, an option, an argument, the help."""
    found = sections(page)
    problems = []
    for command in commands:
        section = found.get(command.path)
        if section is None:
            problems.append(f"{command.path}: no section")
            continue
        problems += [f"{command.path}: option {o} missing" for o in command.options
                     if not re.search(rf"(?<![\w-]){re.escape(o)}(?![\w-])", section)]
        problems += [f"{command.path}: argument {a} missing" for a in command.arguments
                     if a not in section]
        if command.short_help and command.short_help not in section:
            problems.append(f"{command.path}: help text missing")
    return problems


# --- the CLI ----------------------------------------------------------------------------------

def test_every_command_of_the_cli_is_on_its_page_with_its_options() -> None:
    commands = list(walk(command_tree()))
    paths = {c.path for c in commands}
    assert {"mlops preview", "mlops models promote", "mlops policy check",
            "mlops pipelines run", "mlops sandbox env"} <= paths
    assert cli_page_problems(render_cli(), commands) == []
    promote = next(c for c in commands if c.path == "mlops models promote")
    assert {"--version", "-v", "--from", "--to", "--dry-run", "--pin", "--no-pin"} <= set(
        promote.options)


def test_the_cli_page_is_what_help_prints(monkeypatch, capsys) -> None:
    from tests.conftest import run_cli

    page = sections(render_cli())
    monkeypatch.setenv("COLUMNS", "100")
    code, out, _ = run_cli(monkeypatch, capsys, None, "models", "promote", "--help")
    assert code == 0
    usage = next(line for line in out.splitlines() if line.startswith("Usage:"))
    assert usage in page["mlops models promote"]


def _fake_app() -> typer.Typer:
    from mlops.commands.common import group

    app = group("A fake tool.")  # made as every group of mlops is (plain help)

    @app.command()
    def hello(name: str = typer.Option("x", "--name", "-n", help="Who.")) -> None:
        """Say hello."""

    @app.command()
    def bye(loud: bool = typer.Option(False, "--loud", help="Shout.")) -> None:
        """Say goodbye."""

    return app


def test_the_check_fails_when_a_command_or_option_is_missing() -> None:
    app = _fake_app()
    commands = list(walk(command_tree(app)))
    page = render_cli(app)
    assert cli_page_problems(page, commands) == []
    without_bye = page.split("\n## mlops bye\n")[0]
    assert cli_page_problems(without_bye, commands) == ["mlops bye: no section"]
    without_option = page.replace("--loud", "--quiet")
    assert cli_page_problems(without_option, commands) == ["mlops bye: option --loud missing"]

    @app.command()
    def extra() -> None:
        """A command added after the page was made."""

    newer = list(walk(command_tree(app)))
    assert cli_page_problems(page, newer) == ["mlops extra: no section"]


# --- policy rules -----------------------------------------------------------------------------

def test_every_rule_of_the_registry_is_on_the_rules_page() -> None:
    from mlops.policy.config import (
        CONFIG_DIR,
        TIERS,
        config_path,
        enforcement_level,
        load_policy_config,
    )
    from mlops.policy.docs import render_docs
    from policies.rules import all_rules

    page = PAGES["policies.md"](ROOT)
    assert page == render_docs(CONFIG_DIR), "the site shows what `mlops policy docs` writes"
    found = sections(page)
    configs = {t: load_policy_config(config_path(t, CONFIG_DIR)) for t in TIERS}
    rules = all_rules()
    assert len(rules) > 40
    for rule in rules:
        section = found.get(rule.id)
        assert section is not None, rule.id
        assert f"Severity: **{rule.severity.value}**" in section, rule.id
        levels = ", ".join(f"{t}: {enforcement_level(rule, configs[t])}" for t in TIERS)
        assert levels in section, rule.id
        for reference in rule.references:
            assert reference in section, (rule.id, reference)


# --- settings and manifest --------------------------------------------------------------------

def _keys_in_tables(page: str) -> set[str]:
    return set(re.findall(r"^\| `([^`]+)` \|", page, re.M))


def test_every_setting_is_on_the_settings_page() -> None:
    page = render_settings()
    keys = _keys_in_tables(page)
    top = {"region": "aws:region", "default_tags": "aws:defaultTags"}
    for name, field in Settings.model_fields.items():
        key = top.get(name) or f"mlops:{field.alias or to_camel(name)}"
        assert key in keys, key
    found = sections(page)
    for model in ("AlarmRecipients", "Promotion", "Network", "PinnedModel"):
        assert model in found, model
    for field_name in ("allowFrom", "targetAccounts", "autoApprove", "subnetIds", "packageArn",
                       "httpsEndpoints"):
        assert field_name in keys, field_name
    assert "| `mlops:kmsDeletionWindowDays` | integer | `30` | >= 7; <= 30 |" in page


def test_every_manifest_key_is_on_the_manifest_page() -> None:
    page = render_manifest()
    found = sections(page)
    schema = manifest_schema()
    for name in schema["properties"]:
        assert name in _keys_in_tables(found["project.yaml"]), name
    for model, spec in schema["$defs"].items():
        assert model in found, model
        for name in spec.get("properties", {}):
            assert f"| `{name}` |" in found[model], (model, name)


# --- components -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def dev_plan():  # type: ignore[no-untyped-def]
    """The shipped dev stack's Plan (the session's `plans` would build all three)."""
    from mlops.offline.runtime import build_plan

    return build_plan(ROOT, "dev")


def test_every_component_and_resource_of_the_plan_is_on_the_components_page(dev_plan) -> None:
    plan = dev_plan
    page = render_components(ROOT, plan)
    found = sections(page)
    for component in {r.type for r in plan.resources if not r.custom}:
        name = component.rsplit(":", 1)[1]
        assert name in found, name
        assert f"`{component}`" in found[name]
    for resource in plan.custom_resources():
        assert f"`{resource.name}`" in page, resource.name
        assert f"`{resource.type}`" in found["Resource types"], resource.type
    total = f"The Plan holds {len(plan.custom_resources())} resources"
    assert total in page


def test_the_site_documents_serving_and_retraining_through_a_pinned_plan() -> None:
    from common import tokens

    page = PAGES["reference/components.md"](ROOT)
    found = sections(page)
    assert f"`{tokens.SAGEMAKER_ENDPOINT}`" in found["ProjectEndpoint"]
    assert "`serving-churn`" in found["ProjectEndpoint"]
    assert "ProjectRetraining" in found
    classes = component_classes(ROOT)
    for name in classes:  # a section, or a row of "Not in this plan"
        assert name in found or f"| {name} |" in page, name
    assert classes["SecureBucket"].path == "infra/components/storage.py"
    assert not (ROOT / "stacks" / "Pulumi.dev.yaml").read_text().count("mlops:models"), \
        "the pin goes into a scratch copy, never the checkout's stack file"


def test_components_a_plan_does_not_create_are_listed_apart(dev_plan) -> None:
    page = render_components(ROOT, dev_plan)  # the shipped dev stack pins nothing
    not_created = page.split("## Not in this plan")
    classes = component_classes(ROOT)
    created = {r.type.rsplit(":", 1)[1] for r in dev_plan.resources if not r.custom}
    missing = sorted(set(classes) - created)
    if missing:
        assert len(not_created) == 2
        for name in missing:
            assert f"| {name} |" in not_created[1], name
    else:
        assert len(not_created) == 1


# --- workflows --------------------------------------------------------------------------------

WORKFLOW = """\
name: CI
on:
  pull_request:
    branches: [main]
  schedule:
    - cron: "0 5 * * *"
  workflow_dispatch:
    inputs:
      stack: {type: string}
permissions: {}
jobs:
  test:
    name: Tests
    runs-on: ubuntu-24.04
    timeout-minutes: 30
    permissions:
      contents: read
    steps:
      - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2
        with: {persist-credentials: false}
      - run: make test
  deploy:
    runs-on: ubuntu-24.04
    needs: [test]
    environment: {name: prod, url: "https://example.com"}
    concurrency: deploy-prod
    steps:
      - run: |
          make up STACK=prod
          .venv/bin/mlops endpoints status --stack prod
"""


def test_every_workflow_and_job_is_on_the_workflows_page(tmp_path: Path) -> None:
    folder = tmp_path / ".github" / "workflows"
    folder.mkdir(parents=True)
    (folder / "ci.yml").write_text(WORKFLOW)
    page = render_workflows(tmp_path)
    found = sections(page)
    assert "ci.yml" in found
    ci = found["ci.yml"]
    assert "**CI**" in ci
    assert '`pull_request (branches: ["main"])`' in ci
    assert "`workflow_dispatch (inputs: stack)`" in ci
    assert '`schedule ([{"cron": "0 5 * * *"}])`' in ci
    assert "Workflow permissions: `{}`" in ci
    assert "| `test` (Tests) | ubuntu-24.04 | - | - | `{\"contents\": \"read\"}` | 30 | - |" in ci
    assert "| `deploy` | ubuntu-24.04 | `test` | `prod` | workflow's | none | `deploy-prod` |" in ci
    assert "uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683" in found[
        "ci.yml: test"]
    assert "make up STACK=prod\n.venv/bin/mlops endpoints status --stack prod" in found[
        "ci.yml: deploy"]


def test_without_workflows_the_page_says_so(tmp_path: Path) -> None:
    assert "`.github/workflows/` does not exist" in render_workflows(tmp_path)
    (tmp_path / ".github" / "workflows").mkdir(parents=True)
    assert "`.github/workflows/` is empty" in render_workflows(tmp_path)


def test_a_broken_workflow_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "bad.yml"
    path.write_text("jobs: [\n")
    with pytest.raises(WorkflowError, match=r"\.github/workflows/bad\.yml"):
        read_workflow(path)


def test_the_repository_workflows_page_lists_each_file() -> None:
    page = PAGES["reference/workflows.md"](ROOT)
    folder = ROOT / ".github" / "workflows"
    files = sorted(folder.glob("*.y*ml")) if folder.is_dir() else []
    for path in files:
        assert f"## {path.name}" in page, path.name
    if not files:
        assert "This checkout has no workflow files" in page


def test_generate_makes_every_page() -> None:
    pages = generate(ROOT)
    assert set(pages) == set(PAGES)
    assert all(text.startswith("# ") for text in pages.values())
