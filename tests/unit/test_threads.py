"""The thread policy: one torch thread per core other processes leave idle, user settings win."""
import pytest

from honed.core import threads


@pytest.mark.parametrize(("cores", "busy", "expected"), [
    (2, 0.0, 2), (2, 0.4, 2), (2, 0.6, 1), (2, 1.9, 1), (2, 7.0, 1), (8, 3.2, 5), (1, 0.0, 1)])
def test_threads_for_keeps_one_thread_per_idle_core(cores, busy, expected):
    assert threads.threads_for(cores, busy) == expected


def test_busy_cores_now_is_a_share_of_the_machine():
    busy = threads.busy_cores_now(0.05)
    assert 0.0 <= busy <= threads.usable_cores() + 64  # psutil counts every CPU, affinity may allow fewer


@pytest.fixture
def fresh_policy(monkeypatch):
    import torch

    before = torch.get_num_threads()
    monkeypatch.setattr(threads, "_chosen", None)
    for name in ("HONED_THREADS", "OMP_NUM_THREADS"):
        monkeypatch.delenv(name, raising=False)
    yield torch
    torch.set_num_threads(before)


def test_user_setting_wins(fresh_policy, monkeypatch):
    monkeypatch.setenv("HONED_THREADS", "1")
    monkeypatch.setattr(threads, "busy_cores_now", lambda: pytest.fail("a user setting must skip the sample"))
    assert threads.fit_threads_to_load() == "1 thread (HONED_THREADS)"
    assert fresh_policy.get_num_threads() == 1


def test_busy_machine_gets_fewer_threads_and_the_decision_is_kept(fresh_policy, monkeypatch):
    fresh_policy.set_num_threads(2)
    monkeypatch.setattr(threads, "usable_cores", lambda: 2)
    monkeypatch.setattr(threads, "busy_cores_now", lambda: 1.3)
    decided = threads.fit_threads_to_load()
    assert fresh_policy.get_num_threads() == 1 and "1.3 busy" in decided
    monkeypatch.setattr(threads, "busy_cores_now", lambda: 0.0)
    assert threads.fit_threads_to_load() == decided  # once per process: OpenMP's pool is sized on first use
