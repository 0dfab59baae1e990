"""Pattern-oriented validation: the machinery, and every pattern of docs/validation.md as a
test with the same seeds and the same pass rule as the table.

The engagement patterns share one batch of ``kursk-assault`` runs (a few seconds); the
campaign patterns share one batch of ``kursk-campaign`` runs and are marked slow.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest
from scipy import stats

from dronefront.validation.patterns import (
    DEFAULT_SEEDS,
    Direction,
    Measurement,
    NoRange,
    Pattern,
    Range,
    Row,
    Runs,
    Source,
    all_patterns,
    casualty_patterns,
    cumulative_at,
    evaluate,
    format_measurement,
    later_minus_first,
    render_table,
)

# ----------------------------------------------------------------------------- machinery


def test_interval_is_the_student_t_interval_of_the_mean():
    values = [0.1, 0.4, 0.25, 0.3, None, float("nan")]
    m = Measurement.from_values("share", values)
    kept = np.array([0.1, 0.4, 0.25, 0.3])
    half = stats.t.ppf(0.975, 3) * kept.std(ddof=1) / 2
    assert (m.n, m.dropped) == (4, 2)
    assert m.mean == pytest.approx(kept.mean())
    assert (m.low, m.high) == pytest.approx((kept.mean() - half, kept.mean() + half))


def test_interval_of_one_or_no_value():
    one = Measurement.from_values("count", [5.0])
    assert one.mean == 5.0 and math.isinf(one.low) and math.isinf(one.high)
    none = Measurement.from_values("count", [None, None])
    assert none.n == 0 and none.dropped == 2 and math.isnan(none.mean)
    assert Range(0, 1).verdict(none) == "fail"
    assert Direction(+1).verdict(one) == "fail"  # one seed gives no interval


def test_range_verdict_uses_the_mean_and_open_bounds():
    m = Measurement.from_values("share", [0.18, 0.22])
    assert Range(0.1, 0.25).verdict(m) == "pass"
    assert Range(0.21, 0.3).verdict(m) == "fail"
    assert Range(None, 0.2).verdict(m) == "pass"
    assert Range(0.25, None).verdict(m) == "fail"


def test_direction_verdict_needs_the_interval_to_exclude_zero():
    up = Measurement.from_values("difference", [1.0, 1.2, 0.9, 1.1])
    straddle = Measurement.from_values("difference", [1.0, -1.0, 0.5, -0.2])
    assert Direction(+1).verdict(up) == "pass"
    assert Direction(-1).verdict(up) == "fail"
    assert Direction(+1).verdict(straddle) == "fail"
    assert Direction(-1).verdict(straddle) == "fail"
    down = Measurement.from_values("difference", [-3.0, -2.0, -2.5])
    assert Direction(-1).verdict(down) == "pass"
    assert NoRange().verdict(down) == "no sourced range"


def _fake(pid: str, expect, values, diagnosis: str = "") -> Pattern:
    return Pattern(pid, "a claim | with a pipe", "engagement",
                   (Source("Outlet", "1 Jan 2025", "https://example.org/x", "A"),),
                   expect, "a figure", "share", lambda runs: values, diagnosis)


def test_table_renders_rows_verdicts_and_failure_reasons():
    patterns = [_fake("good", Range(0.1, 0.3, "10-30%"), [0.2, 0.21]),
                _fake("bad", Range(0.5, 0.6, "50-60%"), [0.2, 0.21], "raise the widget"),
                _fake("open", NoRange("no range given"), [0.2, 0.3])]
    rows = evaluate(patterns, runs=None)
    assert [r.verdict for r in rows] == ["pass", "fail", "no sourced range"]
    lines = render_table(rows)
    table = [line for line in lines if line.startswith("| `")]
    assert len(table) == 3
    assert all(line.count(" | ") == 6 for line in table)  # the escaped pipe adds no column
    assert "a claim \\| with a pipe" in table[0]
    assert "[Outlet](https://example.org/x), 1 Jan 2025 [A]" in table[0]
    assert "**pass**" in table[0] and "**fail**" in table[1]
    assert "20.5% [" in table[0]
    failing = [line for line in lines if line.startswith("- `")]
    assert len(failing) == 1 and "`bad`" in failing[0] and "raise the widget" in failing[0]


def test_signed_formats():
    m = Measurement.from_values("share difference", [0.05, 0.07])
    assert format_measurement(m).startswith("+6.0 pp [")
    c = Measurement.from_values("count", [1000.0, 3000.0])
    assert format_measurement(c).startswith("2,000 [")


def test_casualty_rows_read_about_as_twenty_percent_and_open_bounds(tmp_path):
    path = tmp_path / "data.csv"
    path.write_text(
        "date,source,window,casualties_low,casualties_high,killed_low,killed_high,wounded,"
        "force_deployed,note\n"
        "2025-01-13,NIS,cumulative,3000,3000,,,,11000,about 3000\n"
        "2024-12-23,President,cumulative,3000,,,,,11000,more than 3000\n"
        "2024-12-27,NSC,past-7-days,1000,,,,,11000,past week\n", encoding="utf-8")
    rows = casualty_patterns(path)
    assert [p.id for p in rows] == ["kursk-casualties-2025-01-13",
                                    "kursk-casualties-2024-12-23",
                                    "kursk-casualties-2024-12-27"]
    assert (rows[0].expect.low, rows[0].expect.high) == pytest.approx((2400, 3600))
    assert (rows[1].expect.low, rows[1].expect.high) == (3000, None)
    assert "past-7-days" not in rows[2].figure and "7 days before" in rows[2].figure


class _FakeRuns:
    def __init__(self, records):
        self.records = records

    def campaign(self):
        return self.records


def _record(per_day, summary=None):
    start = dt.date(2024, 12, 5)
    daily, cum = [], 0
    for k, (assaults, cas, down, seen) in enumerate(per_day):
        cum += cas
        daily.append({"date": start + dt.timedelta(days=k), "assaults": assaults,
                      "casualties": cas, "cumulative_casualties": cum,
                      "shoot_downs": down, "drones_detected": seen})
    return {"summary": summary or {}, "daily": daily}


def test_cumulative_and_weekly_windows():
    rec = _record([(1, 10, 0, 1)] * 10)
    runs = _FakeRuns([rec])
    assert cumulative_at(dt.date(2024, 12, 14), "cumulative")(runs) == [100]
    assert cumulative_at(dt.date(2024, 12, 14), "past-7-days")(runs) == [70]
    assert cumulative_at(dt.date(2025, 3, 1), "cumulative")(runs) == [None]


def test_early_late_prefers_summary_fields_and_falls_back_to_the_daily_table():
    days = [(1, 100, 0, 10)] * 7 + [(0, 0, 0, 0)] * 3 + [(1, 40, 2, 10)] * 14
    bare = _record(days)
    fn = later_minus_first("casualties_per_assault", "casualties", "assaults")
    assert fn(_FakeRuns([bare])) == [pytest.approx(-60.0)]
    shots = later_minus_first("shoot_downs_per_encounter", "shoot_downs", "drones_detected")
    assert shots(_FakeRuns([bare])) == [pytest.approx(0.2)]
    told = _record(days, {"casualties_per_assault_first_week": 90.0,
                          "casualties_per_assault_last_two_weeks": 30.0})
    assert fn(_FakeRuns([told])) == [pytest.approx(-60.0)]


def test_every_pattern_is_sourced_and_has_a_rule():
    patterns = all_patterns()
    assert len(patterns) >= 8
    assert len({p.id for p in patterns}) == len(patterns)
    for p in patterns:
        assert p.sources and p.claim and p.figure
        assert isinstance(p.expect, Range | Direction | NoRange)
        if isinstance(p.expect, Range):
            assert p.expect.low is not None or p.expect.high is not None


# ----------------------------------------------------------------------------- patterns
PATTERNS = {p.id: p for p in all_patterns()}
#: Rows that fail with today's mechanics, and why (docs/validation.md lists them too). When
#: a mechanic makes one pass, its test XPASSes and fails (strict): remove it from here.
_CALIBRATION = ("the dated estimates contradict each other; the calibrated campaign trades "
                "them off (docs/validation.md gives the reason for this row)")
FAILING_TODAY = {
    "drone-casualty-share": "69% against 70-80% (95% interval 66.5-71.8%): the calibrated "
                            "radio FPV hits fewer men (casualty_scale 0.75) and artillery "
                            "takes ~25% in an assault campaign",
    "kursk-casualties-2024-12-23": _CALIBRATION,
    "kursk-casualties-2024-12-27": _CALIBRATION,
    "kursk-casualties-2025-01-13": _CALIBRATION,
}


@pytest.fixture(scope="session")
def runs() -> Runs:
    return Runs(DEFAULT_SEEDS, workers=2)


def _check(pid: str, runs: Runs) -> Row:
    pattern = PATTERNS[pid]
    m = pattern.measure(runs=runs)
    row = Row(pattern, m, pattern.verdict(m))
    if isinstance(pattern.expect, NoRange):
        assert row.verdict == "no sourced range"
        assert m.n >= DEFAULT_SEEDS // 2
        if pattern.unit == "share":
            assert 0.0 <= m.mean <= 1.0 and all(0.0 <= v <= 1.0 for v in m.values)
    else:
        assert row.verdict == "pass", format_measurement(m)
    return row


def _param(pid: str, slow: bool):
    marks = [pytest.mark.slow] if slow else []
    if pid in FAILING_TODAY:
        marks.append(pytest.mark.xfail(reason=FAILING_TODAY[pid], strict=True))
    return pytest.param(pid, marks=marks, id=pid)


ENGAGEMENT = [p.id for p in PATTERNS.values() if p.scale != "campaign"]
CAMPAIGN = [p.id for p in PATTERNS.values() if p.scale == "campaign"]


@pytest.mark.parametrize("pid", [_param(p, slow=False) for p in ENGAGEMENT])
def test_engagement_pattern(pid, runs):
    _check(pid, runs)


@pytest.mark.parametrize("pid", [_param(p, slow=True) for p in CAMPAIGN])
def test_campaign_pattern(pid, runs):
    _check(pid, runs)


def test_fpv_sortie_shares_account_for_every_sortie(runs):
    """Hit, jammed and other losses never exceed the sorties launched (the rest returned or
    were still flying)."""
    parts = [PATTERNS[k].measure(runs=runs)
             for k in ("fpv-hit-share", "fpv-jammed-share", "fpv-other-loss-share")]
    totals = np.sum([m.values for m in parts], axis=0)
    assert np.all(totals <= 1.0 + 1e-12) and np.all(totals > 0.5)
