"""The racktel tool: check-config, status and the reference decoder."""

import json
import os
import subprocess

from conftest import AGENT, BAD_MODULE_DIR, CLI, SIM_DRIVER, SOURCE, Agent, wait_for


def run(*args, **kwargs):
    return subprocess.run([str(CLI), *map(str, args)], capture_output=True, text=True, timeout=60, **kwargs)


def test_check_config_accepts_the_demo_and_not_the_unfinished_packaged_file(tmp_path):
    out = run("check-config", SOURCE / "config" / "demo.toml")
    assert out.returncode == 0, out.stderr
    assert "OK" in out.stdout
    packaged = SOURCE / "config" / "racktel.toml"
    out = run("check-config", packaged)
    assert out.returncode == 1
    assert f"{packaged}:1:1: no [[drivers]] table: the agent would read nothing" in out.stderr
    assert '"site" must be' in out.stderr and '"rack" must be' in out.stderr and '"brokers"' in out.stderr
    # `systemctl enable --now` on it: the agent does not start, so no fake rack is published.
    started = subprocess.run([str(AGENT), "--config", str(packaged)], capture_output=True, text=True, timeout=30)
    assert started.returncode == 2 and "racktel-agent: not started: 4 error(s)" in started.stderr


def test_the_liquid_cooled_rack_example_is_a_valid_configuration(tmp_path):
    """config/liquid-cooled-rack.toml (Redfish, SNMP, Modbus, hwmon together) passes check-config,
    with its secret and CA files and its profiles where the example names them."""
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out",
                    "ca.pem", "-days", "2", "-subj", "/CN=example CA"], check=True, capture_output=True, cwd=tmp_path)
    text = (SOURCE / "config" / "liquid-cooled-rack.toml").read_text()
    for name in ("broker-password", "bmc-password", "pdu-auth", "pdu-priv"):
        (tmp_path / name).write_text("a-long-enough-secret\n")
        (tmp_path / name).chmod(0o600)
    for name in ("broker-ca.pem", "bmc-ca.pem"):
        (tmp_path / name).write_bytes((tmp_path / "ca.pem").read_bytes())
    text = (text.replace("/etc/racktel/", f"{tmp_path}/").replace("/usr/share/racktel/profiles/",
                                                                 f"{SOURCE}/config/profiles/")
            .replace("/var/lib/racktel", f"{tmp_path}/state"))
    config = tmp_path / "rack.toml"
    config.write_text(text)
    out = run("check-config", config)
    assert out.returncode == 0, out.stderr
    assert "OK (site dc1-hall2, rack r17, 5 driver instance(s))" in out.stdout


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
    assert f"{bad}:11:1: driver \"rack\": unknown key \"seeed\"" in lines[2]  # all in one pass
    assert lines[-1] == f"{bad}: 3 error(s)"

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
    assert "no retained state" not in out.stderr  # not yet: 3 s are allowed for it


def test_subscribe_says_when_no_agent_ever_published_for_the_rack(start_agent, broker):
    start_agent()  # rack r01; the technician typed r1
    out = run("subscribe", "--broker", broker.uri, "--site", "lab", "--rack", "r1", "--timeout", "5s")
    assert out.returncode == 1
    assert ('no retained state on racktel/v1/lab/r1/state after 3 s: no agent has published for site "lab", '
            'rack "r1" on this broker') in out.stderr


def test_subscribe_to_every_rack_names_the_rack_on_every_line(start_agent, broker, tmp_path):
    start_agent()
    (tmp_path / "r02").mkdir()
    other = Agent(tmp_path / "r02", broker, SIM_DRIVER.format(seed=2))
    other.config.write_text(other.config.read_text().replace('rack = "r01"', 'rack = "r02"'))
    other.start()
    try:
        out = run("subscribe", "--broker", broker.uri, "--site", "lab", "--rack", "+", "-m", "chip12.die_temp",
                  "-n", "6", "--timeout", "20s")
        assert out.returncode == 0, out.stderr
        lines = out.stdout.splitlines()
        assert {l.split()[0] for l in lines if "state" in l} == {"lab/r01", "lab/r02"}
        assert all(l.split()[0] in ("lab/r01", "lab/r02") for l in lines if "batch" in l or "catalog" in l)
        readings = [l.split()[1] for l in lines if "chip12.die_temp" in l]
        assert set(readings) == {"lab/r01/rack/chip12.die_temp", "lab/r02/rack/chip12.die_temp"}
        out = run("subscribe", "--broker", broker.uri, "--site", "lab", "--rack", "+", "--json", "-n", "2",
                  "--timeout", "20s")
        assert all(json.loads(l)["rack"] in ("r01", "r02") and json.loads(l)["site"] == "lab"
                   for l in out.stdout.splitlines())
    finally:
        other.stop()


TECHNICIAN_RACK = f"""
[[drivers]]
name = "rack"
type = "sim"
[[drivers.faults]]
kind = "hot_chip"
chip = 12
extra = 60.0
[[drivers.faults]]
kind = "read_errors"
sensor = "chip40.hbm5_temp"

[[drivers]]
name = "spare"
type = "sim"
enabled = false

[[drivers]]
name = "unplugged"
type = "failsopen"
module = "{BAD_MODULE_DIR}/racktel-driver-failsopen.so"
"""


def attention_lines(text):
    lines = text.splitlines()
    first = next(i for i, l in enumerate(lines) if l.startswith("attention"))
    return lines[first + 1:]


