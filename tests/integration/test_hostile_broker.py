"""What a broker that misbehaves can do to the agent: nothing lasting."""

import pytest

from conftest import Agent, SIM_DRIVER, free_port, wait_for
from fake_broker import FakeBroker


def agent_on(tmp_path, fake, extra=""):
    (tmp_path / "a").mkdir()
    return Agent(tmp_path / "a", fake, SIM_DRIVER.format(seed=1), extra, brokers=[fake.uri]).start()


@pytest.fixture
def fake(request):
    brokers = []

    def make(mode, **kwargs):
        b = FakeBroker(mode, **kwargs)
        brokers.append(b)
        return b

    yield make
    for b in brokers:
        b.stop()


def test_a_broker_that_accepts_and_closes_at_once_meets_a_growing_back_off(tmp_path, fake):
    broker = fake("close")
    agent = agent_on(tmp_path, broker)
    try:
        wait_for(lambda: agent.status()["broker"]["connects"] >= 4, timeout=30, what="four short-lived connections")
        # Each connection lasted no time: the back-off was not reset by it.
        assert agent.status()["broker"]["reconnect_attempt"] >= 3
    finally:
        agent.stop()


def test_a_broker_that_never_acknowledges_is_given_up_and_the_agent_reconnects(tmp_path, fake):
    broker = fake("silent")
    agent = agent_on(tmp_path, broker, 'ack_timeout = "2s"')
    try:
        wait_for(lambda: broker.publishes >= 1, what="a batch sent")
        wait_for(lambda: agent.status()["broker"]["ack_timeouts"] >= 1, timeout=20, what="the acknowledgement timeout")
        assert "without acknowledgement for" in agent.log_text()
        wait_for(lambda: broker.connections >= 2, timeout=20, what="a new connection")
        s = agent.status()
        assert s["spool"]["pending_batches"] >= 1, "nothing acknowledged, nothing forgotten"
    finally:
        agent.stop()


def test_a_publish_larger_than_announced_does_not_grow_the_agent(tmp_path, fake):
    broker = fake("flood")
    agent = agent_on(tmp_path, broker)
    try:
        def rss_kib():
            return int(next(line for line in open(f"/proc/{agent.process.pid}/status")
                            if line.startswith("VmRSS")).split()[1])
        # The agent announced a 64 KiB maximum packet size: it drops the
        # connection at the oversized header instead of reading 256 MiB.
        wait_for(lambda: broker.connections >= 1, what="the first connection")
        before = rss_kib()
        wait_for(lambda: broker.flood_sent >= 64 << 20 or broker.connections >= 3, timeout=30,
                 what="the flood under way or the connection dropped again and again")
        grown = rss_kib() - before
        assert grown < 16 * 1024, f"the agent grew by {grown} KiB while a broker floods it"
        assert broker.flood_sent < 64 << 20
        assert agent.process.poll() is None
    finally:
        agent.stop()


def test_connect_failures_are_said_in_words(tmp_path):
    class Nothing:  # a port nothing listens on
        uri = f"tcp://127.0.0.1:{free_port()}"
    agent = agent_on(tmp_path, Nothing)
    try:
        wait_for(lambda: "Connection refused" in agent.log_text(), what="the refusal in words")
        assert f"mqtt: cannot connect to {Nothing.uri}: Connection refused" in agent.log_text()
        assert "return code -1" not in agent.log_text()
        wait_for(lambda: "Connection refused" in agent.status()["broker"]["last_error"], what="it in the status")
        # Later attempts fail in Paho's words too: the status keeps the cause.
        failures = agent.status()["broker"]["connect_failures"]
        wait_for(lambda: agent.status()["broker"]["connect_failures"] >= failures + 2, what="two more attempts")
        assert agent.status()["broker"]["last_error"] == f"connect failed: {Nothing.uri}: Connection refused"
    finally:
        agent.stop()


def test_another_client_with_the_same_client_id_is_named_when_the_broker_says_so(tmp_path, fake):
    # An MQTT 5 broker closes the older of two connections with one client id
    # with DISCONNECT 0x8E: the agent says what it means and what to do.
    broker = fake("takeover")
    agent = agent_on(tmp_path, broker)
    try:
        wait_for(lambda: agent.status()["broker"]["session_takeovers"] >= 2, what="two takeovers")
        error = agent.status()["broker"]["last_error"]
        assert 'another client connected with this agent\'s client id "racktel-lab-r01"' in error
        assert "Session taken over (0x8e)" in error
        assert agent.log_text().count("another client connected with this agent's client id") == 1  # said once
    finally:
        agent.stop()


def test_two_agents_with_one_client_id_are_told_so_by_a_broker_that_does_not_say_why(start_agent):
    # mosquitto 2.0 closes the older connection without a DISCONNECT: the
    # pattern (closed soon after each connect) is what the agent can see.
    first = start_agent(name="first")
    second = start_agent(name="second")
    hint = 'another client may be using this agent\'s client id "racktel-lab-r01"'
    wait_for(lambda: hint in first.status()["broker"]["last_error"] or hint in second.status()["broker"]["last_error"],
             timeout=30, what="the client-id hint")


def test_a_shutdown_against_a_broker_that_never_acknowledges_ends_after_its_grace(tmp_path, fake):
    import json
    import signal
    import subprocess
    from conftest import CLI
    broker = fake("silent")
    agent = agent_on(tmp_path, broker)
    try:
        wait_for(lambda: agent.status()["queue"]["in_flight"] >= 2, what="batches sent and never acknowledged")
        unacknowledged = agent.status()["spool"]["pending_batches"]
        agent.signal(signal.SIGTERM)
        assert agent.wait(timeout=15) == 0
        assert "mqtt: shutdown grace period over with" in agent.log_text()
        # Nothing unacknowledged is lost: it stays in the spool for the next start.
        out = subprocess.run([str(CLI), "spool", "inspect", str(agent.directory / "state" / "spool"), "--json"],
                             capture_output=True, text=True, timeout=30)
        assert json.loads(out.stdout)["undelivered_batches"] >= unacknowledged >= 2
    finally:
        agent.stop()
