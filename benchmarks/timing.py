"""Timing loop shared by the benchmark scripts (both sides of a comparison)."""

import time


def time_loop(step, iters, warmup, min_seconds=0.0):
    """Runs `step` `warmup` times untimed, then at least `iters` times and
    at least `min_seconds`; returns (seconds, timed iterations)."""
    for _ in range(warmup):
        step()
    done = 0
    start = time.perf_counter()
    while done < iters or time.perf_counter() - start < min_seconds:
        step()
        done += 1
    return time.perf_counter() - start, done
