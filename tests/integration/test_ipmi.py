"""The ipmi driver against OpenIPMI's ipmi_sim on loopback (IPMI 2.0 LAN):
values with their thresholds and the BMC's own state, a discrete sensor, a
sensor whose scanning stops, the SDR cache in the instance's state
directory and a repository that changes, a wrong password, a BMC that goes
away and comes back, config errors."""

import shutil

import pytest

from conftest import check_config, wait_for
from ipmi_bmc import PASSWORD, USER, IpmiBmc, full_record, sdr_add

pytestmark = pytest.mark.skipif(shutil.which("ipmi_sim") is None, reason="ipmi_sim (Debian openipmi) is not installed")

SENSORS = [
    sdr_add(full_record(1, 1, "GPU0 Temp", 1, unc=85, uc=95, unr=105)),
    "sensor_add 0x20 0 1 0x01 0x01", "sensor_set_value 0x20 0 1 64 0",
    "sensor_set_threshold 0x20 0 1 readable 111000 105 95 85 0 0 0",
    sdr_add(full_record(2, 2, "P12V", 4, m=6, r_exp=-2, sensor_type=0x02)),
    "sensor_add 0x20 0 2 0x02 0x01", "sensor_set_value 0x20 0 2 200 0",
    sdr_add(full_record(3, 3, "FAN1", 18, m=50, sensor_type=0x04)),
    "sensor_add 0x20 0 3 0x04 0x01", "sensor_set_value 0x20 0 3 100 0",
    sdr_add(full_record(4, 4, "PSU1 Status", 0, sensor_type=0x08, event_type=0x6f)),
    "sensor_add 0x20 0 4 0x08 0x6f", "sensor_set_bit_clr_rest 0x20 0 4 0 1 0",
]


@pytest.fixture
def bmc(tmp_path):
    b = IpmiBmc(tmp_path / "bmc").start(SENSORS)
    yield b
    b.stop()


def ipmi_rack(tmp_path, bmcs, extra=""):
    secret = tmp_path / "bmc-password"
    secret.write_text(PASSWORD + "\n")
    secret.chmod(0o600)
    tables = "".join(f'\n[[drivers.bmcs]]\nname = "{name}"\naddress = "127.0.0.1:{port}"\nlocation = "tray={i}"\n{more}'
                     for i, (name, port, more) in enumerate(bmcs))
    return f"""
[[drivers]]
name = "bmcs"
type = "ipmi"
interval = "1s"
timeout = "400ms"
cipher_suite = 3
workarounds = ["opensesspriv"]
sdr_check = "1s"
username = "{USER}"
password_file = "{secret}"
{extra}
{tables}"""


