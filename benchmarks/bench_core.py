"""Time the core fit on random float32 vertices: bounds, fit, transform.

For each size (default 10^4 .. 10^7 vertices) a fresh child process builds seeded random
float32 points of shape (n, 3) and times, over several repetitions:

* ``bounds``:    ``meshpivot.vectors.point_bounds(points)``
* ``fit``:       ``meshpivot.fit.compute_fit(lo, hi, options)``
* ``transform``: ``meshpivot.vectors.transform_points(points, fit.scale, fit.translation, out=points)``

The table gives the median seconds of each step and of the three together (``total``,
the median of the per-repetition sums), vertices per second of ``total``, and the peak
resident memory of that child process (``getrusage(RUSAGE_SELF).ru_maxrss``: one
process per size so each peak is its own; it includes the interpreter and numpy, shown
as the ``baseline`` line of a child that only imports them).

Usage: python benchmarks/bench_core.py [--sizes 10000 100000 ...] [--repeat N] [--json]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from typing import Any

SEED = 20240501
SIZES = (10**4, 10**5, 10**6, 10**7)
TARGET_SECONDS = 0.5  # aim for about this much timed work per size (small sizes repeat more)
MAX_REPEAT = 200


def peak_mib() -> float:
    """Peak resident set size of this process in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def run_child(n: int, repeat: int | None) -> dict[str, Any]:
    """Time one size in this process (called in a child)."""
    import numpy as np

    from meshpivot.fit import compute_fit
    from meshpivot.options import FitOptions
    from meshpivot.vectors import point_bounds, transform_points

    if n == 0:
        return {"n": 0, "peak_mib": peak_mib()}
    rng = np.random.default_rng(SEED)
    points = rng.random((n, 3), dtype=np.float32)
    points *= np.array([40.0, 90.0, 25.0], dtype=np.float32)
    points += np.array([100.0, -3.0, 7.0], dtype=np.float32)
    options = FitOptions(scaled_bbox=(0.5, 0.9, 0.5), pivot_point=(0.0, -0.5, 0.0))

    def once() -> tuple[float, float, float]:
        t0 = time.perf_counter()
        lo, hi = point_bounds(points)
        t1 = time.perf_counter()
        fit = compute_fit(lo, hi, options)
        t2 = time.perf_counter()
        transform_points(points, fit.scale, fit.translation, out=points)
        t3 = time.perf_counter()
        return t1 - t0, t2 - t1, t3 - t2

    once()  # warm-up: the first pass also pays for page faults
    if repeat is None:
        probe = sum(once())
        repeat = int(min(MAX_REPEAT, max(5, TARGET_SECONDS / max(probe, 1e-9))))
    runs = [once() for _ in range(repeat)]
    # Every repetition fits the box it measures, so points stay in the target box.
    bounds, fits, transforms = (statistics.median(col) for col in zip(*runs, strict=True))
    total = statistics.median(sum(r) for r in runs)
    return {
        "n": n,
        "repeat": repeat,
        "bounds_s": bounds,
        "fit_s": fits,
        "transform_s": transforms,
        "total_s": total,
        "vertices_per_s": n / total,
        "peak_mib": peak_mib(),
    }


def measure(n: int, repeat: int | None) -> dict[str, Any]:
    """Run one size in a fresh child process and return its result."""
    cmd = [sys.executable, __file__, "--child", str(n)]
    if repeat is not None:
        cmd += ["--repeat", str(repeat)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
    result: dict[str, Any] = json.loads(proc.stdout)
    return result


def print_table(baseline: dict[str, Any], rows: list[dict[str, Any]]) -> None:
    header = (
        f"{'vertices':>10} {'repeat':>6} {'bounds s':>10} {'fit s':>10} {'transform s':>11} "
        f"{'total s':>10} {'vertices/s':>11} {'peak MiB':>9}"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        print(
            f"{r['n']:>10,} {r['repeat']:>6} {r['bounds_s']:>10.6f} {r['fit_s']:>10.6f} "
            f"{r['transform_s']:>11.6f} {r['total_s']:>10.6f} {r['vertices_per_s']:>11.3g} "
            f"{r['peak_mib']:>9.1f}"
        )
    print(
        f"{'baseline':>10} {'':>6} {'':>10} {'':>10} {'':>11} {'':>10} {'':>11} {baseline['peak_mib']:>9.1f}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES), help="vertex counts")
    parser.add_argument(
        "--repeat",
        type=int,
        default=None,
        help="repetitions per size (default: about 0.5 s of work, at least 5)",
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of the table")
    parser.add_argument("--child", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child is not None:
        print(json.dumps(run_child(args.child, args.repeat)))
        return 0

    baseline = measure(0, None)
    rows = [measure(n, args.repeat) for n in args.sizes]
    if args.json:
        print(json.dumps({"baseline": baseline, "rows": rows}, indent=2))
    else:
        print_table(baseline, rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
