"""The steering group's figures: the four service levels by hand, and alarms per queue on
waiting, the longest wait, the service level and the abandon rate."""

from __future__ import annotations

from datetime import date

import msgspec
import pytest

from appliance.core.config import AlarmsConfig, QueueAlarms
from appliance.core.contract import MunicipalityCounts, Today
from appliance.core.errors import ConfigError
from appliance.core.metrics import alarm_level, service_level_pct, today_figures
from appliance.core.periods import in_periods
from appliance.programs.configuration import parse_config

DAY = date(2026, 11, 28)
MINIMAL = '[site]\nid = "favrskov"\n[mqtt]\nurl = "mqtt://localhost"\n'  # a config's least
# 110 answered, 96 of them within the threshold (A = 96, C = 14); 8 abandoned, 2 of them
# short, 5 within the threshold counting the short ones (B = 3, D = 3).
EVENING = Today(
    date=DAY,
    offered=120,
    answered=110,
    abandoned=8,
    short_abandoned=2,
    answered_within_sl=96,
    abandoned_within_sl=5,
    sl_threshold_s=60,
    talk_s=26950,
    wrap_s=2100,
)


@pytest.mark.parametrize(
    ("formula", "by_hand"),
    [
        ("answered", 96 / 110),  # A / (A + C)
        ("offered", 96 / 116),  # A / (A + B + C + D)
        ("offered_excluding_abandoned_within", 96 / 113),  # A / (A + C + D)
        ("offered_counting_abandoned_within", 99 / 116),  # (A + B) / (A + B + C + D)
    ],
)
def test_the_four_service_levels_by_hand(formula: str, by_hand: float) -> None:
    assert service_level_pct(EVENING, formula) == round(by_hand * 100, 1)  # type: ignore[arg-type]


def test_undefined_service_levels_are_a_dash() -> None:
    nothing = Today(date=DAY)
    for formula in ("answered", "offered", "offered_excluding_abandoned_within",
                    "offered_counting_abandoned_within"):  # fmt: skip
        assert service_level_pct(nothing, formula) is None  # 0 / 0
    v1 = Today(date=DAY, offered=10, answered=8, abandoned=2, answered_within_sl=6)
    assert service_level_pct(v1, "answered") == 75.0
    assert service_level_pct(v1, "offered") == 60.0  # needs no B: B + D is every abandon
    # A v1 publisher sends no abandoned_within_sl: the formulas that need B cannot say.
    assert service_level_pct(v1, "offered_excluding_abandoned_within") is None
    assert service_level_pct(v1, "offered_counting_abandoned_within") is None
    only_abandons = Today(date=DAY, offered=3, abandoned=3, abandoned_within_sl=3)
    assert service_level_pct(only_abandons, "answered") is None  # nobody answered
    assert service_level_pct(only_abandons, "offered") == 0.0
    assert service_level_pct(only_abandons, "offered_counting_abandoned_within") == 100.0


def test_handling_time_with_or_without_the_after_call_work() -> None:
    assert today_figures(EVENING, DAY).aht_s == 245.0  # 26950 / 110
    assert today_figures(EVENING, DAY, aht_includes_wrap=True).aht_s == 264.1  # 29050 / 110
    v1 = Today(date=DAY, answered=2, talk_s=400)
    assert today_figures(v1, DAY, aht_includes_wrap=True).aht_s is None  # no wrap_s: "–"


def test_alarms_on_the_days_figures() -> None:
    alarms = AlarmsConfig(sl_warn_pct=90, sl_critical_pct=80, abandon_warn_pct=5,
                          abandon_critical_pct=10)  # fmt: skip
    figures = today_figures(EVENING, DAY)  # SL 87.3 %, abandon rate 6/118 = 5.1 %
    assert alarm_level(1, 0, alarms, figures) == "warn"  # both below warn, none critical
    strict = AlarmsConfig(sl_critical_pct=88)
    assert alarm_level(1, 0, strict, figures) == "critical"
    assert alarm_level(0, 0, strict, figures) == "ok"  # nobody waits: nothing to act on
    assert alarm_level(1, 0, AlarmsConfig(), figures) == "ok"  # not set: no such alarm
    early = today_figures(Today(date=DAY, offered=4, answered=4), DAY)
    assert alarm_level(1, 0, strict, early) == "ok"  # four calls are no service level yet
    assert alarm_level(7, 0, alarms, figures) == "critical"  # the waiting callers, as ever


