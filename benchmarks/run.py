"""`make bench`: whole-process timings of `mlops preview`, written to benchmarks/results.json,
then the render benchmark (render_bench.py) and the examples' local runs (local_run_bench.py).

Each run is a fresh process (imports included), as a person or CI pays for it. Reports the
median wall time over several runs and the peak resident memory of the slowest-memory run.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results.json"
RUNS = int(os.environ.get("BENCH_RUNS", "5"))
TARGETS = {"preview_prod_seconds": 5.0, "preview_prod_peak_mb": 400.0}


def timed(command: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one child process."""
    start = time.perf_counter()
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"benchmark command failed: {' '.join(command)}")
    return elapsed, usage.ru_maxrss / 1024  # ru_maxrss is KiB on Linux


def bench_preview(stack: str) -> dict[str, float]:
    mlops = str(Path(sys.executable).parent / "mlops")
    samples = [timed([mlops, "preview", "--stack", stack, "--json"]) for _ in range(RUNS)]
    times = [s[0] for s in samples]
    return {
        "runs": RUNS,
        "median_seconds": round(statistics.median(times), 3),
        "min_seconds": round(min(times), 3),
        "max_seconds": round(max(times), 3),
        "peak_mb": round(max(s[1] for s in samples), 1),
    }


def main() -> None:
    results = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}
    preview = {stack: bench_preview(stack) for stack in ("dev", "staging", "prod")}
    results["preview"] = preview
    results["machine"] = {"python": platform.python_version(), "cpus": os.cpu_count(),
                          "platform": platform.platform()}
    results["targets"] = TARGETS
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    prod = preview["prod"]
    print(f"{'stack':<10}{'median s':>10}{'min s':>8}{'max s':>8}{'peak MB':>10}")
    for stack, r in preview.items():
        print(f"{stack:<10}{r['median_seconds']:>10}{r['min_seconds']:>8}{r['max_seconds']:>8}"
              f"{r['peak_mb']:>10}")
    ok = (prod["median_seconds"] < TARGETS["preview_prod_seconds"]
          and prod["peak_mb"] < TARGETS["preview_prod_peak_mb"])
    print(f"prod target (< {TARGETS['preview_prod_seconds']} s, < {TARGETS['preview_prod_peak_mb']} MB):"
          f" {'met' if ok else 'MISSED'}")
    for extra in ("render_bench.py", "local_run_bench.py"):
        subprocess.run([sys.executable, str(ROOT / "benchmarks" / extra)], cwd=ROOT, check=True)


if __name__ == "__main__":
    main()
