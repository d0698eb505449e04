"""The Redfish driver against real HTTPS servers on loopback."""

import pytest

from pki import issue_certificates
from conftest import Agent, wait_for
from redfish_bmc import RedfishBMC


@pytest.fixture(scope="module")
def certificates(tmp_path_factory):
    """A CA, a certificate for 127.0.0.1 signed by it, and one for another host name."""
    return issue_certificates(tmp_path_factory.mktemp("pki"),
                              {"good": "IP:127.0.0.1", "wrong": "DNS:bmc.other.example"})


@pytest.fixture
def bmcs(certificates):
    started = []

    def start(cert="good", **kwargs):
        b = RedfishBMC(str(certificates / f"{cert}.pem"), str(certificates / f"{cert}.key"), **kwargs)
        started.append(b)
        return b

    yield start
    for b in started:
        b.stop()


def redfish_driver(certificates, *bmc_entries, extra="", interval="1s"):
    tables = "".join(f'\n[[drivers.bmcs]]\nname = "{name}"\nurl = "{url}"\n{more}' for name, url, more in bmc_entries)
    secret = certificates / "bmc-password"
    secret.write_text("bmc-secret\n")  # credentials from a file, as on a controller
    return f"""
[[drivers]]
name = "bmc"
type = "redfish"
interval = "{interval}"
username = "racktel"
password_file = "{secret}"
ca_file = "{certificates / 'ca.pem'}"
{extra}{tables}
"""


def latest(collector):
    return {k: (s, v) for _, rs in collector.batches() for _, k, s, v in rs}


def test_every_schema_is_read_with_session_auth_and_the_session_ends_at_shutdown(tmp_path, broker, collector,
                                                                                  bmcs, certificates):
    bmc = bmcs()
    c = collector()
    (tmp_path / "a").mkdir()
    agent = Agent(tmp_path / "a", broker, redfish_driver(certificates, ("tray0", bmc.url, ""))).start()
    try:
        wait_for(lambda: agent.status()["catalog"]["sensors"] > 0, what="discovery")
        c.wait_batches(3)
        catalog = max(c.catalogs().values(), key=lambda cat: len(cat.sensors))
        by_id = {s.id: s for s in catalog.sensors}
        # Sensors collection (expanded), legacy Thermal/Power, ThermalSubsystem/PowerSubsystem.
        assert by_id["tray0.Tray0.TPU0Temp"].unit == "Cel" and by_id["tray0.Tray0.TPU0Temp"].warn_high == 90
        assert by_id["tray0.Tray0.Energy"].unit == "J"
        assert by_id["tray0.Tray1.temp_0"].crit_high == 45
        assert {(l.key, l.value) for l in by_id["tray0.Tray0.TPU0Power"].location} == {
            ("bmc", "tray0"), ("chassis", "Tray0"), ("context", "GPU")}
        assert "tray0.Shelf0.psu_PSU1.output_power" in by_id and "tray0.Shelf0.temp_Intake" in by_id
        wait_for(lambda: latest(c).get("bmc/tray0.Tray0.TPU0Power", (None,))[0] == "ok", what="values")
        values = latest(c)
        assert values["bmc/tray0.Tray0.TPU0Power"] == ("ok", 812.5)
        assert values["bmc/tray0.Tray0.Energy"][1] == 2.5 * 3.6e6
        assert values["bmc/tray0.Tray0.CoolantFlow"][1] == pytest.approx(8.1)
        assert values["bmc/tray0.Tray1.power_0"][1] == 3250
        assert values["bmc/tray0.Shelf0.psu_PSU1.output_power"][1] == 2861
        assert values["bmc/tray0.Tray0.Leak"][0] in ("error", "stale"), "a sensor with no Reading has no value"
        assert bmc.logins == 1, "one session, kept alive across polls"
    finally:
        agent.stop()
    assert bmc.deleted_sessions == 1, "the session is deleted at shutdown"


