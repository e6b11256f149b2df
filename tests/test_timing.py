import pytest

from odin_acceptance.core.phrases import quoted_list, seconds
from odin_acceptance.core.timing_profiles import PROFILES, delivery_window, format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "expected"),
    [("2m", 120), ("30s", 30), ("1h30m", 5400), ("500ms", 0.5), ("12h", 43200), ("1m30s500ms", 90.5)],
)
def test_parse_duration(text, expected):
    assert parse_duration(text) == expected


@pytest.mark.parametrize("bad", ["", "2", "2 m", "m2", "2x", "1h-30m"])
def test_parse_duration_rejects(bad):
    with pytest.raises(ValueError):
        parse_duration(bad)


@pytest.mark.parametrize(("seconds_", "text"), [(4, "4s"), (1 / 3 * 1, "333ms"), (1440, "24m"), (5400.5, "1h30m500ms")])
def test_format_duration(seconds_, text):
    assert format_duration(seconds_) == text


def test_fast_profile_divides_durations_only():
    fast = PROFILES["fast"]
    assert fast.scale_text("2m") == "4s"
    assert fast.scale_text("10s") == "333ms"
    assert PROFILES["real"].scale_text("2m") == "2m"


def test_rapid_profile_turns_minutes_into_seconds_and_keeps_scrapes_valid():
    rapid = PROFILES["rapid"]
    assert rapid.scale_text("5m") == "5s"
    assert rapid.scale_text("10s") == "167ms"
    # Prometheus refuses a scrape_timeout longer than its scrape_interval: the plan's 10 s of 15 s.
    assert rapid.scale(parse_duration("10s")) < rapid.scale(parse_duration("15s")) == 0.25


def test_delivery_window_plan_numbers():
    # Field notes §2: GPUHighTemperature as planned (E 30 s, for 2m, W 10 s), scrape 15 s.
    window = delivery_window(scrape=15, evaluation=30, for_=120, group_wait=10)
    assert (window.hold, window.earliest, window.latest) == (120, 130, 175)


def test_hold_rounds_up_to_evaluations():
    assert delivery_window(scrape=1, evaluation=30, for_=100, group_wait=0).hold == 120
    assert delivery_window(scrape=1, evaluation=1, for_=4.0, group_wait=0).hold == 4
    assert delivery_window(scrape=1, evaluation=1, for_=0, group_wait=0).hold == 0


def test_spoken_durations_and_lists():
    assert seconds("2 minutes") == 120
    assert seconds("1 minute") == 60
    assert seconds("10 seconds") == 10
    assert quoted_list('"gpu-alerts" and "critical-receiver"') == ["gpu-alerts", "critical-receiver"]
    with pytest.raises(ValueError):
        quoted_list('"gpu-alerts" or "x"')
    with pytest.raises(ValueError):
        seconds("two minutes")
