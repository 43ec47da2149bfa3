"""Run ``infra/`` in-process under Pulumi's mock runtime and record every registration."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pulumi
from pulumi.output import Unknown
from pulumi.runtime import mocks, rpc, settings
from pulumi.runtime.config import set_all_config
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from common import tokens
from infra.config import Settings, parse_settings, stack_file
from mlops.offline.cloud import DEFAULT_ACCOUNT, Cloud
from mlops.offline.fakes import FakeCloud
from mlops.offline.plan import PROJECT, Plan, PlanResource
from mlops.offline.stackfile import read_stack_config


def _plain(value: Any) -> Any:
    """Deserialized properties as JSON values: secrets unwrapped, resources as URNs, values not
    known yet as Pulumi's own unknown marker (what ``pulumi preview --json`` shows)."""
    if isinstance(value, Unknown) or value == rpc.UNKNOWN:
        return rpc.UNKNOWN
    if isinstance(value, dict):
        if value.get(rpc._special_sig_key) == rpc._special_secret_sig:
            return _plain(value.get("value"))
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, pulumi.Resource):
        return getattr(value, "_urn_name", None) or repr(value)
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


class RecordingMonitor(mocks.MockMonitor):
    """A mock monitor that keeps each registration request, as the engine would see it."""

    def __init__(self, fakes: mocks.Mocks) -> None:
        super().__init__(fakes)
        self.recorded: list[PlanResource] = []
        self.stack_urn: str | None = None
        self._lock = threading.Lock()

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 (gRPC method name)
        response = super().RegisterResource(request)
        if request.type == tokens.STACK:
            self.stack_urn = response.urn
            return response
        inputs = _plain(rpc.deserialize_properties(request.object, keep_unknowns=True))
        parent = request.parent or None
        resource = PlanResource(
            urn=response.urn,
            type=request.type,
            name=request.name,
            parent=None if parent == self.stack_urn else parent,
            custom=bool(request.custom),
            inputs=inputs,
            dependencies=sorted(set(request.dependencies)),
            propertyDependencies={
                k: sorted(set(v.urns)) for k, v in request.propertyDependencies.items()
            },
            protect=bool(request.protect),
            retainOnDelete=bool(request.retainOnDelete),
            provider=request.provider or None,
        )
        with self._lock:
            self.recorded.append(resource)
        return response


def _engine_config(config: dict[str, Any]) -> dict[str, str]:
    """Config values as the engine hands them to a program: strings, objects as JSON."""
    return {k: v if isinstance(v, str) else json.dumps(v) for k, v in config.items()}


def load_settings(root: Path, stack: str) -> tuple[Settings, dict[str, Any]]:
    """Validate a stack file; raises SettingsError naming the file and key."""
    config = read_stack_config(root, stack)
    return parse_settings(config, stack_file(stack)), config


_RUN_LOCK = threading.Lock()


def record(program: Callable[[], Any], *, stack: str, config: dict[str, Any], fakes: mocks.Mocks,
           preview: bool = True) -> Plan:
    """Run ``program`` under Pulumi's mock runtime and return what it registered.

    ``preview`` is Pulumi's dry run: outputs the mocks do not give are unknown (as in
    ``pulumi preview``), and inputs built from them are recorded as the unknown marker.
    ``program`` returns an object whose ``outputs`` attribute holds the stack outputs, or None.
    """
    with _RUN_LOCK:  # the Pulumi runtime is process-global
        monitor = RecordingMonitor(fakes)
        settings.ROOT.set(None)
        set_all_config(_engine_config(config))
        mocks.set_mocks(monitor.mocks, project=PROJECT, stack=stack, preview=preview,
                        monitor=monitor)
        built: list[Any] = []
        _sync_await(run_pulumi_func(lambda: built.append(program())))
        exported = getattr(built[0], "outputs", None) or {}
        outputs = _sync_await(pulumi.Output.from_input(exported).future())
        resources = sorted(monitor.recorded, key=lambda r: r.urn)
        return Plan(stack=stack, project=PROJECT, resources=resources, outputs=_plain(outputs))


def build_plan(
    root: Path, stack: str, cloud_factory: Callable[[Cloud], mocks.Mocks] | None = None, *,
    preview: bool = True,
) -> Plan:
    """Run the program for ``stack`` under mocks and return what it registered.

    Settings are validated first, so an invalid stack file raises SettingsError before the
    runtime starts and before any resource is registered. ``cloud_factory`` supplies the mocks
    that answer registrations (default: the specs' deterministic fakes; the sandbox passes a
    moto-backed one, with ``preview=False``, so registrations create real simulated
    resources). A registered type without a complete spec raises IncompleteSpec.
    """
    from infra.program import run
    from mlops.specs import check_types

    settings_model, config = load_settings(root, stack)
    cloud = Cloud(account_id=settings_model.account_id or DEFAULT_ACCOUNT, region=settings_model.region)
    plan = record(lambda: run(root), stack=stack, config=config,
                  fakes=(cloud_factory or FakeCloud)(cloud), preview=preview)
    check_types(plan.type_counts(), f"the program for stack {stack}")
    return plan
