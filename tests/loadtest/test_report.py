"""The report's arithmetic and wording: lost counts, runs of missing messages, the kill
figures and the honest note when the built-in broker lost what it had acknowledged."""

from __future__ import annotations

from cetate.loadtest.counting import StoredCount
from cetate.loadtest.report import KillFigures, Report


def report(**overrides: object) -> Report:
    fields: dict[str, object] = {
        "broker": "builtin",
        "backend": "sqlite",
        "devices": 2,
        "rate": 0.0,
        "publisher_processes": 1,
        "published": 20,
        "sent": 20,
        "stored": 17,
        "history_rows": 17,
        "lost": 3,
        "publish_seconds": 2.0,
        "stored_seconds": 4.0,
        "drained": True,
        "drain_timeout": 60.0,
        "probe_latencies": [0.01, 0.02, 0.5],
        "missing_examples": ["dev-00000#4-6"],
        "kill": KillFigures(at=1.0, downtime=2.5, catch_up=None),
    }
    fields.update(overrides)
    return Report(**fields)  # type: ignore[arg-type]


def test_stored_count_finds_lost_messages_and_their_runs() -> None:
    count = StoredCount(seqs={"a": {1, 2, 3, 7, 8, 10}, "b": {1, 2}}, rows=8)
    last = {"a": 10, "b": 3}
    assert count.stored == 8
    assert count.lost(last) == 4 + 1
    assert count.missing_examples(last) == ["a#4-6", "a#9", "b#3"]
    assert count.missing_examples(last, limit=2) == ["a#4-6", "a#9"]


def test_stored_numbers_beyond_the_last_sent_do_not_hide_a_loss() -> None:
    count = StoredCount(seqs={"a": {1, 2, 5}})
    assert count.lost({"a": 3}) == 1


def test_builtin_kill_loss_is_reported_with_its_cause() -> None:
    r = report()
    text = "\n".join(r.lines())
    assert not r.ok
    assert "lost           3  e.g. dev-00000#4-6" in text
    assert "acknowledged by the built-in broker, which died with the server" in text
    assert "downtime       2.5 s" in text
    assert "catch-up       never" in text
    assert r.values_per_second == 3 * 17 / 4.0


def test_clean_run_is_ok_and_has_no_kill_rows() -> None:
    r = report(broker="mosquitto", stored=20, history_rows=20, lost=0, kill=None)
    text = "\n".join(r.lines())
    assert r.ok
    assert "lost           0" in text
    assert "downtime" not in text
    assert "acknowledged by the built-in broker" not in text


def test_not_drained_is_not_ok_and_says_so() -> None:
    r = report(broker="mosquitto", lost=0, drained=False, kill=None)
    assert not r.ok
    assert "NOT DRAINED" in "\n".join(r.lines())
