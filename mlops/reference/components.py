"""reference/components.md: every Pulumi component of the program and the resources it creates.

The resources come from an offline Plan (:func:`mlops.offline.runtime.build_plan`) of the dev
stack, in a scratch copy of the project whose dev stack file pins a churn version, as
``mlops models promote`` would: without a pin the program creates no endpoint and no drift
check, and the serving and retraining components would show nothing. The copy shares the
checkout's ``pipelines/`` and render cache, so a warm build takes well under a second.
"""

from __future__ import annotations

import importlib
import inspect
import os
import pkgutil
import shutil
import tempfile
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from mlops.reference.markdown import cell, code, paragraphs, slug, table

if TYPE_CHECKING:
    from mlops.offline.plan import Plan, PlanResource

STACK = "dev"
PINNED_PROJECT = "churn"
PINNED_VERSION = 1


@dataclass(frozen=True)
class ComponentClass:
    """A ComponentResource subclass of infra/: its type token's name, module file and doc."""

    name: str  # the class name, which is the last part of its type token
    path: str  # infra/components/storage.py
    doc: str


def component_classes(root: Path) -> dict[str, ComponentClass]:
    """Every ComponentResource defined in infra/platform.py and infra/components/, by class name."""
    import pulumi

    import infra.components

    modules = ["infra.platform"] + [f"infra.components.{m.name}"
                                    for m in pkgutil.iter_modules(infra.components.__path__)]
    found: dict[str, ComponentClass] = {}
    for module_name in modules:
        module = importlib.import_module(module_name)
        source = Path(inspect.getfile(module)).resolve()
        try:
            path = source.relative_to(root.resolve()).as_posix()
        except ValueError:  # an installed copy: name it by its module
            path = module_name.replace(".", "/") + ".py"
        for name, obj in vars(module).items():
            if (inspect.isclass(obj) and issubclass(obj, pulumi.ComponentResource)
                    and obj.__module__ == module_name):
                found[name] = ComponentClass(name, path, inspect.getdoc(obj) or "")
    return found


def pinned_plan(root: Path, stack: str = STACK) -> Plan:
    """The Plan of ``stack`` with the example project pinned, built in a scratch copy."""
    from infra.projects.render import CACHE_ENV
    from mlops.offline.runtime import build_plan
    from mlops.ops.pins import write_pin

    with tempfile.TemporaryDirectory(prefix="mlops-docs-") as scratch:
        copy = Path(scratch)
        shutil.copytree(root / "stacks", copy / "stacks")
        (copy / "pipelines").symlink_to((root / "pipelines").resolve(), target_is_directory=True)
        if CACHE_ENV not in os.environ:  # renders land in the checkout's cache, as a preview's do
            (root / ".cache").mkdir(exist_ok=True)
            (copy / ".cache").symlink_to((root / ".cache").resolve(), target_is_directory=True)
        arn = (f"arn:aws:sagemaker:eu-west-1:123456789012:model-package/"
               f"mlops-{stack}-{PINNED_PROJECT}/{PINNED_VERSION}")
        write_pin(copy, stack, PINNED_PROJECT, PINNED_VERSION, arn)
        return build_plan(copy, stack)


def _section(token: str) -> str:
    return token.rsplit(":", 1)[-1]