def test_a_queue_has_its_own_thresholds() -> None:
    alarms = AlarmsConfig(queues={"erhverv": QueueAlarms(waiting_warn=1, waiting_critical=2)})
    assert alarm_level(2, 0, alarms.for_queue("erhverv")) == "critical"
    assert alarm_level(2, 0, alarms.for_queue("borger")) == "ok"  # [alarms]'s 3 and 6
    own = alarms.for_queue("erhverv")
    assert (own.longest_wait_warn_s, own.longest_wait_critical_s) == (120.0, 300.0)  # kept


def test_per_queue_alarms_in_the_toml_and_their_mistakes() -> None:
    config = parse_config(
        MINIMAL + "[alarms]\nsl_warn_pct = 80\n[alarms.queues.erhverv]\nwaiting_warn = 1\n"
        '[metrics]\nservice_level = "offered"\n'
    )
    assert config.alarms.for_queue("erhverv").waiting_warn == 1
    assert config.alarms.for_queue("erhverv").sl_warn_pct == 80  # from [alarms]
    assert config.metrics.service_level == "offered"
    with pytest.raises(ConfigError) as raised:
        parse_config(
            MINIMAL + "[alarms]\nsl_warn_pct = 60\nsl_critical_pct = 80\n"
            '[alarms.queues.erhverv]\nwaiting_warn = 9\n[metrics]\nservice_level = "best"\n'
        )
    explained = raised.value.explain()
    assert "metrics.service_level" in explained


def test_warn_comes_before_critical_in_every_queue() -> None:
    with pytest.raises(ConfigError) as raised:
        parse_config(
            MINIMAL + "[alarms]\nsl_warn_pct = 60\nsl_critical_pct = 80\n"
            "[alarms.queues.erhverv]\nwaiting_warn = 9\n"
        )
    explained = raised.value.explain()
    assert "alarms.sl_warn_pct: must not be below alarms.sl_critical_pct" in explained
    assert (
        "alarms.queues.erhverv.waiting_warn: must not be above alarms.queues.erhverv."
        "waiting_critical" in explained
    )


def test_a_period_says_dash_for_what_its_days_do_not_all_have() -> None:
    new = {"day": "2026-11-28", "queue": "borger", "offered": 120, "answered": 110,
           "abandoned": 8, "short_abandoned": 2, "answered_within_sl": 96,
           "abandoned_within_sl": 5, "wait_answered_s": 3762, "talk_s": 26950}  # fmt: skip
    [week] = in_periods([new], "queue", "week", "offered_counting_abandoned_within")
    assert (week["period"], week["sl_pct"]) == ("2026-W48", 85.3)  # the hand-computed figure
    # A day from before the upgrade: its counts, but no split of them.
    old = {"day": "2026-11-27", "queue": "borger", "offered": 50, "answered": 45,
           "abandoned": 5, "short_abandoned": None, "answered_within_sl": None,
           "abandoned_within_sl": None}  # fmt: skip
    [week] = in_periods([new, old], "queue", "week", "answered")
    assert week["offered"] == 170
    assert week["sl_pct"] is None  # not 0 %, not the new day's alone
    assert week["abandon_pct"] is None
    # A municipality's rows carry no short abandons: only the formula without them works.
    place = {"day": "2026-11-28", "municipality": "751", "offered": 10, "answered": 9,
             "abandoned": 1, "answered_within_sl": 8}  # fmt: skip
    [day] = in_periods([place], "municipality", "day", "answered")
    assert day["sl_pct"] == 88.9
    [day] = in_periods([place], "municipality", "day", "offered")
    assert (day["sl_pct"], day["abandon_pct"]) == (None, None)


def test_impossible_v11_counts_show_no_figures() -> None:
    too_many = msgspec.structs.replace(EVENING, abandoned_within_sl=9)  # of 8 abandons
    assert today_figures(too_many, DAY).sl_pct is None
    too_few = msgspec.structs.replace(EVENING, abandoned_within_sl=1)  # fewer than the 2 short
    assert today_figures(too_few, DAY).sl_pct is None
    parts = {"751": MunicipalityCounts(offered=200)}  # more than the queue's 120
    assert (
        today_figures(msgspec.structs.replace(EVENING, by_municipality=parts), DAY).sl_pct is None
    )
    assert today_figures(EVENING, DAY).sl_pct == 87.3
