"""The glue scripts of the workflows, run as the runner runs them (bash -eo pipefail) against a
fake `gh` that answers from canned JSON (filtered with jq, as `gh --jq` would) and records each
call: the preview comment is created once and then edited, the drift issue is opened once, then
commented on, then closed."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.workflows.rules import WORKFLOWS, load_file, steps

pytestmark = pytest.mark.skipif(shutil.which("bash") is None or shutil.which("jq") is None,
                                reason="needs bash and jq (both on GitHub's runners)")

# A `gh` that logs its arguments (and the body file it is given) and answers list calls from
# $GH_COMMENTS / $GH_ISSUES through jq, as `gh --jq` does; other calls print nothing.
FAKE_GH = """#!/usr/bin/env bash
printf '%s\\n' "$*" >> "$GH_LOG"
for arg in "$@"; do
  case "$arg" in body=@*) cp "${arg#body=@}" "$GH_LOG.body" ;; esac
done
if [ "$1" = "api" ] && [ "$2" = "--paginate" ]; then
  jq -r "$5" "$GH_COMMENTS"
elif [ "$1" = "issue" ] && [ "$2" = "list" ]; then
  jq -r "${@: -1}" "$GH_ISSUES"
fi
"""


def step_script(workflow: str, job: str, name: str) -> str:
    wf = load_file(WORKFLOWS / workflow)
    step = next(s for s in steps(wf.jobs[job]) if s.get("name") == name)
    return str(step["run"])


def run_script(script: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    bin_dir = cwd / "bin"
    bin_dir.mkdir(exist_ok=True)
    gh = bin_dir / "gh"
    gh.write_text(FAKE_GH)
    gh.chmod(gh.stat().st_mode | stat.S_IEXEC)
    summary = cwd / "summary.md"
    full = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
            "GH_LOG": str(cwd / "gh.log"), "GITHUB_STEP_SUMMARY": str(summary), **env}
    return subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
                          cwd=cwd, env=full, capture_output=True, text=True, timeout=60,
                          check=False)


def calls(cwd: Path) -> list[str]:
    log = cwd / "gh.log"
    return log.read_text().splitlines() if log.exists() else []


# --- the preview comment ----------------------------------------------------------------------

COMMENT_STEP = ("ci.yml", "preview-comment", "create or update the preview comment")


def preview_dir(tmp_path: Path) -> Path:
    previews = tmp_path / "previews"
    previews.mkdir()
    for stack in ("dev", "staging", "prod"):
        (previews / f"preview-{stack}.txt").write_text(
            f"mlops-platform / stack {stack}\n└── mlops-{stack} <script>x</script> & more\n")
    return tmp_path


def comment_env(tmp_path: Path, comments: list[dict[str, Any]]) -> dict[str, str]:
    path = tmp_path / "comments.json"
    path.write_text(json.dumps(comments))
    return {"GH_COMMENTS": str(path), "GH_TOKEN": "x", "REPO": "acme/mlops-platform", "PR": "7",
            "HEAD": "0123abc"}


def test_the_first_push_creates_the_comment(tmp_path: Path) -> None:
    cwd = preview_dir(tmp_path)
    others = [{"id": 1, "user": {"login": "alice"}, "body": "<!-- mlops-preview --> mine"}]
    done = run_script(step_script(*COMMENT_STEP), cwd, comment_env(tmp_path, others))
    assert done.returncode == 0, done.stderr
    assert calls(cwd)[-1] == "api --method POST repos/acme/mlops-platform/issues/7/comments " \
                             "-F body=@comment.md"
    body = (cwd / "gh.log.body").read_text()
    assert body.startswith("<!-- mlops-preview -->\n")
    assert body.count("<details>") == 3 and "Commit 0123abc" in body
    assert "&lt;script&gt;x&lt;/script&gt; &amp; more" in body and "<script>" not in body


def test_a_failed_preview_is_said_so_and_the_others_still_shown(tmp_path: Path) -> None:
    cwd = preview_dir(tmp_path)
    (cwd / "previews" / "preview-staging.txt").unlink()
    done = run_script(step_script(*COMMENT_STEP), cwd, comment_env(tmp_path, []))
    assert done.returncode == 0, done.stderr
    body = (cwd / "gh.log.body").read_text()
    assert "<b>staging</b>: the preview failed" in body and body.count("<details>") == 2


def test_later_pushes_edit_the_bots_comment(tmp_path: Path) -> None:
    cwd = preview_dir(tmp_path)
    comments = [{"id": 1, "user": {"login": "alice"}, "body": "<!-- mlops-preview --> mine"},
                {"id": 42, "user": {"login": "github-actions[bot]"},
                 "body": "<!-- mlops-preview -->\nold"}]
    done = run_script(step_script(*COMMENT_STEP), cwd, comment_env(tmp_path, comments))
    assert done.returncode == 0, done.stderr
    assert calls(cwd)[-1] == ("api --method PATCH repos/acme/mlops-platform/issues/comments/42 "
                              "-F body=@comment.md")
    assert not any("POST" in c for c in calls(cwd))


# --- the drift issue --------------------------------------------------------------------------

DRIFT_STEP = ("drift.yml", "report", "open, update or close the drift issue")


def reports(tmp_path: Path, states: dict[str, tuple[bool, bool] | None]) -> Path:
    folder = tmp_path / "reports"
    folder.mkdir()
    for stack, state in states.items():
        if state is not None:
            drifted, failed = state
            (folder / f"drift-{stack}.json").write_text(json.dumps(
                {"stack": stack, "drifted": drifted, "failed": failed,
                 "exitCode": 255 if drifted or failed else 0, "command": ["pulumi"]}))
    return tmp_path


def issue_env(tmp_path: Path, issues: list[dict[str, Any]]) -> dict[str, str]:
    path = tmp_path / "issues.json"
    path.write_text(json.dumps(issues))
    return {"GH_ISSUES": str(path), "GH_TOKEN": "x", "GH_REPO": "acme/mlops-platform",
            "RUN_URL": "https://github.com/acme/mlops-platform/actions/runs/9"}


CLEAN = (False, False)


def test_drift_opens_one_issue_naming_the_stacks(tmp_path: Path) -> None:
    cwd = reports(tmp_path, {"dev": CLEAN, "staging": (True, False), "prod": None})
    done = run_script(step_script(*DRIFT_STEP), cwd, issue_env(tmp_path, []))
    assert done.returncode == 0, done.stderr
    made = calls(cwd)
    assert made[0].startswith("issue list --state open --label drift")
    assert made[-1] == ("issue create --title Infrastructure drift detected --label drift "
                        "--body-file report.md")
    report = (cwd / "report.md").read_text()
    assert "| dev | in sync |" in report and "| staging | **drifted** |" in report
    assert "| prod | no report" in report and "actions/runs/9" in report
    assert report in (cwd / "summary.md").read_text()


def test_drift_again_comments_on_the_open_issue(tmp_path: Path) -> None:
    cwd = reports(tmp_path, {"dev": CLEAN, "staging": CLEAN, "prod": (False, True)})
    done = run_script(step_script(*DRIFT_STEP), cwd, issue_env(tmp_path, [{"number": 12}]))
    assert done.returncode == 0, done.stderr
    assert calls(cwd)[-1] == "issue comment 12 --body-file report.md"
    assert "| prod | preview failed (exit 255) |" in (cwd / "report.md").read_text()
    assert not any(c.startswith("issue create") for c in calls(cwd))


def test_back_in_sync_closes_the_issue_and_otherwise_does_nothing(tmp_path: Path) -> None:
    cwd = reports(tmp_path, {"dev": CLEAN, "staging": CLEAN, "prod": CLEAN})
    done = run_script(step_script(*DRIFT_STEP), cwd, issue_env(tmp_path, [{"number": 12}]))
    assert done.returncode == 0, done.stderr
    assert calls(cwd)[-1].startswith("issue close 12 --comment Every stack is in sync again")
    quiet = tmp_path / "quiet"
    quiet.mkdir()
    cwd = reports(quiet, {"dev": CLEAN, "staging": CLEAN, "prod": CLEAN})
    done = run_script(step_script(*DRIFT_STEP), cwd, issue_env(quiet, []))
    assert done.returncode == 0, done.stderr
    assert [c.split()[:2] for c in calls(cwd)] == [["issue", "list"]]


# --- the promotion pull request ---------------------------------------------------------------

PR_STEP = ("promote.yml", "pull-request", "open the pull request")


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True,
                          text=True).stdout


def checkout_with_pin(tmp_path: Path, pinned: str) -> Path:
    """A clone of a repository with stacks/Pulumi.prod.yaml, an 'origin' to push to, and the
    promote job's artifact (the stack file as it pinned it) under .cache/pinned."""
    origin, work = tmp_path / "origin.git", tmp_path / "work"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(origin))
    git(tmp_path, "clone", "-q", str(origin), str(work))
    (work / "stacks").mkdir()
    (work / "stacks" / "Pulumi.prod.yaml").write_text("config:\n  mlops:environment: prod\n")
    git(work, "-c", "user.name=t", "-c", "user.email=t@example.com", "add", ".")
    git(work, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-m", "init")
    git(work, "push", "-q", "origin", "HEAD:main")
    (work / ".cache" / "pinned").mkdir(parents=True)
    (work / ".cache" / "pinned" / "Pulumi.prod.yaml").write_text(pinned)
    return work


PR_ENV = {"PROJECT": "churn", "VERSION": "3", "TARGET": "prod", "GH_TOKEN": "x",
          "GITHUB_RUN_ID": "77", "RUN_URL": "https://github.com/acme/mlops-platform/actions/runs/77"}


def test_the_pin_becomes_a_branch_a_pull_request_and_a_ci_run(tmp_path: Path) -> None:
    pinned = ("config:\n  mlops:environment: prod\n  mlops:models:\n    churn:\n      version: 3\n"
              "      packageArn: arn:aws:sagemaker:eu-west-1:123456789012:model-package/"
              "mlops-prod-churn/3\n")
    work = checkout_with_pin(tmp_path, pinned)
    done = run_script(step_script(*PR_STEP), work, PR_ENV)
    assert done.returncode == 0, done.stderr
    branch = "promote/prod/churn-v3-77"
    assert git(tmp_path / "origin.git", "show", f"{branch}:stacks/Pulumi.prod.yaml") == pinned
    changed = git(tmp_path / "origin.git", "diff", "--name-only", "main", branch).split()
    assert changed == ["stacks/Pulumi.prod.yaml"]  # the pin and nothing else
    subject = git(tmp_path / "origin.git", "log", "-1", "--format=%s", branch).strip()
    assert subject == "Promote churn v3 to prod"
    made = calls(work)
    assert made[0] == "auth setup-git"
    assert made[1].startswith(f"pr create --base main --head {branch} --title Promote churn v3 "
                              "to prod --body-file .cache/pr-body.md")
    assert made[2] == f"workflow run ci.yml --ref {branch}"
    assert "Nothing is deployed yet" in (work / ".cache" / "pr-body.md").read_text()


def test_an_existing_pin_opens_no_pull_request(tmp_path: Path) -> None:
    work = checkout_with_pin(tmp_path, "config:\n  mlops:environment: prod\n")
    done = run_script(step_script(*PR_STEP), work, PR_ENV)
    assert done.returncode == 0, done.stderr
    assert calls(work) == []
    assert "already pins churn v3" in (work / "summary.md").read_text()
    assert git(tmp_path / "origin.git", "branch", "--format=%(refname:short)").split() == ["main"]