def render_components(root: Path, plan: Plan | None = None) -> str:
    """The Markdown page: the component tree of ``plan`` (default: :func:`pinned_plan`)."""
    plan = plan or pinned_plan(root)
    classes = component_classes(root)
    by_urn = plan.by_urn()
    children: dict[str | None, list[PlanResource]] = defaultdict(list)
    for resource in plan.resources:
        parent = resource.parent if resource.parent in by_urn else None
        children[parent].append(resource)

    # Components in tree order (parents before children, siblings by name), one section per type.
    order: list[str] = []
    members: dict[str, list[PlanResource]] = defaultdict(list)

    def visit(urn: str | None) -> None:
        for child in sorted(children[urn], key=lambda r: r.name):
            if not child.custom:
                if child.type not in order:
                    order.append(child.type)
                members[child.type].append(child)
                visit(child.urn)

    visit(None)
    custom = plan.custom_resources()
    lines = [
        "# Components and the resources they create",
        "",
        "<!-- Generated at build time by mlops/reference/components.py from an offline Plan; "
        "not a file in docs/, do not edit. -->",
        "",
        f"What the Pulumi program in `infra/` creates, component by component. The page is built "
        f"from the offline Plan of the `{plan.stack}` stack (`mlops preview --stack {plan.stack}` "
        f"runs the same code), with `{PINNED_PROJECT}` v{PINNED_VERSION} pinned in a scratch "
        f"copy of `stacks/Pulumi.{plan.stack}.yaml`, as `mlops models promote` pins a version: "
        "without a pin a stack has no endpoint and no drift check. The Plan holds "
        f"{len(custom)} resources of {len(plan.type_counts())} types. Other stacks differ in "
        "values (retention, instance types, protection in prod, autoscaling where the manifest "
        "asks for it): `mlops stacks diff dev prod --all` lists them, and "
        "[the stack settings](../settings.md) say which setting changes what.",
        "",
        "Logical names are the Pulumi resource names; physical names follow "
        "`<prefix>-<stack>-<purpose>` (buckets add `-<account>-<region>`).",
        "",
        "## Summary",
        "",
    ]
    rows = []
    for token in order:
        klass = classes.get(_section(token))
        count = sum(len([c for c in children[m.urn] if c.custom]) for m in members[token])
        rows.append([f"[{_section(token)}](#{slug(_section(token))})", code(token),
                     code(klass.path) if klass else "-", str(len(members[token])), str(count)])
    lines += table(["component", "type token", "defined in", "instances", "resources"], rows)
    for token in order:
        name = _section(token)
        klass = classes.get(name)
        lines += ["", f"## {name}", ""]
        where = f" in {code(klass.path)}" if klass else ""
        instances = ", ".join(code(m.name) for m in members[token])
        lines += [f"Type {code(token)}{where}; in this plan: {instances}.", ""]
        if klass and klass.doc:
            lines += [paragraphs(klass.doc), ""]
        owned = [c for m in members[token] for c in children[m.urn]]
        kinds: dict[str, list[str]] = defaultdict(list)
        for child in owned:
            kinds[child.type].append(child.name)
        rows = []
        for kind in sorted(kinds, key=lambda t: (not _is_component(t, order), t)):
            names = sorted(kinds[kind])
            label = (f"[{_section(kind)}](#{slug(_section(kind))}) (component)"
                     if _is_component(kind, order) else code(kind))
            rows.append([label, str(len(names)), ", ".join(code(n) for n in names)])
        lines += table(["resource type", "count", "logical names"], rows)
    absent = sorted(set(classes) - {_section(t) for t in order})
    if absent:
        lines += ["", "## Not in this plan", "",
                  f"Components of `infra/` that the `{plan.stack}` plan above does not create "
                  "(they depend on settings or manifest sections it does not use):", ""]
        lines += table(["component", "defined in", "what it is"],
                       [[name, code(classes[name].path), cell(classes[name].doc)]
                        for name in absent])
    from mlops.specs import REGISTRY
    from policies.rules import rules_by_type

    judged = rules_by_type()
    type_counts = Counter(r.type for r in custom)
    lines += ["", "## Resource types", "",
              "Every cloud resource type in the plan, how many, and the policy rules that judge "
              "it (or why none needs to).", ""]
    rows = []
    for kind, n in sorted(type_counts.items()):
        spec = REGISTRY.get(kind)
        rules = ", ".join(f"[{rule}](../policies.md#{rule})" for rule in judged.get(kind, []))
        if not rules:
            rules = cell(f"none: {spec.unchecked}") if spec and spec.unchecked else "none"
        rows.append([code(kind), str(n), rules])
    lines += table(["resource type", "count", "policy rules"], rows)
    return "\n".join(lines) + "\n"


def _is_component(token: str, components: list[str]) -> bool:
    return token in components
