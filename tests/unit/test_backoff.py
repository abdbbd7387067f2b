"""The one retry policy: exponential, jittered, capped, reset after a healthy period."""

from __future__ import annotations

import random

import pytest

from hub.backoff import BackoffPolicy


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_without_jitter_each_attempt_doubles_until_the_cap() -> None:
    backoff = BackoffPolicy(initial_s=0.5, max_s=5.0, jitter=0).start()
    assert [backoff.next_delay() for _ in range(7)] == [0.5, 1.0, 2.0, 4.0, 5.0, 5.0, 5.0]
    assert backoff.attempt == 7


@pytest.mark.parametrize("seed", range(20))
def test_jitter_stays_within_its_fraction_and_never_passes_the_cap(seed: int) -> None:
    backoff = BackoffPolicy(initial_s=1.0, max_s=60.0, jitter=0.2).start(rng=random.Random(seed))
    for base in (1, 2, 4, 8, 16, 32):
        assert 0.8 * base <= backoff.next_delay() <= 1.2 * base
    for _ in range(40):  # far past the cap, including the 2**30 guard
        assert 48.0 <= backoff.next_delay() <= 60.0


def test_jitter_spreads_delays_apart() -> None:
    policy = BackoffPolicy(initial_s=1.0, max_s=60.0, jitter=0.2)
    firsts = {policy.start(rng=random.Random(seed)).next_delay() for seed in range(10)}
    assert len(firsts) == 10


@pytest.mark.parametrize("seed", range(20))
def test_full_jitter_draws_from_zero_to_the_exponential_value(seed: int) -> None:
    backoff = BackoffPolicy(initial_s=1.0, max_s=8.0, full_jitter=True).start(
        rng=random.Random(seed)
    )
    for base in (1, 2, 4, 8, 8):
        assert 0 <= backoff.next_delay() <= base


def test_a_link_healthy_long_enough_starts_the_next_outage_small() -> None:
    clock = Clock()
    backoff = BackoffPolicy(initial_s=1.0, max_s=60.0, jitter=0, healthy_after_s=60).start(
        clock=clock
    )
    assert [backoff.next_delay() for _ in range(3)] == [1.0, 2.0, 4.0]
    backoff.healthy()
    clock.now += 59  # up, but not long enough: a flapping link keeps growing
    assert backoff.next_delay() == 8.0
    backoff.healthy()
    clock.now += 60
    assert backoff.next_delay() == 1.0
    assert backoff.next_delay() == 2.0  # health counts once: the failure ended it


def test_a_failure_without_health_in_between_keeps_growing() -> None:
    clock = Clock()
    backoff = BackoffPolicy(initial_s=1.0, max_s=60.0, jitter=0).start(clock=clock)
    backoff.next_delay()
    clock.now += 3600  # a long wait is not health
    assert backoff.next_delay() == 2.0
    assert backoff.healthy_since is None


def test_reset_starts_again_at_once() -> None:
    backoff = BackoffPolicy(initial_s=0.25, max_s=10.0, jitter=0).start()
    for _ in range(5):
        backoff.next_delay()
    backoff.reset()
    assert backoff.next_delay() == 0.25


def test_zero_initial_delay_retries_at_once() -> None:
    backoff = BackoffPolicy(initial_s=0.0, max_s=120.0).start()
    assert [backoff.next_delay() for _ in range(3)] == [0.0, 0.0, 0.0]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"initial_s": -1.0, "max_s": 1.0},
        {"initial_s": 1.0, "max_s": -1.0},
        {"initial_s": 1.0, "max_s": 2.0, "jitter": 1.5},
    ],
)
def test_nonsense_policies_are_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        BackoffPolicy(**kwargs)  # type: ignore[arg-type]
