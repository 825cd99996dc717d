from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sync.hlc import HLC, Clock, ClockDriftError


class FakeWall:
    def __init__(self, ms: int) -> None:
        self.ms = ms

    def __call__(self) -> int:
        return self.ms


def test_send_is_monotonic_when_the_wall_clock_jumps_backwards() -> None:
    wall = FakeWall(1_000_000)
    clock = Clock(wall)
    first = clock.send()
    wall.ms -= 60_000  # NTP steps the clock back a minute
    second = clock.send()
    third = clock.send()
    assert first < second < third
    assert second.wall == first.wall and second.counter == first.counter + 1
    wall.ms = 2_000_000  # and forward again: the wall catches up, the counter resets
    assert clock.send() == HLC(2_000_000, 0)


@given(st.lists(st.integers(-10_000, 10_000), min_size=1, max_size=200))
def test_send_strictly_increases_under_any_wall_clock_walk(steps: list[int]) -> None:
    wall = FakeWall(10**12)
    clock = Clock(wall)
    last = clock.send()
    for step in steps:
        wall.ms += step
        stamp = clock.send()
        assert stamp > last
        assert stamp.encode() > last.encode()  # the text form sorts the same way
        last = stamp


@given(st.lists(st.integers(-3, 3), min_size=1, max_size=300))
def test_send_encoded_is_the_text_of_send(steps: list[int]) -> None:
    wall = FakeWall(10**12)
    a, b = Clock(wall), Clock(wall, last=HLC(10**12, 0xFFF0))
    c, d = Clock(wall), Clock(wall, last=HLC(10**12, 0xFFF0))
    for step in steps:
        wall.ms += step
        assert (a.send_encoded(), b.send_encoded()) == (c.send().encode(), d.send().encode())


def test_receive_orders_after_the_remote_stamp() -> None:
    wall = FakeWall(1_000_000)
    clock = Clock(wall)
    remote = HLC(1_000_500, 7)  # half a second ahead: within the offset
    merged = clock.receive(remote)
    assert merged > remote
    assert clock.send() > merged


def test_a_remote_stamp_too_far_ahead_is_refused_and_not_adopted() -> None:
    wall = FakeWall(1_000_000)
    clock = Clock(wall, max_offset_ms=5 * 60 * 1000)
    before = clock.send()
    with pytest.raises(ClockDriftError, match=r"360\.0 s ahead"):
        clock.receive(HLC(1_000_000 + 6 * 60 * 1000, 0))
    assert clock.last == before
    assert clock.send().wall == 1_000_000


def test_the_default_max_offset_is_five_minutes() -> None:
    wall = FakeWall(1_000_000)
    clock = Clock(wall)
    clock.receive(HLC(1_000_000 + 299_000, 0))
    with pytest.raises(ClockDriftError):
        clock.receive(HLC(1_000_000 + 301_000, 0))


def test_observe_keeps_a_restarted_clock_above_what_it_issued() -> None:
    wall = FakeWall(5_000)
    clock = Clock(wall)
    clock.observe(HLC(9_000, 3))  # the store's last stamp, from before a clock step back
    assert clock.send() == HLC(9_000, 4)


def test_counter_overflow_borrows_the_next_millisecond() -> None:
    clock = Clock(FakeWall(1_000), last=HLC(1_000, 0xFFFF))
    assert clock.send() == HLC(1_001, 0)


@given(st.integers(0, 10**13 - 1), st.integers(0, 0xFFFF))
def test_encode_decode_round_trip(wall: int, counter: int) -> None:
    assert HLC.decode(HLC(wall, counter).encode()) == HLC(wall, counter)


@pytest.mark.parametrize("text", ["", "12-0000", "abcdefghijklm-0000", "1795333227464-zzzz",
                                  "1795333227464"])
def test_decode_refuses_garbage(text: str) -> None:
    with pytest.raises(ValueError, match="not a clock stamp"):
        HLC.decode(text)
