"""Local runs of each example (`mlops pipelines run PROJECT --local --data DIR --no-cache`), as
whole processes, written to benchmarks/results.json under "local_run".

Each run starts from seeded sample data in a fresh folder and runs every step (no cache), so
the time is what a data scientist waits for a first run. Renders are warm (the cache of
`make bench`'s other parts); the run itself is what is measured.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results.json"
RUNS = int(os.environ.get("BENCH_LOCAL_RUNS", "3"))
PROJECTS = ("churn", "fraud")
TARGETS = {"churn_seconds_max": 60.0}


def timed(command: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one child process; exits when it fails."""
    start = time.perf_counter()
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"benchmark command failed: {' '.join(command)}")
    return elapsed, usage.ru_maxrss / 1024


def bench(project: str) -> dict[str, float]:
    mlops = str(Path(sys.executable).parent / "mlops")
    samples = []
    for _ in range(RUNS):
        with tempfile.TemporaryDirectory() as data:
            subprocess.run([mlops, "pipelines", "seed", project, "--data", data], cwd=ROOT,
                           check=True, capture_output=True)
            samples.append(timed([mlops, "pipelines", "run", project, "--local", "--data", data,
                                  "--no-cache"]))
    times = [s[0] for s in samples]
    return {"runs": RUNS, "median_seconds": round(statistics.median(times), 2),
            "min_seconds": round(min(times), 2), "max_seconds": round(max(times), 2),
            "peak_mb": round(max(s[1] for s in samples), 1)}


def main() -> None:
    results = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}
    local = {project: bench(project) for project in PROJECTS}
    results["local_run"] = {**local, "targets": TARGETS}
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(f"{'local run':<10}{'median s':>10}{'min s':>8}{'max s':>8}{'peak MB':>10}")
    for project, r in local.items():
        print(f"{project:<10}{r['median_seconds']:>10}{r['min_seconds']:>8}{r['max_seconds']:>8}"
              f"{r['peak_mb']:>10}")
    ok = local["churn"]["median_seconds"] < TARGETS["churn_seconds_max"]
    print(f"churn target (< {TARGETS['churn_seconds_max']} s): {'met' if ok else 'MISSED'}")


if __name__ == "__main__":
    main()
