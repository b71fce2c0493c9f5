"""The metrics object: instruments on its own registry, the store-backed gauges read at scrape
time (and left out, with the counters still served, when reading fails), and the log context."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.core.logcontext import current_fields, log_context
from bot.core.metrics import Metrics, OperationalState


def families(metrics: Metrics) -> dict[str, list[tuple[dict[str, str], float]]]:
    text = metrics.exposition().decode()
    return {f.name: [(s.labels, s.value) for s in f.samples] for f in text_string_to_metric_families(text)}


def test_state_is_read_on_every_scrape() -> None:
    metrics = Metrics()
    reads: list[int] = []

    def read() -> OperationalState:
        reads.append(1)
        return OperationalState(outbox_depth=len(reads), source_lag_seconds={"arxiv:cs.LG": 30.0})

    metrics.read_state_with(read)
    assert reads == []  # registering reads nothing
    assert families(metrics)["paperbot_outbox_depth"] == [({}, 1.0)]
    scraped = families(metrics)
    assert scraped["paperbot_outbox_depth"] == [({}, 2.0)]
    assert scraped["paperbot_source_lag_seconds"] == [({"source": "arxiv:cs.LG"}, 30.0)]


def test_a_failing_read_leaves_the_gauges_out_and_the_counters_in(caplog: pytest.LogCaptureFixture) -> None:
    metrics = Metrics()

    def broken() -> OperationalState:
        raise RuntimeError("database is locked")

    metrics.read_state_with(broken)
    metrics.fetches.labels(source="hf", outcome="ok").inc()
    scraped = families(metrics)
    assert "paperbot_outbox_depth" not in scraped
    assert ({"source": "hf", "outcome": "ok"}, 1.0) in scraped["paperbot_fetches"]
    assert "reading the store" in caplog.text


def test_registries_do_not_leak_between_metrics_objects() -> None:
    first, second = Metrics(), Metrics()
    first.summaries_made.inc(3)
    assert first.registry.get_sample_value("paperbot_summaries_made_total") == 3
    assert second.registry.get_sample_value("paperbot_summaries_made_total") == 0


def test_reading_state_again_replaces_the_reader() -> None:
    metrics = Metrics()
    metrics.read_state_with(lambda: OperationalState(outbox_depth=1))
    metrics.read_state_with(lambda: OperationalState(outbox_depth=7))
    assert families(metrics)["paperbot_outbox_depth"] == [({}, 7.0)]


def test_log_context_nests_and_ends() -> None:
    with log_context(channel="slack:C1"):
        with log_context(command="cmd-1"):
            assert current_fields() == {"channel": "slack:C1", "command": "cmd-1"}
        assert current_fields() == {"channel": "slack:C1"}
    assert current_fields() == {}
    with pytest.raises(ValueError, match="unknown"), log_context(user="U1"):
        pass
