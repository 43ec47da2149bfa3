"""Run ``infra/`` in-process under Pulumi's mock runtime and record every registration."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime import mocks, rpc, settings
from pulumi.runtime.config import set_all_config
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from infra.config import Settings, parse_settings, stack_file
from mlops.offline.fakes import DEFAULT_ACCOUNT, Cloud, FakeCloud
from mlops.offline.plan import PROJECT, Plan, PlanResource
from mlops.offline.stackfile import read_stack_config

STACK_TYPE = "pulumi:pulumi:Stack"
# Pulumi's wire markers for secrets and resource references inside serialized properties.
_SIG = "4dabf18193072939515e22adb298388d"
_SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"


def _plain(value: Any) -> Any:
    """Turn deserialized properties into JSON values (secrets unwrapped, resources as URNs)."""
    if isinstance(value, dict):
        if value.get(_SIG) == _SECRET_SIG:
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
        if request.type == STACK_TYPE:
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


def build_plan(
    root: Path, stack: str, cloud_factory: Callable[[Cloud], mocks.Mocks] | None = None
) -> Plan:
    """Run the program for ``stack`` under mocks and return what it registered.

    Settings are validated first, so an invalid stack file raises SettingsError before the
    runtime starts and before any resource is registered. ``cloud_factory`` supplies the mocks
    that answer registrations (default: deterministic fakes; the sandbox passes a moto-backed
    one so registrations create real simulated resources).
    """
    from infra.program import run

    settings_model, config = load_settings(root, stack)
    cloud = Cloud(account_id=settings_model.account_id or DEFAULT_ACCOUNT, region=settings_model.region)
    with _RUN_LOCK:  # the Pulumi runtime is process-global
        monitor = RecordingMonitor((cloud_factory or FakeCloud)(cloud))
        settings.ROOT.set(None)
        set_all_config(_engine_config(config))
        mocks.set_mocks(monitor.mocks, project=PROJECT, stack=stack, preview=False, monitor=monitor)
        built: list[Any] = []
        _sync_await(run_pulumi_func(lambda: built.append(run(root))))
        outputs = _sync_await(pulumi.Output.from_input(built[0].outputs).future())
        resources = sorted(monitor.recorded, key=lambda r: r.urn)
        return Plan(stack=stack, project=PROJECT, resources=resources, outputs=_plain(outputs))
