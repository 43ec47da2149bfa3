"""The token leaf: every token names a real type, and no other module spells one."""

from __future__ import annotations

import importlib
import inspect
import keyword
import re
from pathlib import Path

import pytest

from common import tokens
from tests.conftest import ROOT

AWS = {name: value for name, value in vars(tokens).items()
       if name.isupper() and isinstance(value, str) and value.startswith("aws:")}
K8S = {name: value for name, value in vars(tokens).items()
       if name.isupper() and isinstance(value, str) and value.startswith("kubernetes:")
       and value != tokens.K8S_PREFIX}
# A Pulumi type token as code would spell it: provider resources and functions, our components,
# Pulumi's own. ARNs (arn:aws:kms:...) and tag keys (mlops:environment) do not match.
TOKEN = re.compile(r"(?<![\w:])(?:(?:aws|kubernetes):[a-z0-9.]+/[A-Za-z0-9]+:[A-Za-z][A-Za-z0-9]*"
                   r"|mlops:[a-z]+:[A-Z][A-Za-z0-9]*|pulumi:(?:pulumi:Stack|providers:))")
SCANNED = ("common", "infra", "mlops", "policies", "pipelines", "benchmarks", "tests")


@pytest.mark.parametrize("name", sorted(AWS))
def test_every_aws_token_is_a_pulumi_aws_7_type(name: str) -> None:
    module, type_name = AWS[name].split(":")[1].split("/")[0], AWS[name].split(":")[2]
    module = "index" if module == "index" else module + ("_" if keyword.iskeyword(module) else "")
    package = importlib.import_module(f"pulumi_aws.{module}" if module != "index" else "pulumi_aws")
    attribute = type_name[:1].lower() + type_name[1:] if module == "index" else type_name
    if module == "index" or type_name.startswith("get"):  # a data source: get_cluster, ...
        attribute = re.sub(r"(?<!^)(?=[A-Z])", "_", attribute[:1].lower() + attribute[1:]).lower()
    assert AWS[name] in inspect.getsource(getattr(package, attribute)), name


@pytest.mark.parametrize("name", sorted(K8S))
def test_every_kubernetes_token_is_a_pulumi_kubernetes_4_type(name: str) -> None:
    group_version, type_name = K8S[name].split(":")[1:]
    group, version = group_version.split("/")
    package = importlib.import_module(f"pulumi_kubernetes.{group.split('.')[0]}.{version}")
    assert K8S[name] in inspect.getsource(getattr(package, type_name)), name


def test_deprecated_aliases_map_to_current_types() -> None:
    current = set(AWS.values())
    for old, new in tokens.DEPRECATED_ALIASES.items():
        assert old in current and new in current and old != new


def _spelled(path: Path) -> list[str]:
    """``file:line: token`` for every token spelled in ``path``."""
    return [f"{path.name}:{number}: {match.group(0)}"
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
            for match in TOKEN.finditer(line)]


def test_no_module_but_the_leaf_spells_a_token() -> None:
    leaf = ROOT / "common" / "tokens.py"
    spelled = [f"{path.parent.relative_to(ROOT)}/{hit}" for folder in SCANNED
               for path in sorted((ROOT / folder).rglob("*.py")) if path != leaf
               for hit in _spelled(path)]
    assert spelled == []


def test_the_scan_finds_a_spelled_token(tmp_path: Path) -> None:
    sample = tmp_path / "x.py"
    sample.write_text(f'TOPIC = "{tokens.SNS_TOPIC}"\nARN = "arn:aws:kms:eu-west-1:1:key/k"\n'
                      f'TAG = "mlops:environment"\nTYPE = "{tokens.STORAGE}"\n')
    assert _spelled(sample) == [f"x.py:1: {tokens.SNS_TOPIC}", f"x.py:4: {tokens.STORAGE}"]
