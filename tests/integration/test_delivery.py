"""Getting batches to the broker: fail-over, credentials, size limits, overflow, catalog changes."""

import time

from conftest import Agent, Broker, Collector, SIM_DRIVER, broker_outage, free_port, wait_for

TWO_RACKS = SIM_DRIVER.format(seed=1) + SIM_DRIVER.format(seed=2).replace('"rack"', '"rack2"')


def test_fails_over_to_the_next_broker_in_the_list(start_agent, collector, broker):
    dead = f"tcp://127.0.0.1:{free_port()}"  # nothing listens there
    c = collector()
    agent = start_agent(brokers=[dead, broker.uri])
    c.wait_batches(2)
    assert agent.status()["broker"]["server"] == broker.uri


def test_username_and_password_file(tmp_path):
    (tmp_path / "b").mkdir()
    secure = Broker(tmp_path / "b", users={"racktel": "s3cret-pass"})
    secure.start()
    (tmp_path / "good").mkdir()
    (tmp_path / "bad").mkdir()
    (tmp_path / "password").write_text("s3cret-pass\n")
    (tmp_path / "wrong").write_text("guess\n")
    good = Agent(tmp_path / "good", secure, SIM_DRIVER.format(seed=1),
                 f'username = "racktel"\npassword_file = "{tmp_path / "password"}"').start()
    bad = Agent(tmp_path / "bad", secure, SIM_DRIVER.format(seed=1),
                f'username = "racktel"\npassword_file = "{tmp_path / "wrong"}"').start()
    try:
        wait_for(lambda: good.status()["broker"]["connected"], what="authenticated connect")
        wait_for(lambda: bad.status()["broker"]["connect_failures"] >= 2, what="refused connects")
        s = bad.status()
        assert s["broker"]["connected"] is False
        assert "connect failed" in s["broker"]["last_error"]
        for agent in (good, bad):
            assert "s3cret-pass" not in agent.log_text() and "guess" not in agent.log_text()
            import json
            status = json.dumps(agent.status()) + agent.status(human=True)
            assert "s3cret-pass" not in status and "guess" not in status, "no secret in status output"
    finally:
        good.stop()
        bad.stop()
        secure.stop()


def test_batches_flush_on_size_as_well_as_time(start_agent, collector):
    c = collector()
    start_agent(extra="[batch]\nmax_readings = 500\ninterval = \"5s\"")
    batches = c.wait_batches(8, timeout=10)
    sizes = [len(readings) for _, readings in batches]
    # A batch closes with the scan that reaches the limit; the largest scan (thermal) has 626 readings.
    assert max(sizes) < 500 + 626 and min(sizes) >= 1
    assert sum(sizes) >= 8 * 300


def test_without_a_spool_queue_overflow_drops_the_oldest_and_counts_every_reading(start_agent, collector, broker):
    c = collector()
    agent = start_agent(TWO_RACKS, extra='queue_limit = "64KiB"\n[spool]\nenabled = false')
    c.wait_batches(2)
    seen = []  # what the agent said while the queue overflowed (about 15 KB of batches a second against 64 KiB)

    def overflowed(s):
        seen.append(s)
        return s["queue"]["dropped_batches"] >= 1
    after = broker_outage(broker, agent, c, overflowed, what="the queue to overflow")
    assert all(s["queue"]["bytes"] <= 64 * 1024 + 20000 for s in seen), "the queue never holds more than its limit"
    try:
        wait_for(lambda: agent.status()["queue"]["batches"] == 0 and agent.status()["broker"]["connected"],
                 what="queue drained")
        # More may have been dropped while the broker came back.
        s = agent.status()
        dropped_batches, dropped_readings = s["queue"]["dropped_batches"], s["queue"]["dropped_readings"]
        state = after.states()[-1]
        assert state.readings_dropped == dropped_readings, "the loss is published, not silent"
        before = {b.sequence for b, _ in c.batches()}
        now = {b.sequence for b, _ in after.wait_batches(3)}
        seen = before | now
        missing = sorted(set(range(1, max(seen) + 1)) - seen)
        assert len(missing) == dropped_batches
        # The oldest go first: the gap starts right after what was delivered before the outage.
        assert missing == list(range(max(before) + 1, max(before) + 1 + dropped_batches))

        # Exact accounting: after a clean stop, every reading taken was received or counted as dropped.
        agent.stop()
        wait_for(lambda: after.states()[-1].status == 2, what="offline state")
        final = after.states()[-1]
        unique = {b.sequence: len(r) for b, r in c.batches() + after.batches()}
        assert final.readings_dropped == dropped_readings
        assert final.readings_accepted - final.readings_dropped == sum(unique.values())
    finally:
        after.close()


def test_a_sensor_set_change_publishes_a_new_catalog_version(start_agent, collector):
    c = collector()
    agent = start_agent("""
[[drivers]]
name = "rack"
type = "sim"
[[drivers.faults]]
kind = "tray_pulled"
tray = 3
after = "2500ms"
""")
    wait_for(lambda: len(c.catalogs()) == 2, timeout=20, what="a second catalog")
    c.wait_batches(len(c.of("data")) + 2)
    versions = list(c.catalogs())
    old, new = (c.catalogs()[v] for v in versions)
    assert len(old.sensors) == 1365 and len(new.sensors) == 1365 - 4 * 18 - 5
    assert not any(s.id.startswith("tray03.") or s.id == "chip12.power" for s in new.sensors)
    batches = c.batches()  # every batch decodes against the catalog it names
    order = [b.catalog_version for b, _ in batches]
    switch = order.index(new.version)
    assert set(order[:switch]) == {old.version} and set(order[switch:]) == {new.version}
    sequences = [b.sequence for b, _ in batches]
    assert sequences == list(range(1, len(sequences) + 1))
    s = agent.status()
    assert s["catalog"]["sensors"] == len(new.sensors)
    assert s["catalog"]["version"] == f"{new.version:016x}"  # hex, as everywhere
    # The log says what changed, not just how many there are now.
    assert "driver rack: sensor set changed: tray=3 removed (77 sensors); now 1288 sensors" in agent.log_text()
    # The retained state follows the catalog it describes.
    wait_for(lambda: c.states() and c.states()[-1].catalog_version == new.version, what="state of the new catalog")
    assert c.states()[-1].sensors == len(new.sensors)
