"""Driver isolation: hung instances, broken modules, modules loaded with dlopen."""

import subprocess

from conftest import AGENT, BAD_MODULE_DIR, CLI, MODULE_DIR, Agent

HUNG_AND_HEALTHY = """
[[drivers]]
name = "hung"
type = "sim"
[[drivers.faults]]
kind = "hung_reads"
delay = "30s"

[[drivers]]
name = "healthy"
type = "sim"
seed = 2
"""


def test_a_hung_instance_does_not_delay_another(start_agent, collector):
    c = collector()
    agent = start_agent(HUNG_AND_HEALTHY)
    batches = c.wait_batches(4)
    healthy_power, hung_power = [], []
    for _, readings in batches[1:]:
        for t, key, status, value in readings:
            if key == "healthy/chip00.power":
                healthy_power.append((t, status))
            elif key == "hung/chip00.power":
                hung_power.append((t, status))
    times = sorted(t for t, _ in healthy_power)
    assert {b - a for a, b in zip(times, times[1:])} == {100}, "a reading every 100 ms, no tick lost"
    assert {s for _, s in healthy_power} == {"ok"}
    # The hung instance still yields a reading per tick, marked as such, never a value.
    assert hung_power and {s for _, s in hung_power} <= {"timeout", "stale"}
    assert "stale" in {s for _, s in hung_power}

    status = agent.status()
    hung = next(d for d in status["drivers"] if d["name"] == "hung")
    healthy = next(d for d in status["drivers"] if d["name"] == "healthy")
    assert hung["lane"] == "own" and healthy["lane"] == "own"
    power = next(g for g in hung["groups"] if g["name"] == "power")
    assert power["timeouts"] >= 1 and power["skipped_ticks"] >= 5
    assert hung["sensors_stale"] > 0
    assert all(g["timeouts"] == 0 for g in healthy["groups"])
    assert healthy["sensors_ok"] == healthy["sensors"]


def test_a_slow_instance_times_out_and_recovers_per_read(start_agent, collector):
    c = collector()
    start_agent("""
[[drivers]]
name = "slow"
type = "sim"
group_intervals = { power = "500ms" }
deadline = "200ms"
[[drivers.faults]]
kind = "slow_reads"
delay = "300ms"
""")
    batches = c.wait_batches(3)
    statuses = {s for _, rs in batches for t, k, s, v in rs if k == "slow/chip00.power"}
    assert statuses <= {"timeout", "stale"} and statuses


BROKEN_MODULES = f"""
[[drivers]]
name = "garbage"
type = "garbage"
module = "{BAD_MODULE_DIR}/racktel-driver-garbage.so"

[[drivers]]
name = "future"
type = "wrongabi"
module = "{BAD_MODULE_DIR}/racktel-driver-wrongabi.so"

[[drivers]]
name = "absent"
type = "nosuchdriver"

[[drivers]]
name = "rack"
type = "sim"
"""


def test_an_agent_refuses_to_start_on_modules_check_config_refuses(tmp_path, broker):
    # One rule for check-config, reload and start: a file one rejects, all reject.
    agent = Agent(tmp_path, broker, BROKEN_MODULES)
    checked = subprocess.run([str(CLI), "check-config", str(agent.config)], capture_output=True, text=True)
    started = subprocess.run([str(AGENT), "--config", str(agent.config)], capture_output=True, text=True,
                             timeout=30)
    assert checked.returncode == 1 and started.returncode == 2, started.stderr
    for why in ("racktel-driver-garbage.so", "built for driver ABI 2.0",
                "racktel-driver-nosuchdriver.so does not exist"):
        assert why in checked.stderr and why in started.stderr
    assert "racktel-agent: not started: 3 error(s) in the configuration" in started.stderr
    assert not agent.socket.exists()


def test_a_driver_that_fails_to_open_is_reported_while_the_rest_runs(start_agent, collector):
    c = collector()
    agent = start_agent(f"""
[[drivers]]
name = "unplugged"
type = "failsopen"
module = "{BAD_MODULE_DIR}/racktel-driver-failsopen.so"

[[drivers]]
name = "rack"
type = "sim"
""")
    c.wait_batches(2)
    catalog = next(iter(c.catalogs().values()))
    assert {s.driver for s in catalog.sensors} == {"rack"}
    drivers = {d["name"]: d for d in agent.status()["drivers"]}
    assert drivers["rack"]["state"] == "running"
    assert drivers["unplugged"]["state"] == "failed"
    assert drivers["unplugged"]["error"] == "the driver could not open: device /dev/failsopen0 does not answer"
    log = agent.log_text()
    assert "device /dev/failsopen0 does not answer" in log and "the agent carries on without it" in log


def test_the_sim_driver_runs_as_a_dlopen_module_in_the_agent(start_agent, collector):
    c = collector()
    agent = start_agent(f"""
[[drivers]]
name = "modular"
type = "sim"
module = "{MODULE_DIR}/racktel-driver-sim.so"
""")
    batches = c.wait_batches(2)
    assert any(k.startswith("modular/") and s == "ok" for _, rs in batches for _, k, s, _ in rs)
    modular = agent.status()["drivers"][0]
    assert modular["origin"] == f"{MODULE_DIR}/racktel-driver-sim.so"


def test_a_held_up_main_loop_makes_no_sensor_stale_and_raises_nothing(tmp_path, broker, collector):
    """Ticks the agent sleeps through are reported (TIMEOUT on the wire, skipped_ticks), but they are the
    agent's hiccup, not the sensors': none goes stale, no failing alarm is raised (on a big rack that
    used to be thousands of alarms, raised one by one while the loop caught up)."""
    import socket

    c = collector()
    (tmp_path / "a").mkdir()
    agent = Agent(tmp_path / "a", broker, """
[[drivers]]
name = "rack"
type = "sim"
seed = 3
""").start(extra_args=["--enable-test-hooks"])
    try:
        c.wait_batches(2)
        # Hold the loop for 1.5 s: fifteen ticks of the 100 ms power group, one of the others.
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.connect(str(agent.socket))
            s.sendall(b"test-stall 1500\n")
            assert b"stalled_ms" in s.recv(100)
        c.wait_batches(len(c.batches()) + 3)
        status = agent.status()
        skipped = sum(g["skipped_ticks"] for g in status["drivers"][0]["groups"])
        assert skipped >= 10, "the ticks slept through are counted"
        assert status["sensors"]["stale"] == 0
        assert c.of("alarms") == [], "no alarm was raised, not even for a moment"
        # Said on the wire as TIMEOUT readings for the power group's missed ticks, never as stale sensors.
        power = [st for _, readings in c.batches() for _, key, st, _ in readings if key == "rack/chip00.power"]
        assert power.count("timeout") >= 10 and "stale" not in power
    finally:
        agent.stop()