def test_values_thresholds_states_and_a_repository_that_changes(start_agent, bmc, tmp_path):
    agent = start_agent(ipmi_rack(tmp_path, [("tray0", bmc.port, ""),
                                             ("tray9", bmc.port, 'password = "not-the-password"\n')]))
    wait_for(lambda: agent.sensors().get("bmcs/tray0.gpu0_temp", {}).get("status") == "ok", what="the BMC read")
    s = agent.sensors()
    temp = s["bmcs/tray0.gpu0_temp"]
    assert temp["value"] == 64 and temp["unit"] == "Cel" and temp["kind"] == "temperature"
    assert (temp["warn_high"], temp["crit_high"]) == (85, 95)
    assert s["bmcs/tray0.p12v"]["value"] == pytest.approx(12.0) and s["bmcs/tray0.p12v"]["unit"] == "V"
    assert s["bmcs/tray0.fan1"]["value"] == 5000 and s["bmcs/tray0.fan1"]["kind"] == "fan_speed"
    assert s["bmcs/tray0.gpu0_temp.state"]["state"] == "ok"
    assert s["bmcs/tray0.psu1_status"]["value"] == 1  # presence detected: its event bits
    # The SDR repository is cached in the instance's state directory.
    cache = agent.directory / "state" / "drivers" / "bmcs" / "tray0.sdr"
    assert cache.exists()
    # The wrong password: that BMC's readings fail, said once, the other BMC is read.
    wait_for(lambda: "tray9 (127.0.0.1:" in agent.log_text(), what="the wrong password logged")
    assert "password invalid" in agent.log_text()
    assert not any(k.startswith("bmcs/tray9.") for k in s), "no sensors without a repository"

    # Over the thresholds: the value, and the BMC's own verdict.
    bmc.command("sensor_set_value 0x20 0 1 90 0")
    wait_for(lambda: agent.sensors()["bmcs/tray0.gpu0_temp.state"]["state"] == "non_critical",
             what="the BMC's state at 90 degrees")
    bmc.command("sensor_set_value 0x20 0 1 100 0")
    wait_for(lambda: agent.sensors()["bmcs/tray0.gpu0_temp.state"]["state"] == "critical",
             what="the BMC's state at 100 degrees")
    assert agent.sensors()["bmcs/tray0.gpu0_temp"]["value"] == 100

    # A sensor the BMC stops scanning reads as an error, not as its last value.
    bmc.command("sensor_set_event_support 0x20 0 3 enable no-scanning per-state "
                "000000000000000 000000000000000 000000000000000 000000000000000")
    wait_for(lambda: agent.sensors()["bmcs/tray0.fan1"]["status"] in ("error", "stale"),
             what="the unscanned fan failing")
    assert agent.sensors()["bmcs/tray0.p12v"]["status"] == "ok"

    # A sensor is added to the BMC's repository: the driver sees the repository changed.
    bmc.command(sdr_add(full_record(5, 5, "GPU1 Temp", 1, unc=85, uc=95, unr=105)))
    bmc.command("sensor_add 0x20 0 5 0x01 0x01")
    bmc.command("sensor_set_value 0x20 0 5 55 0")
    wait_for(lambda: agent.sensors().get("bmcs/tray0.gpu1_temp", {}).get("value") == 55, timeout=20,
             what="the new sensor in the catalog")
    assert "tray0: 5 SDR sensor records" in agent.log_text()


def test_a_bmc_that_goes_away_and_comes_back(start_agent, bmc, tmp_path):
    agent = start_agent(ipmi_rack(tmp_path, [("tray0", bmc.port, "")]))
    wait_for(lambda: agent.sensors().get("bmcs/tray0.gpu0_temp", {}).get("status") == "ok", what="the BMC read")
    bmc.pause()
    wait_for(lambda: agent.sensors()["bmcs/tray0.gpu0_temp"]["status"] in ("timeout", "error", "stale"),
             what="the silent BMC's readings failing")
    group = agent.status()["drivers"][0]["groups"][0]
    assert group["late_results"] == 0, "a silent BMC costs its own timeout, within the read's deadline"
    bmc.resume()
    wait_for(lambda: agent.sensors()["bmcs/tray0.gpu0_temp"]["status"] == "ok", timeout=30,
             what="the BMC read again")
    assert "tray0 answers again" in agent.log_text()


def test_config_errors_and_strict_security(tmp_path):
    def check(drivers, extra=""):
        return check_config(tmp_path, drivers, extra)

    out = check(ipmi_rack(tmp_path, [("tray0", 623, "")]).replace('["opensesspriv"]', '["opensesame"]'))
    assert out.returncode != 0 and '"workarounds[0]": expected one of authcap' in out.stderr
    out = check(ipmi_rack(tmp_path, [("tray0", 623, "")]).replace("cipher_suite = 3", "cipher_suite = 2"),
                extra='security = "strict"')
    assert out.returncode != 0 and "this cipher suite does not encrypt" in out.stderr
    out = check(ipmi_rack(tmp_path, [("tray0", 623, "")]), extra='security = "strict"')
    assert out.returncode == 0, out.stderr
    assert not (tmp_path / "state" / "drivers").exists(), "check-config creates no state directory"
