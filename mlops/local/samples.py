"""Sample data of a project (``pipelines/<project>/sample.py``) written into its feature groups'
offline stores, laid out as SageMaker's Iceberg offline store lays out its data files, so a
local run (or a run in dev) has records to read.

A project's ``sample.py`` defines ``SAMPLES``: feature group name -> ``generator(rows, seed)``
returning a pandas DataFrame of offline-store records (the group's features plus
``write_time``, ``api_invocation_time`` and ``is_deleted``).
"""

from __future__ import annotations

import importlib.util
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mlops.errors import UsageError
from mlops.local.storage import Store, join_uri

SAMPLE_FILE = "sample.py"
PARTS = 3


def load_samples(project_dir: Path) -> dict[str, Callable[..., Any]]:
    """``SAMPLES`` of the project's sample.py; UsageError when it has none."""
    path = project_dir / SAMPLE_FILE
    source = f"pipelines/{project_dir.name}/{SAMPLE_FILE}"
    if not path.is_file():
        raise UsageError(f"{source}: no such file (a project ships sample data as SAMPLES = "
                         "{feature group: generator(rows, seed)} there)")
    spec = importlib.util.spec_from_file_location(f"mlops_sample_{project_dir.name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # the project's code: one line naming the file
        raise UsageError(f"{source}: {type(exc).__name__}: {exc}") from None
    samples = getattr(module, "SAMPLES", None)
    if not isinstance(samples, dict) or not all(callable(v) for v in samples.values()):
        raise UsageError(f"{source}: SAMPLES must map feature group names to generators")
    return samples


def seed(prepared: Any, store: Store, kms_key: str | None, rows: int | None = None,
         random_seed: int = 0) -> dict[str, tuple[str, int]]:
    """Write each feature group's sample records; group -> (offline store URI, records)."""
    ctx = prepared.context
    samples = load_samples(prepared.project.path)
    unknown = sorted(set(samples) - set(ctx.feature_groups))
    if unknown:
        raise UsageError(f"pipelines/{ctx.project}/{SAMPLE_FILE}: SAMPLES names {unknown[0]}, "
                         f"not a feature group of the project ({', '.join(ctx.feature_groups)})")
    written: dict[str, tuple[str, int]] = {}
    for group, generate in samples.items():
        frame = generate(rows, random_seed) if rows else generate(seed=random_seed)
        ref = ctx.feature_groups[group]
        data = join_uri(ref.offline_store_uri, ctx.account_id, "sagemaker", ctx.region,
                        "offline-store", ref.name, "data")
        size = -(-len(frame) // PARTS)
        for part in range(PARTS):
            buffer = io.BytesIO()
            frame.iloc[part * size:(part + 1) * size].to_parquet(buffer, index=False)
            store.write(join_uri(data, f"part-{part:05d}.parquet"), buffer.getvalue(), kms_key)
        written[group] = (ref.offline_store_uri, len(frame))
    return written