def test_expired_sessions_are_renewed_and_wrong_credentials_cost_only_that_bmc(tmp_path, broker, collector,
                                                                                bmcs, certificates):
    good = bmcs()
    strict = bmcs(users={"racktel": "another-password"})
    c = collector()
    (tmp_path / "a").mkdir()
    agent = Agent(tmp_path / "a", broker, redfish_driver(certificates, ("good", good.url, ""),
                                                         ("strict", strict.url, ""))).start()
    try:
        wait_for(lambda: "bmc/good.Tray0.TPU0Power" in latest(c), timeout=20, what="the good BMC's readings")
        wait_for(lambda: "refused the credentials" in agent.log_text(), what="the credentials error")
        assert strict.failed_logins >= 1 and strict.logins == 0
        good.expire_sessions()  # the BMC restarted or timed the session out
        before = good.logins
        wait_for(lambda: good.logins > before, what="a new session")
        seen = len(c.of("data"))
        c.wait_batches(seen + 2)
        assert latest(c)["bmc/good.Tray0.TPU0Power"] == ("ok", 812.5)
        assert "bmc-secret" not in agent.log_text() and "another-password" not in agent.log_text()
    finally:
        agent.stop()


def test_a_slow_bmc_misses_the_deadline_alone(tmp_path, broker, collector, bmcs, certificates):
    fast = bmcs()
    slow = bmcs()
    c = collector()
    (tmp_path / "a").mkdir()
    agent = Agent(tmp_path / "a", broker, redfish_driver(certificates, ("fast", fast.url, ""),
                                                         ("slow", slow.url, ""))).start()
    try:
        # Both discovered and read well (the poll that discovers them may leave no time to read them).
        wait_for(lambda: all(latest(c).get(f"bmc/{b}.Tray0.TPU0Power", ("",))[0] == "ok" for b in ("fast", "slow")),
                 timeout=20, what="both read")
        slow.delay = 3.0  # every request now takes longer than the 1 s poll
        wait_for(lambda: latest(c)["bmc/slow.Tray0.TPU0Power"][0] != "ok", what="the slow BMC's readings to fail")
        start = len(c.of("data"))
        c.wait_batches(start + 3)
        recent = {}
        for batch, readings in c.batches()[start:]:
            for _, k, s, v in readings:
                recent.setdefault(k, []).append(s)
        assert set(recent["bmc/fast.Tray0.TPU0Power"]) == {"ok"}, "the fast BMC is read at every poll"
        assert "ok" not in recent["bmc/slow.Tray0.TPU0Power"]
        group = agent.status()["drivers"][0]["groups"][0]
        assert group["late_results"] == 0, "the read itself stays within its deadline"
        assert "deadline" in agent.log_text()
    finally:
        agent.stop()


def test_malformed_json_missing_resources_and_server_errors_cost_only_their_sensors(tmp_path, broker, collector,
                                                                                    bmcs, certificates):
    bmc = bmcs(expand=False)  # every sensor fetched on its own
    c = collector()
    (tmp_path / "a").mkdir()
    agent = Agent(tmp_path / "a", broker, redfish_driver(certificates, ("tray", bmc.url, ""))).start()
    try:
        wait_for(lambda: "bmc/tray.Tray0.Fan0" in latest(c), timeout=20, what="readings")
        bmc.broken["/redfish/v1/Chassis/Tray0/Sensors/Fan0"] = "json"
        bmc.broken["/redfish/v1/Chassis/Tray1/Power"] = 500
        bmc.broken["/redfish/v1/Chassis/Tray0/Sensors/P12V"] = 404
        broken = ("bmc/tray.Tray0.Fan0", "bmc/tray.Tray1.power_0", "bmc/tray.Tray0.P12V")
        wait_for(lambda: all(latest(c)[k][0] != "ok" for k in broken), what="the broken resources' readings to fail")
        start = len(c.of("data"))
        c.wait_batches(start + 2)
        last = latest(c)
        assert last["bmc/tray.Tray0.Fan0"][0] in ("error", "stale")
        assert last["bmc/tray.Tray1.power_0"][0] in ("error", "stale")
        assert last["bmc/tray.Tray0.P12V"][0] in ("error", "stale")
        assert last["bmc/tray.Tray0.TPU0Power"] == ("ok", 812.5)
        assert last["bmc/tray.Tray1.temp_0"] == ("ok", 24.5)
        log = agent.log_text()
        assert "Sensors/Fan0: malformed JSON" in log and "Tray1/Power: HTTP 500" in log and "P12V: HTTP 404" in log
    finally:
        agent.stop()


