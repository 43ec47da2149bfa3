"""JUnit reports (pytest's and Checkov's) as the Markdown of a CI job summary."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from ci.junit_summary import main, markdown, parse
from tests.conftest import ROOT

PYTEST = """<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest" errors="1" failures="1" skipped="1" tests="4" time="2.5">
<testcase classname="tests.a" name="test_ok" time="0.1"/>
<testcase classname="tests.a" name="test_bad|pipe" time="0.1">
  <failure message="assert 1 == 2&#10;second line">trace</failure></testcase>
<testcase classname="tests.b" name="test_boom" time="0.1">
  <error message="&lt;b&gt;boom&lt;/b&gt;"/></testcase>
<testcase classname="tests.b" name="test_later" time="0.1"><skipped message="slow"/></testcase>
</testsuite></testsuites>"""
# The shape Checkov 3.3 writes (--output junitxml).
CHECKOV = """<?xml version="1.0" ?>
<testsuites disabled="0" errors="0" failures="1" tests="2" time="0.0">
<testsuite disabled="0" errors="0" failures="1" name="Terraform Plan scan" skipped="0" tests="2"
 time="0">
<testcase name="[NONE][CKV_AWS_18] Ensure the S3 bucket has access logging enabled"
 classname="/p.json.aws_s3_bucket.raw" file="/p.json"/>
<testcase name="[NONE][CKV_AWS_21] Ensure all data stored in the S3 bucket have versioning enabled"
 classname="/p.json.aws_s3_bucket.logs" file="/p.json">
<failure type="failure" message="Ensure all data stored in the S3 bucket have versioning enabled">
Resource: aws_s3_bucket.logs</failure>
</testcase></testsuite></testsuites>"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "report.xml"
    path.write_text(text, encoding="utf-8")
    return path


def test_pytest_report_totals_and_failures(tmp_path: Path) -> None:
    report = parse(write(tmp_path, PYTEST))
    text = markdown(report, "make test")
    assert text.startswith("### make test: failed\n")
    assert "| 4 | 1 | 1 | 1 | 1 | 2.5 |" in text
    assert "| failed | tests.a::test_bad\\|pipe | assert 1 == 2 |" in text  # first line only
    assert "| error | tests.b::test_boom | &lt;b&gt;boom&lt;/b&gt; |" in text  # no raw HTML
    assert "test_ok" not in text and "test_later" not in text


def test_checkov_report(tmp_path: Path) -> None:
    text = markdown(parse(write(tmp_path, CHECKOV)), "Checkov prod")
    assert "| 2 | 1 | 1 | 0 | 0 | 0.0 |" in text
    assert "CKV_AWS_21" in text and "CKV_AWS_18" not in text


def test_a_clean_report_lists_nothing(tmp_path: Path) -> None:
    clean = PYTEST.split("<testcase classname=\"tests.a\" name=\"test_bad")[0] + \
        "</testsuite></testsuites>"
    text = markdown(parse(write(tmp_path, clean)), "make test")
    assert text.startswith("### make test: passed") and "| outcome |" not in text


def test_a_missing_report_says_so_and_a_broken_one_is_an_error(tmp_path: Path, capsys) -> None:
    assert main([str(tmp_path / "absent.xml"), "--title", "make test"]) == 0
    assert "### make test: no report" in capsys.readouterr().out
    assert main([str(write(tmp_path, "<testsuites"))]) == 2


def test_runs_as_a_module_as_make_test_summary_does(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "ci.junit_summary", str(write(tmp_path, CHECKOV)),
                           "--title", "Checkov dev"], cwd=ROOT, capture_output=True, text=True,
                          check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("### Checkov dev: failed")
