"""The login throttle's arithmetic, on a clock the test moves (no sleeping)."""

from __future__ import annotations

from hawatch.dashboard.throttle import LoginThrottle


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_wait_starts_after_max_failures_and_doubles_up_to_the_window():
    clock = Clock()
    throttle = LoginThrottle(3, window=60.0, clock=clock)
    waits = []
    for _ in range(10):
        throttle.failure("ada", "192.0.2.1")
        waits.append(throttle.wait("ada", "192.0.2.1"))
    assert waits == [0, 0, 1, 2, 4, 8, 16, 32, 60, 60]
    assert throttle.failed == 10 and throttle.refused == 8


def test_failures_older_than_the_window_are_forgotten():
    clock = Clock()
    throttle = LoginThrottle(3, window=60.0, clock=clock)
    for _ in range(2):
        throttle.failure("ada", "192.0.2.1")
    clock.now += 61
    throttle.failure("ada", "192.0.2.1")
    assert throttle.wait("ada", "192.0.2.1") == 0


def test_the_wait_runs_out():
    clock = Clock()
    throttle = LoginThrottle(1, window=60.0, clock=clock)
    throttle.failure("ada", "192.0.2.1")
    assert throttle.wait("ADA ", "192.0.2.9") == 1.0  # the account, however it is typed
    clock.now += 1.5
    assert throttle.wait("ada", "192.0.2.1") == 0


def test_an_address_may_fail_four_times_as_often_as_an_account():
    throttle = LoginThrottle(2, window=60.0, clock=Clock())
    for n in range(7):
        throttle.failure(f"user{n}", "192.0.2.1")
    assert throttle.wait("someone", "192.0.2.1") == 0
    throttle.failure("user7", "192.0.2.1")
    assert throttle.wait("someone", "192.0.2.1") == 1.0


def test_a_success_clears_the_account_but_not_the_address():
    clock = Clock()
    throttle = LoginThrottle(2, window=60.0, clock=clock)
    for _ in range(8):
        throttle.failure("ada", "192.0.2.1")
    throttle.success("ada")
    assert throttle.wait("ada", "192.0.2.2") == 0
    assert throttle.wait("bob", "192.0.2.1") > 0