def test_a_certificate_for_another_host_is_refused_unless_checks_are_off(tmp_path, broker, collector, bmcs,
                                                                         certificates):
    impostor = bmcs(cert="wrong")
    c = collector()
    (tmp_path / "a").mkdir()
    agent = Agent(tmp_path / "a", broker, redfish_driver(certificates, ("impostor", impostor.url, ""),
                                                         ("lab", impostor.url, "insecure = true"))).start()
    try:
        wait_for(lambda: "bmc/lab.Tray0.TPU0Power" in latest(c), timeout=20, what="the unchecked BMC's readings")
        log = agent.log_text()
        assert "BMC impostor (127.0.0.1): TLS handshake failed" in log
        assert "certificate checks are OFF for this BMC" in log
        assert not any(k.startswith("bmc/impostor.") for k in latest(c))
    finally:
        agent.stop()


def tray_agent(tmp_path, broker, certificates, bmc, extra=""):
    """An agent reading one BMC as instance "bmc", BMC name "tray"."""
    (tmp_path / "a").mkdir()
    return Agent(tmp_path / "a", broker, redfish_driver(certificates, ("tray", bmc.url, extra))).start()


def wait_for_tray_power(c):
    wait_for(lambda: latest(c).get("bmc/tray.Tray0.TPU0Power") == ("ok", 812.5), timeout=20, what="readings")


def test_basic_auth(tmp_path, broker, collector, bmcs, certificates):
    bmc = bmcs()
    c = collector()
    agent = tray_agent(tmp_path, broker, certificates, bmc, 'auth = "basic"')
    try:
        wait_for_tray_power(c)
        assert bmc.logins == 0, "no session with basic auth"
    finally:
        agent.stop()


def test_malformed_resources_in_discovery_cost_only_themselves(tmp_path, broker, collector, bmcs, certificates):
    """A chassis member without @odata.id, numbers where strings belong, and a
    10 000-member collection: the rest of the BMC is still discovered and read."""
    bmc = bmcs(expand=False)
    chassis = bmc.tree["/redfish/v1/Chassis"]["Members"]
    chassis.insert(0, {"Name": "a member without a link"})
    chassis.append({"@odata.id": "/redfish/v1/Chassis/Huge"})
    bmc.tree["/redfish/v1/Chassis/Huge"] = {"Id": 12, "Sensors": {"@odata.id": "/redfish/v1/Chassis/Huge/Sensors"}}
    bmc.tree["/redfish/v1/Chassis/Huge/Sensors"] = {
        "Members": [{"@odata.id": f"/redfish/v1/Chassis/Huge/Sensors/S{i}"} for i in range(10000)]}
    bmc.tree["/redfish/v1/Chassis/Shelf0/ThermalSubsystem"]["ThermalMetrics"] = {"@odata.id": 7}
    bmc.tree["/redfish/v1/Chassis/Shelf0/PowerSubsystem/PowerSupplies/PSU0"]["Id"] = 5
    c = collector()
    agent = tray_agent(tmp_path, broker, certificates, bmc)
    try:
        wait_for_tray_power(c)
        # PSU0's Id is a number: it is named from its URI instead.
        wait_for(lambda: latest(c).get("bmc/tray.Shelf0.psu_PSU0.input_power", ("",))[0] == "ok", timeout=10,
                 what="the shelf's PSUs")
        last = latest(c)
        assert last["bmc/tray.Tray0.TPU0Power"] == ("ok", 812.5)
        assert last["bmc/tray.Tray1.temp_0"] == ("ok", 24.5)
        assert not any(k.startswith("bmc/tray.Huge") for k in last)
        log = agent.log_text()
        assert "/redfish/v1/Chassis: 1 member(s) without a string \"@odata.id\"" in log
        assert "/redfish/v1/Chassis/Huge/Sensors: 10000 members, more than the 4096" in log
        assert bmc.requests < 100, "none of the 10 000 members was fetched"
    finally:
        agent.stop()


