"""The snmp driver against a real SNMP agent on loopback (net-snmp's snmpd,
values served through pass_persist from a file the test rewrites): the
shipped APC and ENTITY-SENSOR-MIB profiles read with their scaling, a table
that gains a row, GETBULK counted per read, v3 authPriv, a wrong pass
phrase and a wrong community, a device that stops answering."""

import subprocess

import pytest

from conftest import CLI, SOURCE, check_config, wait_for
from snmp_agent import COMMUNITY, V3_AUTH, V3_PRIV, V3_USER, SnmpAgent

APC = SOURCE / "config" / "profiles" / "snmp-apc-rpdu2.toml"
ENTITY = SOURCE / "config" / "profiles" / "snmp-entity-sensor.toml"

pytestmark = pytest.mark.skipif(not __import__("os").path.exists("/usr/sbin/snmpd"),
                                reason="snmpd is not installed")

RPDU2 = ".1.3.6.1.4.1.318.1.1.26"


def outlet(n, name, current_tenths, watts, energy_tenths_kwh, state=2):
    base = f"{RPDU2}.9.4.3.1"
    return (f"{base}.3.{n} string {name}\n{base}.5.{n} integer {state}\n{base}.6.{n} gauge {current_tenths}\n"
            f"{base}.7.{n} gauge {watts}\n{base}.11.{n} gauge {energy_tenths_kwh}\n")


def pdu_values(outlets):
    return (f"{RPDU2}.4.3.1.3.1 string rack-pdu-a\n{RPDU2}.4.3.1.4.1 integer 3\n{RPDU2}.4.3.1.5.1 gauge 412\n"
            f"{RPDU2}.4.3.1.9.1 gauge 98765\n{RPDU2}.4.3.1.12.1 integer 1\n"
            f"{RPDU2}.6.3.1.4.1 integer 2\n{RPDU2}.6.3.1.5.1 gauge 173\n{RPDU2}.6.3.1.6.1 integer 231\n"
            f"{RPDU2}.6.3.1.7.1 gauge 400\n" + "".join(outlets) +
            # ENTITY-SENSOR-MIB: an inlet temperature in tenths of a degree, a 12 V rail in mV, a dead fan.
            ".1.3.6.1.2.1.47.1.1.1.1.7.10 string Inlet Temp\n"
            ".1.3.6.1.2.1.99.1.1.1.1.10 integer 8\n.1.3.6.1.2.1.99.1.1.1.2.10 integer 9\n"
            ".1.3.6.1.2.1.99.1.1.1.3.10 integer 1\n.1.3.6.1.2.1.99.1.1.1.4.10 integer 274\n"
            ".1.3.6.1.2.1.99.1.1.1.5.10 integer 1\n"
            ".1.3.6.1.2.1.99.1.1.1.1.11 integer 4\n.1.3.6.1.2.1.99.1.1.1.2.11 integer 8\n"
            ".1.3.6.1.2.1.99.1.1.1.3.11 integer 0\n.1.3.6.1.2.1.99.1.1.1.4.11 integer 12050\n"
            ".1.3.6.1.2.1.99.1.1.1.5.11 integer 1\n"
            ".1.3.6.1.2.1.99.1.1.1.1.12 integer 10\n.1.3.6.1.2.1.99.1.1.1.2.12 integer 9\n"
            ".1.3.6.1.2.1.99.1.1.1.3.12 integer 0\n.1.3.6.1.2.1.99.1.1.1.4.12 integer 0\n"
            ".1.3.6.1.2.1.99.1.1.1.5.12 integer 3\n")


TWO_OUTLETS = [outlet(1, "gpu-tray-1", 42, 950, 12345), outlet(2, "gpu-tray-2", 38, 870, 12000)]


def device(name, port, profile, credentials):
    return f"""
[[drivers.devices]]
name = "{name}"
address = "127.0.0.1:{port}"
profile = "{profile}"
location = "pdu=a"
{credentials}"""


def v2c(community=COMMUNITY):
    return f'version = "2c"\ncommunity = "{community}"\n'


def v3(tmp_path, auth=V3_AUTH, priv=V3_PRIV, tag="good"):
    for kind, secret in (("auth", auth), ("priv", priv)):
        (tmp_path / f"{kind}-{tag}").write_text(secret + "\n")
        (tmp_path / f"{kind}-{tag}").chmod(0o600)
    return (f'version = "3"\nuser = "{V3_USER}"\nauth = "SHA-256"\nauth_password_file = "{tmp_path / f"auth-{tag}"}"\n'
            f'privacy = "AES"\nprivacy_password_file = "{tmp_path / f"priv-{tag}"}"\n')


def snmp_rack(devices, timeout="300ms"):
    return f"""
[[drivers]]
name = "power"
type = "snmp"
interval = "1s"
timeout = "{timeout}"
retries = 0
{"".join(devices)}"""


