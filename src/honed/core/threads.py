"""How many intra-op threads torch gets: the cores that are free now, not all of them.

torch starts one OpenMP thread per core. When other processes already keep cores busy, those threads wait for each
other at every operator while one of them is descheduled: on 2 shared cores one thread ran label search 6x faster,
in wall and CPU time, than torch's default two (benchmarks/RESULTS.md, "Threads on an oversubscribed machine").
So before the first model is loaded honed samples how busy the cores are for a moment and keeps one thread per idle
core (at least one). The instant sample, not the load average: the load average still counts a job that ended a
minute ago (e.g. the install just before `make demo`). `HONED_THREADS` or `OMP_NUM_THREADS` set by the user win.
"""
from __future__ import annotations

import os

SAMPLE_SECONDS = 0.3
_chosen: str | None = None


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def threads_for(cores: int, busy_cores: float) -> int:
    """One thread per core that other processes leave idle (a core counts as busy from half its time), ≥ 1."""
    return max(1, cores - int(busy_cores + 0.5))


def busy_cores_now(seconds: float = SAMPLE_SECONDS) -> float:
    """Cores' worth of CPU time the whole machine used over a short sample (this process sleeps meanwhile)."""
    import psutil

    return psutil.cpu_percent(interval=seconds) / 100 * psutil.cpu_count()


def decision() -> str | None:
    """What fit_threads_to_load decided in this process (None before a model was loaded)."""
    return _chosen


def fit_threads_to_load() -> str:
    """Set torch's intra-op threads once per process; returns what was decided and why (for logs and run dirs)."""
    global _chosen
    if _chosen is not None:
        return _chosen
    import torch

    for variable in ("HONED_THREADS", "OMP_NUM_THREADS"):
        if os.environ.get(variable, "").strip().isdigit() and int(os.environ[variable]) > 0:
            torch.set_num_threads(int(os.environ[variable]))
            _chosen = f"{_threads(torch.get_num_threads())} ({variable})"
            return _chosen
    cores, busy = usable_cores(), busy_cores_now()
    threads = min(threads_for(cores, busy), torch.get_num_threads())
    torch.set_num_threads(threads)
    _chosen = f"{_threads(threads)} ({cores} cores, {busy:.1f} busy with other work when the model was loaded)"
    return _chosen


def _threads(n: int) -> str:
    return f"{n} thread" if n == 1 else f"{n} threads"
