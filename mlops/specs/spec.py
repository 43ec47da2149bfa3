"""The spec of one resource type: everything the project knows about it, in one place.

A spec holds the type token (from :mod:`common.tokens`), the fake outputs the offline Plan gets,
how the sandbox applies it (a handler, or :class:`NotSimulated` with the one-line reason), its
Terraform export (or :class:`NotExported` with the reason and where it is exported instead)
and its policy coverage (the rules that judge it come from the pack's registry; a type no rule
judges says why in ``unchecked``). Tokens are pulumi-aws's (``aws:``, Terraform ``aws_*`` types)
or pulumi-kubernetes's (``kubernetes:``, exported as manifests by ``mlops export k8s``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from mlops.offline.cloud import Cloud
from mlops.sandbox.handlers import Handler

FakeOutputs = Callable[[Cloud, str, dict[str, Any]], tuple[str, dict[str, Any]]]


@dataclass(frozen=True)
class NotSimulated:
    """The sandbox does not create this type; ``reason`` says why in one line."""

    reason: str


@dataclass(frozen=True)
class NotExported:
    """The Terraform-plan export leaves this type out; ``reason`` says why and where it goes."""

    reason: str


@dataclass(frozen=True)
class Terraform:
    """How the type appears in a Terraform plan export (``terraform show -json`` shape)."""

    type: str  # aws_s3_bucket
    # Pulumi pluralises list blocks; Terraform names the block in the singular (any depth).
    blocks: Mapping[str, str] = field(default_factory=dict)
    # Properties that are JSON documents in Terraform (an object given in Pulumi is exported as
    # its JSON text), at any depth.
    json: frozenset[str] = frozenset()
    # Properties that are maps in Terraform (keys kept verbatim), besides tags.
    maps: frozenset[str] = frozenset()
    # Whether the provider's default tags reach the type even when the program sets no tags.
    default_tags: bool = False


@dataclass(frozen=True)
class ResourceSpec:
    """One resource type: its token, offline fakes, sandbox handling, export and coverage."""

    token: str
    fake: FakeOutputs
    sandbox: Handler | NotSimulated
    terraform: Terraform | NotExported
    caveat: str = ""  # what moto stores but does not act on, shown in the sandbox summary
    unchecked: str = ""  # why no policy rule judges this type ("": some rule must)

    @property
    def rules(self) -> tuple[str, ...]:
        """Ids of the policy rules that judge this type (from the pack's registry)."""
        from policies.rules import rules_by_type

        return tuple(rules_by_type().get(self.token, ()))

    def problems(self) -> list[str]:
        """What is missing or contradictory in this spec (empty: complete)."""
        found = []
        kubernetes = self.token.startswith("kubernetes:")
        if kubernetes:
            if not re.fullmatch(r"kubernetes:[a-z0-9.]+/v[0-9a-z]+:[A-Z][A-Za-z0-9]+", self.token):
                found.append(f"token {self.token!r} is not a kubernetes:<group>/<version>:<Kind> "
                             "token")
        elif not re.fullmatch(r"aws:[a-z0-9]+/[A-Za-z0-9]+:[A-Za-z0-9]+", self.token):
            found.append(f"token {self.token!r} is not an aws:<module>/<name>:<Type> token")
        if not callable(self.fake):
            found.append("fake: no fake outputs for the offline Plan")
        if isinstance(self.sandbox, NotSimulated):
            if not self.sandbox.reason.strip():
                found.append("sandbox: NotSimulated needs its reason")
        elif not callable(self.sandbox):
            found.append("sandbox: neither a handler nor NotSimulated(reason)")
        if isinstance(self.terraform, NotExported):
            if not self.terraform.reason.strip():
                found.append("terraform: NotExported needs its reason")
        elif kubernetes:
            if not re.fullmatch(r"kubernetes_[a-z0-9_]+", self.terraform.type):
                found.append(f"terraform.type {self.terraform.type!r} is not a Terraform "
                             "Kubernetes type")
        elif not re.fullmatch(r"aws_[a-z0-9_]+", self.terraform.type):
            found.append(f"terraform.type {self.terraform.type!r} is not a Terraform AWS type")
        rules = self.rules
        if not rules and not self.unchecked.strip():
            found.append("policy: no rule judges this type and `unchecked` gives no reason")
        if rules and self.unchecked:
            found.append(f"policy: `unchecked` is set but rules judge it ({', '.join(rules)})")
        return found


def attached_to(*keys: str) -> FakeOutputs:
    """Fake outputs of a companion resource whose ID is what it attaches to (a bucket, ...)."""
    def fake(cloud: Cloud, name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        return str(next((inputs[k] for k in keys if inputs.get(k)), name)), {}
    return fake
