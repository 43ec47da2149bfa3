"""The sandbox engine: apply the Pulumi program's registrations to moto instead of recording them.

``MotoCloud`` is a ``pulumi.runtime.Mocks``: every custom resource the program registers is
answered by its type's sandbox handler (from its spec in ``mlops/specs/``), which performs the
boto3 calls that create or update it and returns the real physical ID and outputs (ARNs, key
IDs), so dependent inputs carry real values and every request passes botocore's validation.

A type whose spec says :class:`~mlops.specs.NotSimulated` (or a handler that raises
:class:`~mlops.sandbox.handlers.CannotSimulate`) is answered with the offline fakes and listed
as "not simulated" with the reason; a failed call is listed as "failed". Nothing is dropped.

Both modes use the same code: in-process under ``moto.mock_aws`` (tests), or against a local moto
server (``endpoint_url``, the sandbox commands).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pulumi

from common import tokens
from mlops.offline.cloud import Cloud
from mlops.offline.fakes import FakeCloud
from mlops.offline.plan import Plan
from mlops.sandbox.handlers import CannotSimulate, Ctx, Retry
from mlops.specs import REGISTRY, NotSimulated

CREATED = "created"
APPLIED = "applied"  # existed already; the desired state was re-applied
NOT_SIMULATED = "not simulated"
FAILED = "failed"
SIMULATED = (CREATED, APPLIED)
RETRY_SECONDS = 20.0


@dataclass
class Outcome:
    """What the engine did with one custom resource."""

    type: str
    name: str
    status: str
    physical_id: str = ""
    detail: str = ""

    @property
    def simulated(self) -> bool:
        return self.status in SIMULATED


class MotoCloud(pulumi.runtime.Mocks):
    """Pulumi mocks whose registrations create the resources in moto (see module docstring)."""

    def __init__(self, ctx: Ctx, on_outcome: Callable[[Outcome], None] | None = None) -> None:
        self.ctx = ctx
        self.fakes = FakeCloud(ctx.cloud)
        self.outcomes: list[Outcome] = []
        self.on_outcome = on_outcome
        self._lock = threading.Lock()  # one handler at a time: moto and the outcome list

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict]:
        if not args.custom or tokens.is_provider(args.typ):
            return self.fakes.new_resource(args)  # components and providers: nothing to create
        spec = REGISTRY.get(args.typ)
        if spec is None:
            return self._fallback(args, NOT_SIMULATED, "no spec for this type in mlops/specs/")
        if isinstance(spec.sandbox, NotSimulated):
            return self._fallback(args, NOT_SIMULATED, spec.sandbox.reason)
        inputs = dict(args.inputs)
        deadline = time.monotonic() + RETRY_SECONDS
        while True:
            try:
                with self._lock:
                    physical, outputs, created = spec.sandbox(self.ctx, args.name, inputs)
                break
            except Retry as exc:
                if time.monotonic() > deadline:
                    return self._fallback(args, FAILED, str(exc))
                time.sleep(0.05)
            except CannotSimulate as exc:
                return self._fallback(args, NOT_SIMULATED, str(exc))
            except Exception as exc:  # a boto3/moto error: shown in the summary, never dropped
                return self._fallback(args, FAILED, f"{type(exc).__name__}: {exc}")
        self._record(Outcome(args.typ, args.name, CREATED if created else APPLIED, physical,
                             spec.caveat))
        return physical, {**inputs, **outputs}

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict:  # type: ignore[override]
        return self.fakes.call(args)

    def _fallback(self, args: pulumi.runtime.MockResourceArgs, status: str,
                  detail: str) -> tuple[str | None, dict]:
        physical, outputs = self.fakes.new_resource(args)
        self._record(Outcome(args.typ, args.name, status, physical or "", detail))
        return physical, outputs

    def _record(self, outcome: Outcome) -> None:
        with self._lock:
            self.outcomes.append(outcome)
        if self.on_outcome is not None:
            self.on_outcome(outcome)


@dataclass
class ApplyResult:
    """The Plan of the run plus what the engine did with each custom resource."""

    plan: Plan
    outcomes: list[Outcome]

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for o in self.outcomes:
            counts[o.status] = counts.get(o.status, 0) + 1
        return counts

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == FAILED]

    @property
    def not_simulated(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == NOT_SIMULATED]

    def rows(self) -> list[tuple[str, str, str, str, str]]:
        """(component, type, name, status, detail) in Plan order, for the summary table."""
        by_key = {(o.type, o.name): o for o in self.outcomes}
        rows = []
        for r in self.plan.custom_resources():
            o = by_key.get((r.type, r.name))
            component = (r.parent or "").rsplit("::", 1)[-1]
            if o is not None:
                rows.append((component, r.type, r.name, o.status, o.detail))
        return rows


def apply_stack(root: Path, stack: str, *, endpoint_url: str | None = None,
                on_outcome: Callable[[Outcome], None] | None = None) -> ApplyResult:
    """Run the program for ``stack`` and create its resources in moto.

    ``endpoint_url`` is the local moto server; without it, calls go wherever boto3 goes, which is
    moto's in-process backend inside ``moto.mock_aws()``. Raises SettingsError for a bad stack file
    before anything is created.
    """
    from mlops.offline.runtime import build_plan, load_settings

    settings, _ = load_settings(root, stack)
    engines: list[MotoCloud] = []

    def factory(cloud: Cloud) -> MotoCloud:
        ctx = Ctx(cloud=cloud, stack=stack, endpoint_url=endpoint_url,
                  default_tags=dict(settings.default_tags))
        engines.append(MotoCloud(ctx, on_outcome))
        return engines[0]

    plan = build_plan(root, stack, cloud_factory=factory, preview=False)
    return ApplyResult(plan=plan, outcomes=list(engines[0].outcomes))
