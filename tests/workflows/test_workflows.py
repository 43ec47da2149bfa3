"""The workflows in .github/workflows, parsed: each rule passes on the real files and fails on a
workflow that breaks it."""

from __future__ import annotations

import re
from functools import cache
from typing import Any

import pytest

from tests.workflows import rules
from tests.workflows.rules import Workflow, load

# A small workflow that passes every rule; the bad fixtures below are edits of it.
GOOD = """\
name: good
on:
  pull_request:
  push:
    branches: [main]
permissions: {}
jobs:
  test:
    runs-on: ubuntu-24.04
    timeout-minutes: 10
    permissions:
      contents: read
    steps:
      - uses: actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1 # v7.0.1
        with:
          persist-credentials: false
      - uses: actions/setup-python@5fda3b95a4ea91299a34e894583c3862153e4b97 # v7.0.0
        with:
          python-version: "3.11"
      - run: make test
      - run: .venv/bin/mlops preview --stack prod --json
      - run: .venv/bin/mlops models promote churn --version 3 --from staging --to prod --dry-run
"""

DEPLOY = """\
name: deploy
on:
  push:
    branches: [main]
permissions: {}
jobs:
  staging:
    runs-on: ubuntu-24.04
    timeout-minutes: 60
    environment: staging
    concurrency:
      group: deploy-staging
      cancel-in-progress: false
    permissions:
      id-token: write
    env:
      STACK: staging
    steps:
      - uses: actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1 # v7.0.1
        with:
          ref: ${{ github.sha }}
          persist-credentials: false
      - run: make up STACK="$STACK" YES=1
  prod:
    needs: staging
    runs-on: ubuntu-24.04
    timeout-minutes: 60
    environment: prod
    concurrency:
      group: deploy-prod
      cancel-in-progress: false
    permissions:
      id-token: write
    env:
      STACK: prod
    steps:
      - uses: actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1 # v7.0.1
        with:
          ref: ${{ github.sha }}
          persist-credentials: false
      - run: make up STACK="$STACK" YES=1
"""


@cache
def cli() -> Any:
    import typer.main

    from mlops.cli import app

    return typer.main.get_command(app)


@cache
def targets() -> frozenset[str]:
    return frozenset(rules.make_targets((rules.ROOT / "Makefile").read_text(encoding="utf-8")))


