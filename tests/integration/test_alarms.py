"""Alarms at the edge: the agent judges its own readings (issue 10)."""

import re
import subprocess

from conftest import CLI, wait_for


def rack(die_temp, rules=""):
    """The sim rack with chip 3's die stuck at `die_temp` (its limits: warn 90, crit 105)."""
    return f"""
[[drivers]]
name = "rack"
type = "sim"
[[drivers.faults]]
kind = "stuck_sensor"
sensor = "chip03.die_temp"
value = {die_temp}
{rules}
"""


HYSTERESIS = """
[[alarms]]
name = "die"
match = "rack/chip*.die_temp"
hysteresis = 2
"""


def alarms(agent):
    return {a["sensor"]: a for a in agent.status()["alarms"]["active"]}


def set_die(agent, value):
    text = re.sub(r"value = [0-9.]+", f"value = {value}", agent.config.read_text())
    agent.config.write_text(text)
    out = subprocess.run([str(CLI), "reload", "--socket", str(agent.socket)], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr


def test_a_hot_chip_raises_a_warning_then_a_critical_alarm_and_clears_past_the_hysteresis(start_agent):
    agent = start_agent(rack(95, HYSTERESIS))
    die = "rack/chip03.die_temp"
    wait_for(lambda: die in alarms(agent), what="the warning")
    a = alarms(agent)[die]
    assert (a["severity"], a["kind"], a["limit"], a["threshold"], a["value"], a["unit"], a["rule"]) == \
        ("warning", "limit", "warn_high", 90, 95, "Cel", "die")
    raised_at = a["since_ms"]

    set_die(agent, 110)
    wait_for(lambda: alarms(agent)[die]["severity"] == "critical", what="the critical alarm")
    assert alarms(agent)[die]["since_ms"] == raised_at, "the same alarm, escalated"
    assert agent.status()["alarms"]["critical"] == 1

    # 89: below the warning limit, but within the 2-degree hysteresis of it: still a warning.
    set_die(agent, 89)
    wait_for(lambda: alarms(agent)[die]["severity"] == "warning", what="the step down to a warning")
    set_die(agent, 87)
    wait_for(lambda: die not in alarms(agent), what="the alarm to clear")
    log = agent.log_text()
    assert "alarm raised: warning limit rack/chip03.die_temp 95 Cel: warn_high 90 (rule die)" in log
    assert "alarm raised: critical limit rack/chip03.die_temp 110 Cel: crit_high 105 (rule die)" in log
    assert "alarm cleared: warning limit rack/chip03.die_temp 87 Cel: warn_high 90 (rule die)" in log
    text = agent.status(human=True)
    assert text.splitlines()[1] == "alarms     none"


def test_status_shows_active_alarms_first_and_a_failing_sensor_is_an_alarm(start_agent):
    agent = start_agent(rack(120, """
[[drivers.faults]]
kind = "read_errors"
sensor = "cdu.flow"
"""))
    wait_for(lambda: {"rack/chip03.die_temp", "rack/cdu.flow"} <= set(alarms(agent)), what="both alarms")
    flow = alarms(agent)["rack/cdu.flow"]
    assert (flow["kind"], flow["limit"], flow["value"]) == ("failing", "stale", None)
    lines = agent.status(human=True).splitlines()
    assert lines[1].startswith("alarms     1 critical, ")
    assert lines[2].split()[:2] == ["critical", "rack/chip03.die_temp"]
    assert "crit_high 105" in lines[2]


def decode_active(payload):
    import racktel_stream
    active = racktel_stream.pb.ActiveAlarms()
    active.ParseFromString(payload)
    return active


def test_the_active_set_is_retained_for_a_console_that_connects_later_and_the_state_counts_it(start_agent, collector,
                                                                                             broker):
    from conftest import Collector
    c = collector()
    agent = start_agent(rack(110, HYSTERESIS))
    wait_for(lambda: any(decode_active(m[2]).alarms for m in c.of("alarms/active")), what="the active set")
    console = Collector(broker)  # connects after the alarm was raised
    try:
        wait_for(lambda: console.of("alarms/active") and console.states(), what="the retained messages")
        message = console.of("alarms/active")[-1]
        assert message[3] is True, "delivered as retained"
        active = decode_active(message[2])
        assert [(a.sensor_key, a.severity, a.kind, a.limit, a.threshold, a.value, a.rule) for a in active.alarms] == \
            [("rack/chip03.die_temp", 2, 1, "crit_high", 105.0, 110.0, "die")]
        assert active.catalog_version == int(agent.status()["catalog"]["version"], 16)
        state = console.states()[-1]
        assert (state.alarms_critical, state.alarms_warning) == (1, 0)
        # The decoder shows it too.
        out = subprocess.run([str(CLI), "subscribe", "--broker", broker.uri, "--site", "lab", "--rack", "r01",
                              "-n", "1", "--timeout", "20s"], capture_output=True, text=True, timeout=60)
        assert "alarms   1 active: 1 critical, 0 warning, 0 suppressed by maintenance" in out.stdout
        assert "alarms: 1 critical, 0 warning" in out.stdout
        line = next(l for l in out.stdout.splitlines() if "rack/chip03.die_temp" in l and "crit_high" in l)
        assert line.split()[:3] == ["critical", "rack/chip03.die_temp", "110"]
    finally:
        console.close()

    set_die(agent, 50)
    wait_for(lambda: not decode_active(c.of("alarms/active")[-1][2]).alarms, what="an empty set once it cleared")
    wait_for(lambda: c.states()[-1].alarms_critical == 0, what="the state's count back to 0")


def events(collector):
    import racktel_stream
    out = []
    for m in collector.of("alarms"):
        e = racktel_stream.pb.AlarmEvent()
        e.ParseFromString(m[2])
        out.append(e)
    return out


def test_alarm_events_are_published_at_once_in_order_and_survive_an_outage_and_a_restart(start_agent, collector,
                                                                                      broker, tmp_path):
    c = collector()
    agent = start_agent(rack(95, HYSTERESIS))
    wait_for(lambda: events(c), what="the first alarm event")
    first = events(c)[0]
    assert (first.raised, first.sequence, first.alarm.sensor_key, first.alarm.severity, first.alarm.limit,
            first.alarm.value, first.alarm.threshold, first.alarm.rule) == \
        (True, 1, "rack/chip03.die_temp", 1, "warn_high", 95.0, 90.0, "die")
    assert first.boot_id.hex() == agent.status()["boot_id"]
    assert first.catalog_version == int(agent.status()["catalog"]["version"], 16)

    # Raised while the broker is away: stored, and delivered once it is back, in order.
    def escalated(status):
        return any(a["severity"] == "critical" for a in status["alarms"]["active"])
    wait_for(lambda: agent.status()["alarms"]["events_waiting"] == 0, what="the first event acknowledged")
    broker.stop()
    c.close()
    set_die_offline = re.sub(r"value = [0-9.]+", "value = 110", agent.config.read_text())
    agent.config.write_text(set_die_offline)
    subprocess.run([str(CLI), "reload", "--socket", str(agent.socket)], capture_output=True, timeout=60, check=True)
    wait_for(lambda: escalated(agent.status()) and agent.status()["alarms"]["events_waiting"] >= 1,
             what="an alarm raised during the outage")
    broker.start()
    from conftest import Collector
    after = Collector(broker)
    try:
        wait_for(lambda: agent.status()["alarms"]["events_waiting"] == 0, what="the event delivered after the outage")
        seen = events(c) + events(after)
        assert [e.sequence for e in seen] == list(range(1, len(seen) + 1)), "in order, none lost"
        assert seen[-1].raised and seen[-1].alarm.severity == 2 and seen[-1].alarm.since_ms == first.alarm.since_ms

        # A restart: the sequence continues, and an event the old run could not deliver is replayed.
        broker.stop()
        set_die_cleared = re.sub(r"value = [0-9.]+", "value = 50", agent.config.read_text())
        agent.config.write_text(set_die_cleared)
        subprocess.run([str(CLI), "reload", "--socket", str(agent.socket)], capture_output=True, timeout=60, check=True)
        wait_for(lambda: not agent.status()["alarms"]["active"], what="the clear, during another outage")
        agent.stop()
        broker.start()
        late = Collector(broker)
        try:
            agent.start()  # the same state directory
            wait_for(lambda: events(late), what="the replayed clear")
            cleared = events(late)[0]
            assert not cleared.raised and cleared.sequence == seen[-1].sequence + 1
            assert cleared.boot_id == first.boot_id, "replayed from the alarm spool, as the old run made it"
            assert agent.status()["boot_id"] != first.boot_id.hex()
        finally:
            late.close()
    finally:
        after.close()


def test_a_restart_keeps_the_active_alarms_and_raises_nothing_twice(start_agent, collector, broker):
    from conftest import Collector
    c = collector()
    agent = start_agent(rack(110, HYSTERESIS))
    wait_for(lambda: events(c), what="the alarm event")
    wait_for(lambda: agent.status()["alarms"]["events_waiting"] == 0, what="its acknowledgement")
    since = events(c)[0].alarm.since_ms
    agent.stop()
    c.close()

    after = Collector(broker)
    try:
        agent.start()
        # The set published at the new connection already holds it: no gap for a console to see.
        wait_for(lambda: after.of("alarms/active") and agent.status()["sensors"]["never_read"] == 0,
                 what="the first active set and a full read")
        first = decode_active(after.of("alarms/active")[0][2])
        assert [(a.sensor_key, a.severity, a.since_ms) for a in first.alarms] == [("rack/chip03.die_temp", 2, since)]
        assert "alarms: 1 active when the agent stopped" in agent.log_text()
        assert not events(after), "the alarm still holds: nothing is raised again"
        set_die(agent, 50)
        wait_for(lambda: events(after), what="the clear")
        assert not events(after)[0].raised and events(after)[0].alarm.since_ms == since
    finally:
        after.close()


def maintenance(agent, *args):
    return subprocess.run([str(CLI), "maintenance", *args, "--socket", str(agent.socket)], capture_output=True,
                          text=True, timeout=30)


def test_a_maintenance_window_suppresses_the_alarms_it_covers_and_expires_by_itself(start_agent, collector):
    c = collector()
    agent = start_agent(rack(110, HYSTERESIS))  # chip 3 is in tray 0
    die = "rack/chip03.die_temp"
    wait_for(lambda: events(c), what="the critical alarm")
    since = events(c)[0].alarm.since_ms
    assert events(c)[0].alarm.maintenance == 0

    out = maintenance(agent, "start", "--location", "tray=0", "--for", "4s", "--reason", "tray swap", "--by", "alice")
    assert out.returncode == 0, out.stderr
    assert "maintenance window 1 open until" in out.stdout and "1 active alarms suppressed" in out.stdout
    # Announced again at once, suppressed, with its start kept; still evaluated and shown.
    wait_for(lambda: len(events(c)) >= 2, what="the alarm marked suppressed")
    marked = events(c)[1]
    assert (marked.raised, marked.alarm.sensor_key, marked.alarm.maintenance, marked.alarm.since_ms) == \
        (True, die, 1, since)
    status = agent.status()
    assert (status["alarms"]["critical"], status["alarms"]["suppressed"]) == (0, 1)
    assert alarms(agent)[die]["maintenance"] == 1
    [window] = status["maintenance"]
    assert (window["id"], window["location"], window["reason"], window["by"], window["alarms_suppressed"]) == \
        (1, {"tray": "0"}, "tray swap", "alice (root)", 1)
    assert window["sensors"] > 10
    # The retained set follows the events within 100 ms (it is published at most that often).
    wait_for(lambda: [a.maintenance for a in decode_active(c.of("alarms/active")[-1][2]).alarms] == [1],
             timeout=5, what="the active set marked suppressed")
    # Remote maintenance sees who works on the rack, why, and until when.
    state = c.states()[-1]
    assert (state.alarms_critical, state.alarms_suppressed) == (0, 1)
    assert [(w.id, w.reason, w.by, w.until_ms) for w in state.maintenance] == \
        [(1, "tray swap", "alice (root)", window["until_ms"])]
    assert "suppressed: maintenance 1" in agent.status(human=True)
    listed = maintenance(agent, "list")
    assert listed.returncode == 0 and 'maintenance 1: tray=0 by alice (root), "tray swap"' in listed.stdout
    # Readings keep flowing unchanged.
    before = len(c.of("data"))
    wait_for(lambda: len(c.of("data")) > before + 2, what="data during the window")

    # It expires: the alarm pages again.
    wait_for(lambda: events(c)[-1].alarm.maintenance == 0 and len(events(c)) >= 3, timeout=15,
             what="the alarm no longer suppressed")
    assert events(c)[-1].raised and events(c)[-1].alarm.since_ms == since
    wait_for(lambda: not c.states()[-1].maintenance, what="the state without the window")
    assert agent.status()["alarms"]["critical"] == 1
    assert "maintenance: window 1 (tray swap, by alice (root)) expired" in agent.log_text()
    assert "no maintenance window is open" in maintenance(agent, "list").stdout


def test_a_maintenance_window_survives_a_restart_and_ends_when_asked(start_agent, collector, broker):
    agent = start_agent(rack(110, HYSTERESIS))
    wait_for(lambda: die_alarm(agent), what="the alarm")
    assert maintenance(agent, "start", "--match", "rack/chip0[0-3].*", "--for", "2h", "--reason", "reseat").returncode == 0
    refused = maintenance(agent, "start", "--for", "1h", "--reason", "everything")
    assert refused.returncode == 1 and "say which sensors" in refused.stderr
    too_long = maintenance(agent, "start", "--match", "*", "--for", "30d", "--reason", "forever")
    assert too_long.returncode == 1 and "at most 7d" in too_long.stderr
    assert maintenance(agent, "start", "--match", "*", "--for", "soon", "--reason", "x").returncode == 1
    agent.stop()

    from conftest import Collector
    after = Collector(broker)
    try:
        agent.start()
        wait_for(lambda: after.states() and after.states()[-1].maintenance, what="the kept window in the state")
        assert after.states()[-1].maintenance[0].by == "root", "by defaults to the caller"
        wait_for(lambda: die_alarm(agent) and die_alarm(agent)["maintenance"] == 1, what="the alarm, suppressed")
        assert "window 1 kept from the last run: reseat by root" in agent.log_text()
        ended = maintenance(agent, "end", "1")
        assert ended.returncode == 0 and "maintenance window 1 (reseat) ended" in ended.stdout
        wait_for(lambda: not after.states()[-1].maintenance, what="the state without it")
        assert die_alarm(agent)["maintenance"] == 0
        again = maintenance(agent, "end", "1")
        assert again.returncode == 1 and "no open maintenance window 1" in again.stderr
        # The next window gets a new id, never one used before.
        assert "maintenance window 2 open" in maintenance(agent, "start", "--match", "*", "--for", "1m",
                                                         "--reason", "x").stdout
    finally:
        after.close()


def die_alarm(agent):
    return alarms(agent).get("rack/chip03.die_temp")


def test_state_sensors_read_as_what_they_mean(start_agent, broker):
    agent = start_agent("""
[[drivers]]
name = "rack"
type = "sim"
[[drivers.faults]]
kind = "link_down"
chip = 7
link = 2
[[drivers.faults]]
kind = "leak"
tray = 5
""")
    wait_for(lambda: {"rack/chip07.link2", "rack/tray05.leak"} <= set(alarms(agent)), what="the state alarms")
    link = alarms(agent)["rack/chip07.link2"]
    assert (link["kind"], link["value"], link["state"], link["name"]) == ("state", 1, "down", "chip 7 ICI link 2 state")
    text = agent.status(human=True)
    assert re.search(r"rack/chip07\.link2\s+down\s+state", text), text
    assert re.search(r"rack/tray05\.leak\s+detected\s+state", text), text
    out = subprocess.run([str(CLI), "sensors", "--socket", str(agent.socket), "--match", "rack/chip07.link[12]"],
                         capture_output=True, text=True, timeout=30)
    rows = {line.split()[0]: line.split()[1] for line in out.stdout.splitlines()[1:]}
    assert rows == {"rack/chip07.link1": "up", "rack/chip07.link2": "down"}
    # The catalog's critical limit of 1 makes a down link critical.
    assert "alarm raised: critical state rack/chip07.link2 down: state" in agent.log_text()
    # The decoded stream says it too, in words and with the number for tools.
    stream = subprocess.run([str(CLI), "subscribe", "--broker", broker.uri, "--site", "lab", "--rack", "r01", "--json",
                             "--match", "tray05.leak", "-n", "2", "--timeout", "20s"],
                            capture_output=True, text=True, timeout=60)
    import json
    readings = [json.loads(l) for l in stream.stdout.splitlines() if '"reading"' in l]
    assert readings and all((r["value"], r["state"]) == (1, "detected") for r in readings)
