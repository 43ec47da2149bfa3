"""The platform's Trigger step in a local run: ``infra/drift/code/trigger.py``, in-process.

The step is a Processing step, but its script talks to SageMaker, CloudWatch and S3. A
subprocess could not reach moto running in this process (tests, the sandbox server's own
triggered runs), so the same module runs here with the run's AWS clients. With ``--data`` there
is no AWS: no execution history (nothing to cool down from), no alarm, objects and audit record
in the folder. Its outputs are uploaded and its properties set as for any Processing step.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from infra.drift.code import trigger as script
from infra.projects.triggers import TRIGGER_SCRIPT, TRIGGER_STEP
from mlops.local.job import StepFailed, StepResult, StepRun
from mlops.local.processing import job_properties, upload_outputs
from mlops.local.storage import Store

SKIPPED_DETAIL = script.SKIPPED


def is_trigger(step: Mapping[str, Any]) -> bool:
    """The platform's Trigger step (its name and script), not a project step."""
    if step.get("Name") != TRIGGER_STEP or step.get("Type") != "Processing":
        return False
    spec = (step.get("Arguments") or {}).get("AppSpecification") or {}
    entrypoint = spec.get("ContainerEntrypoint") or []
    return bool(entrypoint) and str(entrypoint[-1]).endswith(f"/{TRIGGER_SCRIPT}")


class StoreAws(script.Aws):
    """``--data``: the trigger's S3 reads and writes in the local folder; no other AWS."""

    def __init__(self, store: Store) -> None:
        super().__init__(lambda service: None)
        self.store = store

    def executions(self, pipeline: str) -> list[dict[str, Any]]:
        return []

    def finished_at(self, arn: str) -> dt.datetime:  # pragma: no cover (no executions)
        raise StepFailed(f"no execution {arn} with --data")

    def keys(self, bucket: str, prefix: str) -> set[str]:
        return {uri.removeprefix(f"s3://{bucket}/") for uri in
                self.store.keys(f"s3://{bucket}/{prefix}")}

    def read(self, bucket: str, key: str) -> dict[str, Any]:
        return dict(json.loads(self.store.read(f"s3://{bucket}/{key}")))

    def put(self, bucket: str, key: str, body: bytes, kms_key: str | None) -> bool:
        if key in self.keys(bucket, key):
            return False
        self.store.write(f"s3://{bucket}/{key}", body, kms_key)
        return True

    def alarm(self, name: str) -> dict[str, Any] | None:
        return None

    def objects(self, bucket: str, prefix: str) -> list[dict[str, Any]]:
        return []


def run_trigger(run: StepRun) -> StepResult:
    """Decide and record as the container would; detail: the outcome and its reason."""
    environment = {k: str(v) for k, v in (run.arguments.get("Environment") or {}).items()}
    aws = script.Aws(run.env.aws.client) if run.env.aws is not None else StoreAws(run.env.store)
    root = run.local("/opt/ml/processing")
    try:
        record = script.run(environment, aws, root)
    except script.SettingsError as exc:
        raise StepFailed(f"trigger: {exc}") from None
    except (ClientError, BotoCoreError) as exc:
        raise StepFailed(f"trigger: AWS error: {' '.join(str(exc).split())}") from None
    run.write_log(f"[mlops] trigger: {record['outcome']} ({record['source']}): "
                  f"{record['reason']}")
    outputs, written = upload_outputs(run)
    return StepResult(properties=job_properties(run, outputs), outputs=written,
                      detail=f"{record['outcome']}: {record['reason']}")