def edit(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


def problems(check: Any, text: str) -> list[str]:
    wf = load(text, "fixture.yml")
    if check is rules.mlops_commands_exist:
        return check(wf, cli())
    if check is rules.make_targets_exist:
        return check(wf, set(targets()))
    return check(wf)


REAL = rules.real_workflows()
NAMES = [wf.name for wf in REAL]


def test_the_four_workflows_are_there() -> None:
    assert NAMES == ["ci.yml", "deploy.yml", "drift.yml", "promote.yml"]


def test_on_is_read_as_on_not_true() -> None:
    wf = load(GOOD)
    assert True not in wf.doc and rules.triggers(wf) == {"pull_request", "push"}
    assert rules.triggers(load("on: push\njobs: {}\n")) == {"push"}
    assert rules.triggers(load("on: [push, merge_group]\njobs: {}\n")) == {"push", "merge_group"}


# --- every rule passes on the real workflows and on GOOD ------------------------------------------

ALL_CHECKS = [*rules.CHECKS, rules.mlops_commands_exist, rules.make_targets_exist]


@pytest.mark.parametrize("check", ALL_CHECKS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("wf", REAL, ids=NAMES)
def test_real_workflows_pass(check: Any, wf: Workflow) -> None:
    if check is rules.mlops_commands_exist:
        assert check(wf, cli()) == []
    elif check is rules.make_targets_exist:
        assert check(wf, set(targets())) == []
    else:
        assert check(wf) == []


@pytest.mark.parametrize("check", ALL_CHECKS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("text", [GOOD, DEPLOY], ids=["good", "deploy"])
def test_the_fixtures_pass(check: Any, text: str) -> None:
    assert problems(check, text) == []


# --- and each fails on a workflow that breaks it -----------------------------------------------

BAD = [
    # pull requests must not reach AWS
    (rules.pull_requests_cannot_change_aws, edit(GOOD, "run: make test", "run: make up STACK=prod"),
     "changes a stack"),
    (rules.pull_requests_cannot_change_aws, edit(GOOD, "run: make test",
                                                 "run: pulumi up --yes --stack prod"),
     "changes a stack"),
    (rules.pull_requests_cannot_change_aws, edit(GOOD, "run: make test",
                                                 "run: .venv/bin/mlops destroy --stack dev"),
     "changes a stack"),
    (rules.pull_requests_cannot_change_aws, edit(GOOD, "run: make test",
                                                 "run: pulumi destroy --stack dev"),
     "changes a stack"),
    (rules.pull_requests_cannot_change_aws, edit(GOOD, " --to prod --dry-run", " --to prod"),
     "promotes a model without --dry-run"),
    (rules.pull_requests_cannot_change_aws, edit(GOOD, " --to prod --dry-run",
                                                 " --to prod \\\n          --pin"),
     "promotes a model without --dry-run"),
    (rules.pull_requests_cannot_change_aws, edit(GOOD, "      contents: read\n",
                                                 "      contents: read\n      id-token: write\n"),
     "id-token: write"),
    (rules.pull_requests_cannot_change_aws, edit(GOOD, "      - run: make test\n", (
        "      - uses: aws-actions/configure-aws-credentials@"
        "e6de054238d6b7531b4efff3b6587d9aade6a06c # v6.2.3\n"
        "        with:\n          role-to-assume: ${{ vars.AWS_DEPLOY_ROLE_ARN }}\n")),
     "assumes an AWS role"),
    (rules.pull_requests_cannot_change_aws, edit(DEPLOY, "  push:\n", "  merge_group:\n  push:\n"),
     "changes a stack"),
    # prod behind its environment and staging
    (rules.stages_are_gated, edit(DEPLOY, "    environment: prod\n", ""),
     "deploys prod outside its environment"),
    (rules.stages_are_gated, edit(DEPLOY, "    needs: staging\n", ""),
     "deploys prod without needs: staging"),
    (rules.stages_are_gated, edit(DEPLOY, "cancel-in-progress: false\n    permissions:\n"
                                          "      id-token: write\n    env:\n      STACK: prod",
                                  "cancel-in-progress: true\n    permissions:\n"
                                  "      id-token: write\n    env:\n      STACK: prod"),
     "cancel-in-progress: false"),
    (rules.stages_are_gated, DEPLOY.replace("ref: ${{ github.sha }}", "ref: main"),
     "other than ${{ github.sha }}"),
    # pinned actions
    (rules.actions_are_pinned, edit(GOOD, "actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1"
                                          " # v7.0.1", "actions/checkout@v7.0.1"),
     "not pinned to a commit SHA"),
    (rules.actions_are_pinned, edit(GOOD, "actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1"
                                          " # v7.0.1", "actions/checkout@3d3c42e"),
     "not pinned to a commit SHA"),
    (rules.actions_are_pinned, edit(GOOD, "@3d3c42e5aac5ba805825da76410c181273ba90b1 # v7.0.1",
                                    "@3d3c42e5aac5ba805825da76410c181273ba90b1"),
     "no '# vX.Y.Z' comment"),
    (rules.actions_are_pinned, edit(GOOD, "      - run: make test\n",
                                    "      - uses: docker://alpine:3.20\n"),
     "not pinned by digest"),
    # timeouts
    (rules.jobs_have_timeouts, edit(GOOD, "    timeout-minutes: 10\n", ""), "no timeout-minutes"),
    # version-like values
    (rules.versions_are_quoted, edit(GOOD, 'python-version: "3.11"', "python-version: 3.10"),
     "3.10 is a number"),
    (rules.versions_are_quoted, edit(GOOD, 'python-version: "3.11"', "python-version: [3.11, 3.12]"),
     "3.11 is a number"),
    (rules.versions_are_quoted, edit(GOOD, 'python-version: "3.11"',
                                     'python-version: "3.11"\n          pulumi-version: 3'),
     "pulumi-version: 3 is a number"),
    # dangerous triggers
    (rules.no_dangerous_triggers, edit(GOOD, "  pull_request:\n", "  pull_request_target:\n"),
     "triggered by pull_request_target"),
    (rules.no_dangerous_triggers, edit(GOOD, "  pull_request:\n",
                                       "  workflow_run:\n    workflows: [ci]\n"),
     "triggered by workflow_run"),
    # the CLI
    (rules.mlops_commands_exist, edit(GOOD, "mlops preview --stack", "mlops previews --stack"),
     "`mlops previews` is no command"),
    (rules.mlops_commands_exist, edit(GOOD, "mlops models promote", "mlops models promot"),
     "`mlops models promot` is no command"),
    (rules.mlops_commands_exist, edit(GOOD, " --dry-run", " --dryrun"),
     "has no option --dryrun"),
    (rules.mlops_commands_exist, edit(GOOD, ".venv/bin/mlops preview --stack prod --json",
                                      "mlops models"),
     "is a group, not a command"),
    (rules.make_targets_exist, edit(GOOD, "run: make test", "run: make tests"), "no target tests"),
    # permissions and credentials
    (rules.top_permissions_are_empty, edit(GOOD, "permissions: {}\n", ""),
     "top-level permissions must be {}"),
    (rules.top_permissions_are_empty, edit(GOOD, "permissions: {}\n", "permissions: read-all\n"),
     "top-level permissions must be {}"),
    (rules.checkouts_keep_no_credentials, edit(GOOD, "        with:\n          persist-credentials: "
                                                     "false\n", ""),
     "without persist-credentials: false"),
    (rules.checkouts_keep_no_credentials, edit(GOOD, "persist-credentials: false",
                                               "persist-credentials: true"),
     "without persist-credentials: false"),
    (rules.runs_only_make_or_mlops, edit(GOOD, "run: make test", "run: .venv/bin/python -m pytest"),
     "runs python directly"),
    (rules.runs_only_make_or_mlops, edit(GOOD, "run: make test", "run: pulumi preview --stack dev"),
     "runs pulumi directly"),
]


@pytest.mark.parametrize(("check", "text", "expected"), BAD,
                         ids=[f"{c.__name__}-{i}" for i, (c, _, _) in enumerate(BAD)])
def test_each_rule_fails_on_a_workflow_that_breaks_it(check: Any, text: str, expected: str) -> None:
    found = problems(check, text)
    assert found, f"{check.__name__} passed a workflow that breaks it"
    assert any(expected in p for p in found), found


def test_every_rule_has_a_failing_fixture() -> None:
    assert {c.__name__ for c, _, _ in BAD} == {c.__name__ for c in ALL_CHECKS}


# --- what the real workflows do ---------------------------------------------------------------

def by_name(name: str) -> Workflow:
    return next(wf for wf in REAL if wf.name == name)


def test_deploy_goes_dev_staging_prod_on_the_same_commit() -> None:
    wf = by_name("deploy.yml")
    jobs = rules.deploy_jobs(wf)
    stacks = {rules.job_stack(job): (job_id, job) for job_id, job in jobs.items()}
    assert sorted(stacks) == ["dev", "prod", "staging"]
    assert rules.needs_of(stacks["staging"][1]) == ["dev"]
    assert rules.needs_of(stacks["prod"][1]) == ["staging"]
    assert rules.triggers(wf) == {"push", "workflow_dispatch"}
    for stack, (_, job) in stacks.items():
        assert rules.grants(job["permissions"], "id-token")
        assert job["concurrency"] == {"group": f"deploy-{stack}", "cancel-in-progress": False}
        run = "\n".join(rules.script(s) for s in rules.steps(job))
        assert 'make up STACK="$STACK" YES=1' in run
        assert 'mlops endpoints status --stack "$STACK"' in run
        assert run.index("make up") < run.index("endpoints status")
        credentials = [s for s in rules.steps(job) if rules.uses(s).startswith(
            rules.AWS_CREDENTIALS)]
        assert [c["with"]["role-to-assume"] for c in credentials] == [
            "${{ vars.AWS_DEPLOY_ROLE_ARN }}"]
    assert stacks["dev"][1]["if"] == "${{ github.ref == 'refs/heads/main' }}"


def test_only_deploy_changes_stacks_and_only_promote_promotes() -> None:
    for wf in REAL:
        text = "\n".join(rules.script(s) for job in wf.jobs.values() for s in rules.steps(job))
        if wf.name != "deploy.yml":
            assert not rules.DEPLOY.search(text) and not rules.PULUMI_CHANGE.search(text), wf.name
        if wf.name != "promote.yml":
            for found in rules.PROMOTE.finditer(text):
                assert "--dry-run" in found.group("rest"), wf.name


def test_write_permissions_are_where_they_are_needed_and_nowhere_else() -> None:
    expected = {
        ("ci.yml", "preview-comment"): {"pull-requests"},
        ("ci.yml", "policy"): {"security-events"},
        ("deploy.yml", "dev"): {"id-token"},
        ("deploy.yml", "staging"): {"id-token"},
        ("deploy.yml", "prod"): {"id-token"},
        ("promote.yml", "promote"): {"id-token"},
        ("promote.yml", "pull-request"): {"contents", "pull-requests", "actions"},
        ("drift.yml", "check"): {"id-token"},
        ("drift.yml", "report"): {"issues"},
    }
    for wf in REAL:
        for job_id, job in wf.jobs.items():
            writes = {scope for scope, level in (job.get("permissions") or {}).items()
                      if level == "write"}
            assert writes == expected.get((wf.name, job_id), set()), (wf.name, job_id)
            for scope, level in (job.get("permissions") or {}).items():
                assert level in ("read", "write"), (wf.name, job_id, scope)


def test_the_preview_comment_is_one_comment_for_same_repository_pull_requests_only() -> None:
    job = by_name("ci.yml").jobs["preview-comment"]
    assert job["if"] == ("${{ !cancelled() && github.event_name == 'pull_request' && "
                         "github.event.pull_request.head.repo.full_name == github.repository }}")
    run = rules.script(rules.steps(job)[-1])
    assert 'marker="<!-- mlops-preview -->"' in run
    assert "--method PATCH" in run and "--method POST" in run  # edit if found, else create
    assert not any(rules.uses(s).startswith(rules.CHECKOUT) for s in rules.steps(job))


def test_policy_sarif_is_uploaded_even_when_the_check_fails_then_the_job_fails() -> None:
    job = by_name("ci.yml").jobs["policy"]
    names = [rules.uses(s) or s.get("name") for s in rules.steps(job)]
    check = next(s for s in rules.steps(job) if s.get("id") == "check")
    assert "--format sarif" in rules.script(check) and check["continue-on-error"] is True
    upload = next(s for s in rules.steps(job) if "upload-sarif" in rules.uses(s))
    assert upload["if"].startswith("${{ !cancelled()")
    fail = rules.steps(job)[-1]
    assert fail["if"] == "${{ steps.check.outcome != 'success' }}" and "exit 1" in fail["run"]
    assert names.index(upload["uses"]) < len(names) - 1


def test_promotion_inputs_reach_scripts_through_env_only() -> None:
    wf = by_name("promote.yml")
    for job in wf.jobs.values():
        for step in rules.steps(job):
            assert "${{" not in str(step.get("run") or ""), step.get("name")
    job = wf.jobs["promote"]
    assert job["environment"] == "${{ inputs.target }}"
    assert job["env"]["PROJECT"] == "${{ inputs.project }}"
    runs = [rules.script(s) for s in rules.steps(job) if "run" in s]
    assert any("mlops models promote" in r and "--dry-run" in r for r in runs)


def test_drift_uses_read_only_roles_and_one_issue() -> None:
    wf = by_name("drift.yml")
    assert "schedule" in rules.triggers(wf)
    check = wf.jobs["check"]
    assert "environment" not in check  # the drift role trusts the main branch, not an environment
    assert "mlops stacks drift" in "\n".join(rules.script(s) for s in rules.steps(check))
    report = rules.script(rules.steps(wf.jobs["report"])[-1])
    assert "gh issue list" in report and "gh issue comment" in report and "gh issue create" in report


def test_no_script_interpolates_expressions() -> None:
    """Values reach scripts through env: (zizmor's template-injection), never ${{ }} in run."""
    for wf in REAL:
        for job_id, job in wf.jobs.items():
            for step in rules.steps(job):
                assert "${{" not in str(step.get("run") or ""), (wf.name, job_id, step.get("name"))


def test_the_pulumi_cli_matches_the_locked_sdk() -> None:
    locked = re.search(r"^pulumi==([\d.]+)", (rules.ROOT / "requirements.lock").read_text(),
                       re.MULTILINE)
    assert locked
    assert (rules.ROOT / "ci" / "pulumi-version").read_text().strip() == locked.group(1)


# --- the CI guide says what the workflows do ------------------------------------------------------

GUIDE = (rules.ROOT / "docs" / "ci.md").read_text(encoding="utf-8")


def test_the_guide_lists_each_pinned_action_with_its_commit() -> None:
    listed = {m.group(1): (m.group(2), m.group(3)) for m in re.finditer(
        r"^\| `([\w./-]+)` \| (v[\d.]+) \| `([0-9a-f]{40})` \|", GUIDE, re.MULTILINE)}
    used = {}
    for wf in REAL:
        for line in wf.text.splitlines():
            found = rules.USES_LINE.match(line)
            if found:
                action, sha = found.group("ref").split("@")
                used[action] = (found.group("comment"), sha)
    assert listed == used


def check_names(wf: Workflow) -> set[str]:
    """The names GitHub gives the jobs' checks (a matrix job: one per value)."""
    names = set()
    for job in wf.jobs.values():
        name = str(job.get("name"))
        values = ((job.get("strategy") or {}).get("matrix") or {}).get("stack")
        if values and "${{ matrix.stack }}" in name:
            names |= {name.replace("${{ matrix.stack }}", v) for v in values}
        else:
            names.add(name)
    return names


def test_the_required_checks_in_the_guide_are_ci_jobs() -> None:
    section = GUIDE.split("required status checks:", 1)[1].split("; no force pushes", 1)[0]
    required = set(re.findall(r"`([^`]+)`", section))
    ci = check_names(by_name("ci.yml"))
    assert required and required <= ci
    assert ci - required == {"preview comment"}  # skipped for forks and pushes: not required