@pytest.fixture
def snmp_agent(tmp_path):
    agent = SnmpAgent(tmp_path / "snmpd", pdu_values(TWO_OUTLETS)).start()
    yield agent
    agent.stop()


def test_pdu_values_entity_sensors_and_an_outlet_added(start_agent, snmp_agent, tmp_path):
    agent = start_agent(snmp_rack([device("pdu-a", snmp_agent.port, APC, v2c()),
                                   device("sw1", snmp_agent.port, ENTITY, v2c())]))
    wait_for(lambda: agent.sensors().get("power/pdu-a.outlet.2.energy", {}).get("status") == "ok",
             what="the PDU's outlets read")
    wait_for(lambda: "power/sw1.entity.10" in agent.sensors(), what="the entity sensors read")
    s = agent.sensors()
    expected = {
        "pdu-a.pdu.1.power": 4120.0,              # hundredths of kW
        "pdu-a.pdu.1.energy": 98765 * 360000.0,   # tenths of kWh, in J
        "pdu-a.pdu.1.load_state": 2,              # nearOverload(3), remapped so that 0 is normal
        "pdu-a.pdu.1.power_supply_alarm": 0,
        "pdu-a.phase.1.current": 17.3,
        "pdu-a.phase.1.voltage": 231.0,
        "pdu-a.phase.1.power": 4000.0,
        "pdu-a.outlet.1.current": 4.2,
        "pdu-a.outlet.1.power": 950.0,
        "pdu-a.outlet.2.current": 3.8,
        "pdu-a.outlet.1.load_state": 0,
        "sw1.entity.10": 27.4,                    # Celsius, one decimal
        "sw1.entity.11": 12.05,                   # milli-volts
    }
    for id_, value in expected.items():
        assert s[f"power/{id_}"]["status"] == "ok", id_
        assert s[f"power/{id_}"]["value"] == pytest.approx(value), id_
    assert s["power/pdu-a.pdu.1.load_state"]["state"] == "near_overload"
    assert s["power/pdu-a.outlet.1.current"]["unit"] == "A"
    assert s["power/sw1.entity.10"]["unit"] == "Cel" and s["power/sw1.entity.10"]["kind"] == "temperature"
    assert s["power/sw1.entity.12"]["status"] == "error"  # nonoperational(3): an error, not a zero
    assert "power/pdu-a.outlet.3.current" not in s
    # Both devices at once, in bulk: one GETBULK per table for a PDU of this size.
    log = agent.log_text()
    assert "pdu-a: 16 sensors in 3 requests per read" in log
    assert "sw1: 3 sensors in 2 requests per read" in log
    catalog = agent.status()
    assert catalog["drivers"][0]["sensors"] == 19

    # An outlet is cabled: the table gains a row, the catalog the sensors.
    snmp_agent.set_values(pdu_values(TWO_OUTLETS + [outlet(3, "storage-1", 11, 240, 10)]))
    wait_for(lambda: agent.sensors().get("power/pdu-a.outlet.3.power", {}).get("value") == 240,
             what="the new outlet's sensors")
    s = agent.sensors()
    assert s["power/pdu-a.outlet.3.current"]["value"] == pytest.approx(1.1)
    assert s["power/pdu-a.outlet.1.power"]["value"] == 950


def test_v3_auth_priv_and_a_wrong_pass_phrase(start_agent, snmp_agent, tmp_path):
    # Another agent for the wrong pass phrase: net-snmp keeps one set of keys per
    # (engine id, user), and two devices never share an engine id.
    other = SnmpAgent(tmp_path / "other", pdu_values(TWO_OUTLETS)).start()
    try:
        agent = start_agent(snmp_rack([device("pdu-v3", snmp_agent.port, APC, v3(tmp_path)),
                                       device("pdu-bad", other.port, APC,
                                              v3(tmp_path, auth="not-the-pass-phrase", tag="bad"))]))
        check_v3(agent)
    finally:
        other.stop()


def check_v3(agent):
    wait_for(lambda: agent.sensors().get("power/pdu-v3.outlet.1.power", {}).get("status") == "ok",
             what="the v3 device read")
    assert agent.sensors()["power/pdu-v3.phase.1.voltage"]["value"] == 231
    wait_for(lambda: "pdu-bad (udp:127.0.0.1:" in agent.log_text(), what="the wrong pass phrase logged")
    assert "Authentication failure" in agent.log_text()
    s = agent.sensors()
    assert not any(k.startswith("power/pdu-bad.outlet") for k in s), "no rows without an answer"


