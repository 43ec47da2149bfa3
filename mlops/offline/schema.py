"""A Plan's inputs against the provider's own input types.

The mock runtime accepts any key in a nested dict (``{"model_package_nme": ...}`` is serialized
as given), and so would an offline test; the provider would refuse it at ``pulumi up``. This reads
the input types the installed pulumi-aws and pulumi-kubernetes SDKs generate from the provider
schemas (``<Type>Args`` and its nested ``*Args`` classes; for Kubernetes the API's own objects,
a Deployment's ``pulumi_kubernetes.apps.v1.DeploymentInitArgs`` down to its
``spec.template.spec.containers[]`` types) and names every input property the schema does not
have.
"""

from __future__ import annotations

import collections.abc
import importlib
import typing
from collections.abc import Iterator, Mapping
from typing import Any

from pulumi import _types

from mlops.offline.plan import Plan, PlanResource

PACKAGES = {"aws": "pulumi_aws", "kubernetes": "pulumi_kubernetes"}


def _module(package: str, module_path: str) -> str:
    """The SDK module of a token's module part: ``sagemaker/endpoint`` -> ``pulumi_aws.sagemaker``;
    ``networking.k8s.io/v1`` -> ``pulumi_kubernetes.networking.v1`` (an API group's first label,
    then its version)."""
    if package == "kubernetes":
        group, _, version = module_path.partition("/")
        return f"{PACKAGES[package]}.{group.split('.')[0]}.{version}"
    return f"{PACKAGES[package]}.{module_path.split('/')[0]}"


def args_class(token: str) -> type | None:
    """The ``<Type>Args`` class of an aws or kubernetes type token
    (``pulumi_aws.sagemaker.EndpointArgs`` for the endpoint's token); None for a component or a
    provider this check does not know."""
    package, _, rest = token.partition(":")
    if package not in PACKAGES or rest.count(":") != 1:
        return None
    module_path, name = rest.split(":")
    try:
        found = importlib.import_module(_module(package, module_path))
    except ImportError:
        return None
    resource = getattr(found, name, None)
    if not isinstance(resource, type):
        return None
    # When a nested block type already has the name <Name>Args (the legacy Bucket's
    # `versioning` block is BucketVersioningArgs), the generator names the resource's own
    # arguments <Name>InitArgs.
    home = importlib.import_module(resource.__module__)
    for candidate in (f"{name}InitArgs", f"{name}Args"):
        cls = getattr(home, candidate, None)
        if isinstance(cls, type) and _types.is_input_type(cls):
            return cls
    return None


def _element(tp: Any) -> Any:
    """The plain type behind ``Input[T]`` / ``Union[T, Awaitable[T], Output[T]]``."""
    tp = _types.unwrap_type(tp)
    if typing.get_origin(tp) is typing.Union:
        for arg in typing.get_args(tp):
            if typing.get_origin(arg) is not collections.abc.Awaitable and arg is not type(None):
                return _types.unwrap_type(arg)
    return tp


def _check(value: Any, tp: Any, path: str) -> Iterator[str]:
    tp = _element(tp)
    origin = typing.get_origin(tp)
    if isinstance(tp, type) and _types.is_input_type(tp):
        if isinstance(value, Mapping):
            yield from _check_object(value, tp, path)
        elif isinstance(value, list):  # a block given as a one-element list
            for i, item in enumerate(value):
                yield from _check(item, tp, f"{path}[{i}]")
    elif origin in (collections.abc.Sequence, list) and isinstance(value, list):
        (item_type,) = typing.get_args(tp) or (Any,)
        for i, item in enumerate(value):
            yield from _check(item, item_type, f"{path}[{i}]")
    elif origin in (collections.abc.Mapping, dict) and isinstance(value, Mapping):
        args = typing.get_args(tp)
        if len(args) == 2:
            for key, item in value.items():
                yield from _check(item, args[1], f"{path}.{key}")


def _check_object(value: Mapping[str, Any], cls: type, path: str) -> Iterator[str]:
    known = _types.input_type_types(cls)
    for key, item in value.items():
        if key not in known:
            where = f"{path}.{key}" if path else key
            yield f"{where}: not an input of {cls.__name__}"
            continue
        yield from _check(item, known[key], f"{path}.{key}" if path else key)


def resource_problems(resource: PlanResource) -> list[str]:
    """Input properties of one resource that its provider type does not have."""
    cls = args_class(resource.type)
    if cls is None:
        return []
    return list(_check_object(resource.inputs, cls, ""))


def schema_problems(plan: Plan) -> list[str]:
    """``<resource name> (<type>): <property path>: ...`` for every unknown input of the Plan."""
    return [f"{r.name} ({r.type}): {problem}"
            for r in plan.custom_resources() for problem in resource_problems(r)]


def checked_types(plan: Plan) -> set[str]:
    """The Plan's resource types this check can read the provider's input types of."""
    return {r.type for r in plan.custom_resources() if args_class(r.type) is not None}
