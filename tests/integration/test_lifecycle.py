"""Start, stop, crash and broker outages."""

import signal
import time

from conftest import Agent, Broker, Collector, SIM_DRIVER, broker_outage, wait_for


def test_sigkill_makes_the_broker_publish_offline(start_agent, collector):
    c = collector()
    agent = start_agent()
    wait_for(lambda: c.states() and c.states()[-1].status == 1, what="online state")
    boot = c.states()[-1].boot_id
    agent.signal(signal.SIGKILL)
    agent.wait()
    wait_for(lambda: c.states()[-1].status == 2, what="offline will")
    will = c.states()[-1]
    assert will.reason == "connection lost"
    assert will.boot_id == boot


def test_sigterm_flushes_and_publishes_offline(start_agent, collector):
    c = collector()
    agent = start_agent()
    c.wait_batches(2)
    agent.signal(signal.SIGTERM)
    assert agent.wait() == 0
    wait_for(lambda: c.states()[-1].status == 2, what="offline state")
    assert c.states()[-1].reason == "shutdown"
    batches = c.batches()
    sequences = [b.sequence for b, _ in batches]
    assert sequences == list(range(1, len(sequences) + 1)), "every batch built was delivered"
    offline = c.states()[-1]
    assert offline.readings_dropped == 0
    assert offline.readings_accepted == sum(len(readings) for _, readings in batches)
    assert "flushing" in agent.log_text()
    # The offline state comes after the last batch (it is sent once the queue is empty).
    last_data = c.of("data")[-1][0]
    assert any(m[0] >= last_data for m in c.of("state")), "offline state after the last batch"


def test_agent_reconnects_and_resends_after_a_broker_restart(start_agent, collector, broker):
    c = collector()
    agent = start_agent()
    c.wait_batches(2)
    # Batches pile up in the agent's queue while the broker is away.
    after = broker_outage(broker, agent, c, lambda s: not s["broker"]["connected"] and s["queue"]["batches"] >= 2,
                          what="batches queued during the outage")
    try:
        wait_for(lambda: agent.status()["broker"]["connected"], what="agent reconnect")
        # The broker lost its retained messages: the agent must have re-published them.
        wait_for(lambda: after.of("state") and after.of("catalog"), what="state and catalog after reconnect")
        wait_for(lambda: agent.status()["queue"]["batches"] == 0, what="queue drained")
        before = {b.sequence for b, _ in c.batches()}
        now = {b.sequence for b, _ in after.wait_batches(3)}
        seen = before | now
        assert seen == set(range(1, max(seen) + 1)), "no batch lost across the outage"
        assert agent.status()["broker"]["connects"] == 2
    finally:
        after.close()


def test_a_refused_publish_is_not_a_delivery(tmp_path, start_agent, collector):
    """mosquitto answers a publish its ACL denies with PUBACK reason 0x87 (MQTT 5)."""
    (tmp_path / "strict").mkdir()
    strict = Broker(tmp_path / "strict", acl="topic readwrite racktel/v1/lab/r01/state\n"
                                             "topic readwrite racktel/v1/lab/r01/catalog\n"
                                             "topic read racktel/v1/lab/r01/data\n")
    strict.start()
    (tmp_path / "a").mkdir()
    agent = Agent(tmp_path / "a", strict, SIM_DRIVER.format(seed=1)).start()
    try:
        wait_for(lambda: agent.status()["publish"]["failures"] >= 1, what="refused publishes")
        time.sleep(1.5)
        s = agent.status()
        assert s["broker"]["connected"] is True
        assert s["publish"]["batches"] == 0, "a refused batch must not count as published"
        assert s["queue"]["batches"] + s["queue"]["in_flight"] >= 2, "refused batches stay queued"
        assert "0x87" in s["broker"]["last_error"]
        # Back-off: a handful of attempts, not a tight loop.
        assert s["publish"]["failures"] < 20
    finally:
        agent.stop()
        strict.stop()
