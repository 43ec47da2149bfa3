"""Render benchmark: cold vs warm render phase, and a 100-project synthetic platform preview.

Each measurement runs in a fresh interpreter, so "cold" pays for importing the SageMaker SDK and
"warm" shows what the render cache saves (a warm run must not import the SDK at all). Prints
the figures and merges them into benchmarks/results.json under the key "render".

    .venv/bin/python benchmarks/render_bench.py [--projects 100] [--skip-synthetic]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results.json"
STACKS = ("dev", "staging", "prod")

# Runs in a child interpreter: the render phase (load + render + rules) of every project for
# every stack, or a whole offline preview; reports seconds, peak RSS and whether the SDK loaded.
CHILD = r"""
import json, resource, sys, time
from pathlib import Path
root, mode, stacks = Path(sys.argv[1]), sys.argv[2], sys.argv[3].split(",")
start = time.perf_counter()
if mode == "render":
    from infra.projects.stack import project_pipelines
    from mlops.ops.pipelines import naming_for
    from mlops.offline.runtime import load_settings
    count = 0
    for stack in stacks:
        settings, _ = load_settings(root, stack)
        count += len(project_pipelines(root, settings, naming_for(settings, stack)))
else:
    from mlops.offline.runtime import build_plan
    count = sum(len(build_plan(root, stack).resources) for stack in stacks)
seconds = time.perf_counter() - start
print(json.dumps({"seconds": round(seconds, 3), "count": count,
                  "peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
                  "sdk_imported": any(m.startswith("sagemaker") for m in sys.modules)}))
"""


def child(root: Path, mode: str, stacks: tuple[str, ...], cache: Path) -> dict:
    env = {"MLOPS_RENDER_CACHE": str(cache), "AWS_ACCESS_KEY_ID": "bench",
           "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": "eu-west-1",
           "AWS_EC2_METADATA_DISABLED": "true", "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-c", CHILD, str(root), mode, ",".join(stacks)],
                          cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    if done.returncode:
        raise SystemExit(f"benchmark child failed:\n{done.stderr[-2000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def synthetic_root(base: Path, projects: int) -> Path:
    """stacks/ plus ``projects`` copies of the churn example, each under its own name."""
    shutil.copytree(ROOT / "stacks", base / "stacks")
    source = ROOT / "pipelines" / "churn"
    for i in range(projects):
        name = f"p{i:03d}"
        target = base / "pipelines" / name
        shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
        manifest = target / "project.yaml"
        manifest.write_text(manifest.read_text().replace("name: churn", f"name: {name}", 1)
                            .replace("packageGroup: churn", f"packageGroup: {name}"))
    return base


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--projects", type=int, default=100)
    parser.add_argument("--skip-synthetic", action="store_true")
    args = parser.parse_args()
    figures: dict = {}
    with tempfile.TemporaryDirectory(prefix="render-bench-") as tmp:
        cache = Path(tmp) / "cache"
        cold = child(ROOT, "render", STACKS, cache)
        warm = child(ROOT, "render", STACKS, cache)
        figures["examples"] = {
            "renders": cold["count"], "cold_seconds": cold["seconds"],
            "warm_seconds": warm["seconds"], "speedup": round(cold["seconds"] / warm["seconds"], 1),
            "warm_imports_sdk": warm["sdk_imported"],
        }
        print(f"render phase, {cold['count']} renders: cold {cold['seconds']} s, warm "
              f"{warm['seconds']} s ({figures['examples']['speedup']}x); warm imports SDK: "
              f"{warm['sdk_imported']}")
        if not args.skip_synthetic:
            root = synthetic_root(Path(tmp) / "synthetic", args.projects)
            fill = child(root, "render", ("dev",), cache)  # cold: renders every project once
            preview = child(root, "preview", ("dev",), cache)
            figures["synthetic"] = {
                "projects": args.projects, "cold_render_seconds": fill["seconds"],
                "warm_preview_seconds": preview["seconds"], "warm_preview_peak_mb":
                preview["peak_mb"], "resources": preview["count"],
                "warm_imports_sdk": preview["sdk_imported"],
            }
            print(f"{args.projects}-project platform (dev): cold render {fill['seconds']} s; warm "
                  f"preview {preview['seconds']} s, peak {preview['peak_mb']} MB, "
                  f"{preview['count']} resources; SDK imported: {preview['sdk_imported']}")
    figures["targets"] = {"warm_speedup_min": 5, "synthetic_preview_seconds_max": 30,
                          "synthetic_preview_mb_max": 1024}
    results = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}
    results["render"] = {**results.get("render", {}), **figures}  # keep figures not re-measured
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