def test_a_wrong_community_and_a_device_that_stops_answering(start_agent, snmp_agent, tmp_path):
    agent = start_agent(snmp_rack([device("pdu-a", snmp_agent.port, APC, v2c()),
                                   device("pdu-x", snmp_agent.port, APC, v2c("wrong-community"))]))
    wait_for(lambda: agent.sensors().get("power/pdu-a.outlet.1.power", {}).get("status") == "ok",
             what="the right community read")
    wait_for(lambda: "pdu-x (udp:127.0.0.1:" in agent.log_text() and "no answer" in agent.log_text(),
             what="the wrong community noticed")
    status = agent.status()
    group = status["drivers"][0]["groups"][0]
    assert group["timeouts"] == 0 and group["late_results"] == 0, "a silent device costs its own timeout only"

    snmp_agent.pause()
    wait_for(lambda: agent.sensors()["power/pdu-a.outlet.1.power"]["status"] in ("timeout", "error", "stale"),
             what="the readings of a device that stopped answering failing")
    assert "power/pdu-a.outlet.2.power" in agent.sensors(), "the rows stay in the catalog while it is silent"
    snmp_agent.resume()
    wait_for(lambda: agent.sensors()["power/pdu-a.outlet.1.power"]["status"] == "ok", timeout=30,
             what="the device read again")
    assert "pdu-a answers again" in agent.log_text()


def test_config_errors_name_their_line_and_strict_security_refuses_v2c(tmp_path):
    profile = tmp_path / "bad.toml"
    profile.write_text('[[tables]]\nid = "outlet"\noid = "1.3.6.1.4.1.318.1.1.26.9.4.3.1"\n'
                       '[[tables.columns]]\ncolumn = "six"\nid = "current"\n')
    out = check_config(tmp_path, snmp_rack([device("pdu-a", 161, profile, v2c())]))
    assert out.returncode != 0
    assert f"{profile}:5:10: \"column\" must be a column number" in out.stdout + out.stderr

    out = check_config(tmp_path, snmp_rack([device("pdu-a", 161, APC, 'version = "3"\nuser = "u"\n')]))
    assert "auth_password_file" in out.stdout + out.stderr and out.returncode != 0

    out = check_config(tmp_path, snmp_rack([device("pdu-a", 161, APC, v2c())]), extra='security = "strict"')
    assert out.returncode != 0 and "SNMP v2c sends its community in cleartext" in out.stdout + out.stderr
    out = check_config(tmp_path, snmp_rack([device("pdu-a", 161, APC, v3(tmp_path))]), extra='security = "strict"')
    assert out.returncode == 0, out.stdout + out.stderr

    for name in ("snmp-apc-rpdu2.toml", "snmp-eaton-epdu.toml", "snmp-entity-sensor.toml"):
        out = check_config(tmp_path, snmp_rack([device("d", 161, SOURCE / "config" / "profiles" / name, v2c())]))
        assert out.returncode == 0, name + out.stdout + out.stderr


def test_probe_prints_what_a_device_offers_without_an_agent(snmp_agent, tmp_path):
    """`racktel probe snmp ...`: the technician's first look at a new PDU."""
    def probe(*settings, json_output=True):
        args = [str(CLI), "probe", "snmp", "devices.name=pdu-a", f"devices.address=127.0.0.1:{snmp_agent.port}",
                *settings] + (["--json"] if json_output else [])
        return subprocess.run(args, capture_output=True, text=True, timeout=60)

    out = probe(f"devices.profile={APC}", f"devices.community={COMMUNITY}")
    assert out.returncode == 0, out.stderr
    import json
    sensors = {s["id"]: s for s in json.loads(out.stdout)["sensors"]}  # stdout is the JSON alone
    assert len(sensors) == 16
    assert sensors["pdu-a.outlet.1.current"]["value"] == pytest.approx(4.2)
    assert sensors["pdu-a.outlet.1.current"]["location"] == "device=pdu-a,outlet=1"
    assert sensors["pdu-a.pdu.1.load_state"]["crit_high"] == 3
    assert "16 sensors in 3 requests per read" in out.stderr

    text = probe(f"devices.profile={ENTITY}", f"devices.community={COMMUNITY}", json_output=False)
    assert text.returncode == 0, text.stderr
    assert "probe (snmp, built-in): 3 sensors" in text.stdout
    assert "Inlet Temp" in text.stdout and "27.4" in text.stdout and "Cel" in text.stdout

    bad = probe(f"devices.profile={APC}", f"devices.community={COMMUNITY}", "retries=9")
    assert bad.returncode == 2
    assert "racktel probe: retries=9: " in bad.stderr and "expected 0 to 5 retransmissions" in bad.stderr

    silent = probe(f"devices.profile={APC}", "devices.community=wrong", "timeout=200ms", "retries=0")
    assert silent.returncode == 1, "nothing read: the probe fails"
    assert "no answer" in silent.stderr