def test_status_for_a_technician(start_agent, collector):
    c = collector()
    agent = start_agent(TECHNICIAN_RACK)
    c.wait_batches(2)
    # chip40's HBM fails every read: stale after three thermal reads (1 s apart).
    wait_for(lambda: any(a["sensor"] == "rack/chip40.hbm5_temp" and a["status"] == "stale"
                         for a in agent.status()["attention"]), what="the failing sensor gone stale")
    text = agent.status(human=True)
    assert "site lab  rack r01" in text
    assert "broker     connected to tcp://127.0.0.1:" in text
    assert "sensors    1365:" in text
    assert "drivers    3 configured: 1 running, 1 failed to open, 1 disabled" in text
    assert any(l.startswith("  rack ") and l.endswith("; built-in") for l in text.splitlines())
    assert any(l.split()[:3] == ["spare", "sim", "disabled"] for l in text.splitlines())
    assert "power     every   100 ms" in text
    # Most urgent first: the driver that cannot open, then the chip past its critical limit, then the stale HBM.
    lines = attention_lines(text)
    severities = [l.split()[0] for l in lines]
    assert severities == sorted(severities, key=["driver", "critical", "failing", "warning", "stale"].index)
    assert lines[0].split()[:2] == ["driver", "unplugged"]
    hot = next(l for l in lines if "rack/chip12.die_temp" in l)
    assert hot.split()[0] == "critical" and "crit_high 105" in hot
    stale = next(l for l in lines if "rack/chip40.hbm5_temp" in l)
    assert stale.split()[0] == "stale" and " stale " in stale and "last ok never" in stale

    # --match narrows the list to sensors; a glob without '/' matches ids in any driver.
    matched = attention_lines(agent.status(human=True, args=["--match", "chip12*"]))
    assert matched and all("rack/chip12." in l for l in matched)
    as_json = agent.status(args=["--match", "rack/chip4*"])
    assert {a["sensor"] for a in as_json["attention"]} == {"rack/chip40.hbm5_temp"}
    assert as_json["attention_total"] == 1


def test_status_lists_the_first_hundred_unless_all(start_agent):
    # A rack whose every thermal read fails: over a thousand stale sensors.
    agent = start_agent("""
[[drivers]]
name = "rack"
type = "sim"
[[drivers.faults]]
kind = "read_errors"
sensor = "*"
""")
    wait_for(lambda: agent.status()["attention_total"] > 100, what="many sensors needing attention")
    capped = agent.status()
    assert len(capped["attention"]) == 100
    everything = agent.status(args=["--all"])
    assert len(everything["attention"]) == everything["attention_total"] > 100
    assert "--all for every one" in agent.status(human=True)


def test_sensors_shows_every_reading_with_limits_from_the_running_agent(start_agent):
    agent = start_agent(TECHNICIAN_RACK)
    wait_for(lambda: agent.status()["sensors"]["never_read"] == 0, what="every sensor read once")
    # Found from the configuration file, as a technician at the rack would ask.
    out = run("sensors", "--config", agent.config, "--json")
    assert out.returncode == 0, out.stderr
    listed = json.loads(out.stdout)["sensors"]
    assert len(listed) == 1365
    die = next(s for s in listed if s["sensor"] == "rack/chip12.die_temp")
    assert die["unit"] == "Cel" and die["kind"] == "temperature" and die["status"] in ("ok", "out_of_range")
    assert die["warn_high"] == 90 and die["crit_high"] == 105 and die["warn_low"] is None
    assert die["value"] > 105 and die["condition"] == "critical" and die["limit"] == "crit_high 105"
    assert die["time_ms"] > 0

    out = run("sensors", "--config", agent.config, "--match", "chip12.*_temp")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].split()[:4] == ["SENSOR", "VALUE", "UNIT", "STATUS"]
    assert [l.split()[0] for l in lines[1:]] == ["rack/chip12.die_temp"] + [f"rack/chip12.hbm{i}_temp" for i in range(8)]
    assert lines[1].split()[4] == "critical" and lines[1].split()[-2:] != ["never", ""]

    out = run("sensors", "--config", agent.config, "--match", "nothing*")
    assert out.returncode == 1 and "no sensor matches nothing*" in out.stderr


def test_status_without_an_agent(tmp_path):
    out = run("status", "--socket", tmp_path / "none.sock")
    assert out.returncode == 1
    assert "cannot reach the agent" in out.stderr


def test_subscribe_bounds_what_a_broker_sends(broker):
    """A 10 MB catalog of 5 M empty sensors (a few hundred bytes each once
    parsed) is refused before it is built, and a payload over --max-payload is
    not decoded at all."""
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

    # wait4 gives this one child's peak; RUSAGE_CHILDREN would be the largest of every child so far.
    process = subprocess.Popen([str(CLI), "subscribe", "--broker", broker.uri, "--site", "lab", "--rack", "r01",
                                "--timeout", "3s"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    stderr = process.stderr.read()
    _, _, usage = os.wait4(process.pid, 0)
    process.returncode = 1  # reaped by wait4; keeps Popen from waiting again
    assert "catalog refused (10000000 bytes): 5000000 sensors is more than the limit of 100000" in stderr
    assert usage.ru_maxrss < 300 * 1024, f"racktel subscribe peaked at {usage.ru_maxrss} KiB"

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
