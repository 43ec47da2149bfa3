"""The documentation site builds with `mkdocs build --strict` (broken links and anchors fail),
its generated pages are virtual, and the build leaves docs/ as it was."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from mlops.reference import PAGES
from tests.conftest import ROOT

DOCS = ROOT / "docs"


def snapshot(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` with the hash of its content."""
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and "__pycache__" not in p.parts}


def mkdocs_build(site: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file",
         str(ROOT / "mkdocs.yml"), "--site-dir", str(site)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """One strict build of the site for this module: (site dir, result, seconds, docs before)."""
    site = tmp_path_factory.mktemp("site")
    before = snapshot(DOCS)
    started = time.monotonic()
    result = mkdocs_build(site)
    return site, result, time.monotonic() - started, before


def test_the_site_builds_strict(built) -> None:  # type: ignore[no-untyped-def]
    site, result, seconds, _ = built
    assert result.returncode == 0, result.stdout + result.stderr
    assert "WARNING" not in result.stderr, result.stderr
    assert (site / "index.html").is_file()
    assert seconds < 120, f"the build took {seconds:.0f} s"


def test_generated_pages_are_in_the_site(built) -> None:  # type: ignore[no-untyped-def]
    site, result, _, _ = built
    assert result.returncode == 0, result.stderr
    for uri in PAGES:
        page = site / uri.removesuffix(".md") / "index.html"
        assert page.is_file(), uri
        assert "Generated" in page.read_text(encoding="utf-8") or uri == "policies.md", uri
    cli = (site / "reference" / "cli" / "index.html").read_text(encoding="utf-8")
    assert "mlops models promote" in cli and "--dry-run" in cli


def test_a_build_leaves_docs_as_it_was(built) -> None:  # type: ignore[no-untyped-def]
    _, result, _, before = built
    assert result.returncode == 0, result.stderr
    assert snapshot(DOCS) == before, "the build wrote into docs/"
    for uri in PAGES:
        if uri != "policies.md":  # written by `mlops policy docs`; the site renders it afresh
            assert not (DOCS / uri).exists(), f"{uri} is generated and must not be a file in docs/"


def test_the_nav_has_every_page_and_every_generated_one() -> None:
    config = YAML(typ="safe", pure=True).load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))

    def pages(node: object) -> list[str]:
        if isinstance(node, str):
            return [node]
        if isinstance(node, list):
            return [p for item in node for p in pages(item)]
        if isinstance(node, dict):
            return [p for value in node.values() for p in pages(value)]
        return []

    nav = pages(config["nav"])
    on_disk = sorted(p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md"))
    assert sorted(set(on_disk) - set(nav)) == []
    assert sorted(set(PAGES) - set(nav)) == []
    assert len(nav) == len(set(nav)), "a page is listed twice"
    assert config["hooks"] == ["mlops/reference/hooks.py"]
    assert config["theme"]["font"] is False, "material's default font is fetched from Google"
    validation = config["validation"]
    assert validation["links"] == {"not_found": "warn", "anchors": "warn",
                                   "absolute_links": "warn", "unrecognized_links": "warn"}
    assert validation["nav"]["omitted_files"] == "warn"


def _minimal_site(root: Path, index: str) -> subprocess.CompletedProcess:
    """This repository's mkdocs.yml without the hook and the nav, on a one-page docs/."""
    config = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    head = config.split("\nhooks:")[0]
    extensions = config.split("\nmarkdown_extensions:")[1].split("\nnav:")[0]
    (root / "docs").mkdir(parents=True)
    (root / "docs" / "index.md").write_text(index, encoding="utf-8")
    (root / "mkdocs.yml").write_text(
        head + "\nmarkdown_extensions:" + extensions + "\nnav:\n  - Home: index.md\n",
        encoding="utf-8")
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(root / "site")],
        cwd=root, env={**os.environ, "NO_MKDOCS_2_WARNING": "1"}, capture_output=True,
        text=True, timeout=120, check=False)


def test_a_broken_anchor_fails_the_build(tmp_path: Path) -> None:
    """What --strict catches with this configuration: a link to an anchor that is not there."""
    good = _minimal_site(tmp_path / "good", "# Home\n\n## Here\n\n[here](#here)\n")
    assert good.returncode == 0, good.stderr
    bad = _minimal_site(tmp_path / "bad", "# Home\n\n## Here\n\n[there](#no-such-anchor)\n")
    assert bad.returncode != 0
    assert "no-such-anchor" in bad.stderr


def test_a_broken_link_fails_the_build(tmp_path: Path) -> None:
    bad = _minimal_site(tmp_path / "bad", "# Home\n\n[gone](no-such-page.md)\n")
    assert bad.returncode != 0
    assert "no-such-page.md" in bad.stderr
