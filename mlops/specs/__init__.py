"""One spec per resource type the platform creates, grouped by AWS service, one module each
(Kubernetes objects, from pulumi-kubernetes, in one module of their own).

``REGISTRY`` merges the services' ``SPECS`` lists (token -> :class:`ResourceSpec`). The offline
fakes, the sandbox engine, the Terraform export and the policy docs all read it; a type the
program registers without a complete spec fails the Plan (:func:`check_types`).

Adding a type: name its token in ``common/tokens.py``, add a ``ResourceSpec`` to the service's
module here (a new module goes into ``SERVICES``), and give it tests (tests/mlops/specs/).
"""

from __future__ import annotations

from collections.abc import Iterable
from types import ModuleType

from mlops.specs import (
    appautoscaling,
    cloudwatch,
    eks,
    events,
    iam,
    kms,
    kubernetes,
    logs,
    s3,
    sagemaker,
    scheduler,
    sns,
    sqs,
)
from mlops.specs.spec import NotExported, NotSimulated, ResourceSpec, Terraform

__all__ = ["REGISTRY", "SERVICES", "IncompleteSpec", "NotExported", "NotSimulated", "ResourceSpec",
           "Terraform",
           "check_types", "problems_of", "spec_for"]

SERVICES: tuple[ModuleType, ...] = (s3, kms, iam, sns, sqs, events, cloudwatch, logs, sagemaker,
                                     appautoscaling, scheduler, eks, kubernetes)


class IncompleteSpec(LookupError):
    """Resource types without a complete spec; ``str()`` is one line naming each."""


def _merge(services: Iterable[ModuleType]) -> dict[str, ResourceSpec]:
    registry: dict[str, ResourceSpec] = {}
    for module in services:
        for spec in module.SPECS:
            if spec.token in registry:
                raise ValueError(f"{spec.token}: specified twice ({module.__name__})")
            registry[spec.token] = spec
    return registry


REGISTRY: dict[str, ResourceSpec] = _merge(SERVICES)


def spec_for(token: str) -> ResourceSpec:
    """The spec of ``token``; IncompleteSpec when there is none."""
    try:
        return REGISTRY[token]
    except KeyError:
        raise IncompleteSpec(f"{token}: no spec in mlops/specs/") from None


def problems_of(types: Iterable[str]) -> dict[str, list[str]]:
    """token -> what is missing, for each of ``types`` whose spec is missing or incomplete."""
    found: dict[str, list[str]] = {}
    for token in sorted(set(types)):
        spec = REGISTRY.get(token)
        problems = ["no spec in mlops/specs/"] if spec is None else spec.problems()
        if problems:
            found[token] = problems
    return found


def check_types(types: Iterable[str], where: str) -> None:
    """Raise IncompleteSpec naming every type of ``types`` without a complete spec."""
    found = problems_of(types)
    if found:
        listed = "; ".join(f"{token}: {', '.join(p)}" for token, p in found.items())
        raise IncompleteSpec(f"{where}: resource types without a complete spec: {listed}")