def test_bmc_connections_are_close_on_exec(tmp_path, broker, collector, bmcs, certificates):
    """A command run by another driver must not inherit a BMC session's socket."""
    from test_local_users import O_CLOEXEC, fd_flags
    bmc = bmcs()
    c = collector()
    agent = tray_agent(tmp_path, broker, certificates, bmc)
    try:
        wait_for_tray_power(c)
        descriptors = fd_flags(agent.process.pid)
        sockets = {fd: t for fd, (flags, t) in descriptors.items() if "socket:" in t}
        assert len(sockets) >= 3, "the broker, status and BMC sockets"
        assert not {fd: t for fd, (flags, t) in descriptors.items() if fd > 2 and not flags & O_CLOEXEC}
    finally:
        agent.stop()


@pytest.mark.parametrize("expand", [True, False])
def test_the_racks_equipment_pdus_shelves_and_cdus(tmp_path, broker, collector, bmcs, certificates, expand):
    """PowerEquipment and ThermalEquipment from a rack manager's service, collections in pages of 2."""
    bmc = bmcs(equipment=True, page_size=2, expand=expand)
    c = collector()
    (tmp_path / "a").mkdir()
    # 40-odd resources a poll from a Python server: a longer interval than the trays' tests.
    agent = Agent(tmp_path / "a", broker, redfish_driver(certificates, ("rack", bmc.url, ""), interval="4s")).start()
    try:
        wait_for(lambda: agent.status()["catalog"]["sensors"] > 0, timeout=30, what="discovery")
        c.wait_batches(2)
        catalog = max(c.catalogs().values(), key=lambda cat: len(cat.sensors))
        by_id = {s.id: s for s in catalog.sensors}
        where = {i: {(l.key, l.value) for l in s.location} for i, s in by_id.items()}
        assert where["rack.PDU-A.outlet_A5.power"] >= {("pdu", "PDU-A"), ("outlet", "A5")}, "paged, all five"
        assert where["rack.PDU-A.branch_CB2.current"] >= {("pdu", "PDU-A"), ("branch", "CB2")}
        assert by_id["rack.PDU-A.mains_AC1.frequency"].unit == "Hz"
        assert sum(1 for i in by_id if i.startswith("rack.PDU-A.outlet_A1.")) == 4, "A1 listed twice, read once"
        assert where["rack.Shelf-1.psu_PSU2.rail0_voltage"] >= {("shelf", "Shelf-1"), ("psu", "PSU2"), ("rail", "0")}
        assert where["rack.CDU-1.secondary_1.return_temp"] >= {("cdu", "CDU-1"), ("loop", "secondary")}
        assert by_id["rack.CDU-1.pump_2.rpm"].unit == "RPM"
        assert by_id["rack.CDU-1.leak_Manifold.state"].kind == 10  # a state: 0=ok, 1=warning, 2=critical
        assert by_id["rack.RackManager.RackEnergy"].unit == "J", "kind from ReadingUnits"
        assert by_id["rack.RackManager.Odd"].unit == "mm", "an unknown unit is kept"
        assert by_id["rack.RackManager.Inlet"].warn_high == 32 and by_id["rack.RackManager.Inlet"].crit_high == 45
        assert "rack.Tray0.TPU0Temp" in by_id, "the trays' chassis are read as before"
        wait_for(lambda: latest(c).get("bmc/rack.PDU-A.outlet_A5.power", (None,))[0] == "ok", timeout=30,
                 what="equipment values")
        values = latest(c)
        assert values["bmc/rack.PDU-A.outlet_A5.power"][1] == 905
        assert values["bmc/rack.PDU-A.energy"][1] == pytest.approx(1234.5 * 3.6e6)
        assert values["bmc/rack.CDU-1.secondary_1.flow"][1] == 140
        assert values["bmc/rack.CDU-1.leak_Manifold.state"] == ("ok", 2)
        assert values["bmc/rack.CDU-1.leak_Tray3.state"] == ("ok", 0)
        assert values["bmc/rack.RackManager.RackEnergy"][1] == pytest.approx(4321.5 * 3.6e6)
    finally:
        agent.stop()
