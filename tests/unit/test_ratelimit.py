from server.hub.ratelimit import TokenBucket


def test_burst_then_refill_rate() -> None:
    bucket = TokenBucket(rate=10, burst=5)
    t = 1000.0
    bucket._stamp = t
    assert [bucket.take(t) for _ in range(6)] == [True] * 5 + [False]
    assert bucket.take(t + 0.1)  # one token per 0.1 s
    assert not bucket.take(t + 0.1)


def test_saturating_client_is_flagged_after_the_window_even_with_trickle() -> None:
    bucket = TokenBucket(rate=10, burst=5, close_after_s=5)
    t = 0.0
    bucket._stamp = t
    while bucket.take(t):
        pass
    accepted = 0
    while t < 5.0:  # sends at 100/s against a 10/s refill
        t += 0.01
        accepted += bucket.take(t)
    assert 40 <= accepted <= 60
    assert bucket.exhausted_for_too_long(t)


def test_a_pause_clears_the_flag() -> None:
    bucket = TokenBucket(rate=10, burst=5, close_after_s=5)
    bucket._stamp = 0.0
    while bucket.take(0.0):
        pass
    assert not bucket.exhausted_for_too_long(4.0)
    assert bucket.take(4.0)  # 4 s of refill: the bucket is full again
    assert not bucket.exhausted_for_too_long(9.9)
