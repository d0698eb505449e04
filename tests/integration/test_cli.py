"""The racktel tool: check-config, status and the reference decoder."""

import json
import subprocess

from conftest import AGENT, CLI, SOURCE, wait_for


def run(*args, **kwargs):
    return subprocess.run([str(CLI), *map(str, args)], capture_output=True, text=True, timeout=60, **kwargs)


def test_check_config_accepts_the_shipped_configs():
    for name in ("racktel.toml", "demo.toml"):
        out = run("check-config", SOURCE / "config" / name)
        assert out.returncode == 0, out.stderr
        assert "OK" in out.stdout


def test_check_config_reports_every_error_with_its_position(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("""[agent]
site = "lab"
rack = "r01"
colour = "blue"
[mqtt]
brokers = ["tcp://127.0.0.1:1883"]
keepalive = "soon"
[[drivers]]
name = "rack"
type = "sim"
seeed = 3
""")
    out = run("check-config", bad)
    assert out.returncode == 1
    lines = out.stderr.splitlines()
    assert f"{bad}:4:1: unknown key \"colour\" in [agent]" in lines[0]
    assert f"{bad}:7:13: expected \"keepalive\" to be a duration string" in lines[1]
    assert lines[-1] == f"{bad}: 2 error(s)"  # driver tables are checked once the agent keys are valid

    bad.write_text(bad.read_text().replace('colour = "blue"\n', "").replace('"soon"', '"5s"'))
    out = run("check-config", bad)
    assert out.returncode == 1
    assert f"{bad}:10:1: driver \"rack\": unknown key \"seeed\" for a driver of type \"sim\"" in out.stderr


def test_check_config_on_a_missing_file():
    out = run("check-config", "/nonexistent/racktel.toml")
    assert out.returncode == 1
    assert "/nonexistent/racktel.toml: cannot open the configuration file" in out.stderr


def test_subscribe_json_matches_the_independent_decoder(start_agent, collector, broker):
    c = collector()
    start_agent()
    c.wait_batches(1)
    out = run("subscribe", "--broker", broker.uri, "--site", "lab", "--rack", "r01", "--json", "-n", "2",
              "--timeout", "20s")
    assert out.returncode == 0, out.stderr
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    kinds = {line["type"] for line in lines}
    assert {"state", "catalog", "batch", "reading"} <= kinds
    cli_batches = [line["sequence"] for line in lines if line["type"] == "batch"]
    assert len(cli_batches) == 2
    cli = {(l["sequence"], l["time_ms"], l["sensor"]): (l["status"], l["value"]) for l in lines if l["type"] == "reading"}
    wait_for(lambda: max(b.sequence for b, _ in c.batches()) >= max(cli_batches), what="collector catching up")
    ours = {}
    for batch, readings in c.batches():
        if batch.sequence in cli_batches:
            for t, key, status, value in readings:
                ours[(batch.sequence, t, key)] = (status, value)
    assert len(cli) == len(ours) > 1000
    for k, (status, value) in ours.items():
        assert cli[k][0] == status
        assert (value is None and cli[k][1] is None) or abs(cli[k][1] - value) < 1e-9


def test_subscribe_human_output_and_match(start_agent, broker):
    start_agent()
    out = run("subscribe", "--broker", broker.uri, "--site", "lab", "--rack", "r01", "-m", "chip12.die_temp",
              "-n", "2", "--timeout", "20s")
    assert out.returncode == 0, out.stderr
    assert "state    ONLINE" in out.stdout
    readings = [l for l in out.stdout.splitlines() if "rack/chip12.die_temp" in l]
    assert readings and all(l.rstrip().endswith("Cel") for l in readings)
    assert not any("chip11" in l for l in out.stdout.splitlines())


def test_subscribe_live_table(start_agent, broker):
    start_agent()
    out = run("subscribe", "--broker", broker.uri, "--site", "lab", "--rack", "r01", "--table", "-m", "tray03.",
              "-n", "2", "--timeout", "20s")
    assert out.returncode == 0, out.stderr
    screens = out.stdout.split("\033[H\033[2J")[1:]
    assert len(screens) == 2, "one screen per batch"
    rows = [l for l in screens[-1].splitlines() if l.startswith("rack/")]
    assert [r.split()[0] for r in rows] == sorted(f"rack/tray03.{s}" for s in
                                                   ("flow", "host_cpu_temp", "inlet_temp", "leak", "outlet_temp"))
    assert all(" ok " in r for r in rows)


def test_subscribe_times_out_without_an_agent(broker):
    out = run("subscribe", "--broker", broker.uri, "--site", "lab", "--rack", "none", "--timeout", "1s")
    assert out.returncode == 1
    assert "no data batch for 1000 ms" in out.stderr


def test_status_for_a_technician(start_agent, collector):
    c = collector()
    agent = start_agent("""
[[drivers]]
name = "rack"
type = "sim"
[[drivers.faults]]
kind = "hot_chip"
chip = 12
extra = 45.0
[[drivers.faults]]
kind = "read_errors"
sensor = "chip40.hbm5_temp"
""")
    c.wait_batches(3)
    text = agent.status(human=True)
    assert "site lab  rack r01" in text
    assert "broker     connected to tcp://127.0.0.1:" in text
    assert "sensors    1365:" in text
    # The die swings between about 47 and 76 C with the workload: +45 C is over a limit at any moment.
    hot = next(l for l in text.splitlines() if "rack/chip12.die_temp" in l)
    assert "warn_high 90" in hot or "crit_high 105" in hot
    assert "rack/chip40.hbm5_temp" in text and "stale" in text
    assert "power     every   100 ms" in text


def test_status_without_an_agent(tmp_path):
    out = run("status", "--socket", tmp_path / "none.sock")
    assert out.returncode == 1
    assert "cannot reach the agent" in out.stderr


def test_subscribe_bounds_what_a_broker_sends(broker):
    """A 10 MB catalog of 5 M empty sensors (a few hundred bytes each once
    parsed) is refused before it is built, and a payload over --max-payload is
    not decoded at all."""
    import resource

    import paho.mqtt.client as mqtt
    publisher = mqtt.Client(client_id="bomber", protocol=mqtt.MQTTv5)
    publisher.connect("127.0.0.1", broker.port)
    publisher.loop_start()
    bomb = b"\x22\x00" * 5_000_000  # Catalog.sensors, 5 M times, each empty
    publisher.publish("racktel/v1/lab/r01/catalog", bomb, qos=1, retain=True).wait_for_publish(30)
    import racktel_stream
    big = racktel_stream.pb.Catalog(version=5)
    big.sensors.add(driver="r" * 500, id="s0", name="x" * 1000, resolution=1.0)  # 1.5 KB, strings within limits
    publisher.publish("racktel/v1/lab/r02/catalog", big.SerializeToString(), qos=1, retain=True).wait_for_publish(30)
    publisher.loop_stop()
    publisher.disconnect()

    out = run("subscribe", "--broker", broker.uri, "--site", "lab", "--rack", "r01", "--timeout", "3s")
    assert "catalog refused (10000000 bytes): 5000000 sensors is more than the limit of 100000" in out.stderr
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    assert peak_kib < 300 * 1024, f"racktel subscribe peaked at {peak_kib} KiB"

    # Over --max-payload: a compliant broker does not even send it (MQTT 5 Maximum Packet Size).
    out = run("subscribe", "--broker", broker.uri, "--site", "lab", "--rack", "r02", "--timeout", "3s",
              "--max-payload", "1024")
    assert "catalog" not in out.stdout and "catalog refused" not in out.stderr
    out = run("subscribe", "--broker", broker.uri, "--site", "lab", "--rack", "r02", "--timeout", "3s")
    assert "catalog  version 0000000000000005  1 sensors" in out.stdout, "within the default limit it is shown"


def test_usage_errors_exit_64_as_documented():
    for args in (["--bogus"], ["status", "--socket"], ["subscribe", "--site", "s", "--rack", "r", "--timeout", "soon"]):
        out = run(*args)
        assert out.returncode == 64, (args, out.returncode, out.stderr)
    assert run("--help").returncode == 0
    agent = subprocess.run([str(AGENT), "--no-such-option"], capture_output=True, text=True, timeout=30)
    assert agent.returncode == 64 and "no-such-option" in agent.stderr
