"""systemd integration: sd_notify readiness, status and watchdog; the unit file."""

import os
import shutil
import socket
import subprocess
import time

import pytest

from conftest import AGENT, BUILD, SOURCE, SIM_DRIVER, Agent, wait_for


class NotifySocket:
    """What systemd does for Type=notify: a datagram socket the service writes to."""

    def __init__(self, path):
        self.path = str(path)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.sock.settimeout(0.1)
        self.messages = []  # (monotonic time, text)

    def drain(self):
        while True:
            try:
                data = self.sock.recv(4096)
            except socket.timeout:
                return self.messages
            self.messages.append((time.monotonic(), data.decode()))

    def with_(self, field):
        return [(t, m) for t, m in self.drain() if any(line.startswith(field) for line in m.splitlines())]


def test_ready_status_and_a_watchdog_fed_only_by_the_main_loop(tmp_path, broker, monkeypatch):
    notify = NotifySocket(tmp_path / "notify")
    monkeypatch.setenv("NOTIFY_SOCKET", notify.path)
    monkeypatch.setenv("WATCHDOG_USEC", "400000")  # WatchdogSec=0.4s: a ping every 200 ms
    (tmp_path / "a").mkdir()
    agent = Agent(tmp_path / "a", broker, SIM_DRIVER.format(seed=1))
    agent.process = subprocess.Popen([str(AGENT), "--config", str(agent.config), "--enable-test-hooks"],
                                     stdout=open(agent.log, "ab"), stderr=subprocess.STDOUT)
    try:
        ready = wait_for(lambda: notify.with_("READY=1"), what="READY=1")
        assert "STATUS=" in ready[0][1] and "1365 sensors" in ready[0][1]
        wait_for(lambda: len(notify.with_("WATCHDOG=1")) >= 5, what="watchdog pings")
        wait_for(lambda: any("broker 127.0.0.1" in m or "broker tcp://" in m for _, m in notify.with_("STATUS=")),
                 timeout=10, what="a STATUS line naming the broker")

        # Block the main loop for 1.5 s: the pings must stop, though every other thread runs on.
        stall_start = time.monotonic()
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.connect(str(agent.socket))
            s.sendall(b"test-stall 1500\n")
            s.recv(100)
        stall_end = time.monotonic()
        assert stall_end - stall_start >= 1.4
        time.sleep(0.5)
        pings = [t for t, _ in notify.with_("WATCHDOG=1")]
        during = [t for t in pings if stall_start + 0.3 < t < stall_end - 0.1]
        assert during == [], "no WATCHDOG=1 while the main loop was blocked"
        assert any(t > stall_end for t in pings), "the pings resume once the loop runs again"

        agent.signal(15)
        assert agent.wait() == 0
        assert notify.with_("STOPPING=1")
    finally:
        agent.stop()


UNITS = [("racktel.service", "/usr/bin/racktel-agent", AGENT),
         ("racktel-ingest.service", "/usr/bin/racktel-ingest", BUILD / "ingest" / "racktel-ingest")]


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
@pytest.mark.parametrize("unit_name,installed,built", UNITS)
def test_the_unit_file_verifies(tmp_path, unit_name, installed, built):
    unit_dir = tmp_path / "units"
    unit_dir.mkdir()
    shutil.copy(SOURCE / "systemd" / unit_name, unit_dir)
    # systemd-analyze verify checks ExecStart= exists: point it at the built binary.
    text = (unit_dir / unit_name).read_text().replace(installed, str(built))
    (unit_dir / unit_name).write_text(text)
    out = subprocess.run(["systemd-analyze", "verify", str(unit_dir / unit_name)], capture_output=True,
                         text=True, env={**os.environ, "SYSTEMD_LOG_LEVEL": "warning"})
    problems = [l for l in (out.stdout + out.stderr).splitlines() if unit_name in l]
    assert out.returncode == 0 and not problems, out.stdout + out.stderr


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
@pytest.mark.parametrize("unit_name,installed,built", UNITS)
def test_the_unit_stays_well_sandboxed(tmp_path, unit_name, installed, built):
    """systemd-analyze security: keep the exposure score where docs/deployment.md says it is."""
    unit = tmp_path / unit_name
    unit.write_text((SOURCE / "systemd" / unit_name).read_text().replace(installed, str(built)))
    out = subprocess.run(["systemd-analyze", "security", "--offline=true", str(unit)], capture_output=True, text=True)
    line = [l for l in out.stdout.splitlines() if "Overall exposure level" in l]
    assert line, out.stdout + out.stderr
    score = float(line[0].split(":")[1].split()[0])
    assert score <= 1.5, line[0]


@pytest.mark.parametrize("unit_name", ["racktel.service", "racktel-ingest.service"])
def test_the_unit_bounds_descriptors_tasks_and_memory(unit_name):
    """A leak or a runaway command hurts only this service."""
    settings = dict(line.split("=", 1) for line in (SOURCE / "systemd" / unit_name).read_text().splitlines()
                    if "=" in line and not line.startswith("#"))
    assert int(settings["LimitNOFILE"]) >= 1024
    assert int(settings["TasksMax"]) > 0
    assert settings["MemoryMax"].endswith(("M", "G"))


def test_under_the_journal_lines_carry_priorities_and_no_timestamp(start_agent, tmp_path):
    """systemd sets JOURNAL_STREAM for a service whose stderr is the journal:
    then every line starts with its sd-daemon priority, so `journalctl -p err`
    works, and the journal's own timestamp is the only one."""
    agent = start_agent()
    agent.stop()
    import re
    import select
    # A broker nothing listens on: a warning and an error follow at once.
    text = re.sub(r'brokers = \[[^\]]*\]', 'brokers = ["tcp://127.0.0.1:1"]', agent.config.read_text())
    agent.config.write_text(text)
    env = {**os.environ, "JOURNAL_STREAM": "8:12345"}
    process = subprocess.Popen([str(AGENT), "--config", str(agent.config)], stderr=subprocess.PIPE, env=env)
    try:
        # Raw reads: a buffered readline would hold a second line that select() no longer sees.
        text = b""
        deadline = time.monotonic() + 15
        refused = "<3>error: mqtt: cannot connect to tcp://127.0.0.1:1: Connection refused"
        while time.monotonic() < deadline and refused.encode() not in text:
            if select.select([process.stderr], [], [], 0.5)[0]:
                text += os.read(process.stderr.fileno(), 65536)
        lines = text.decode().splitlines()
    finally:
        process.terminate()
        process.wait(timeout=15)
    assert lines and all(l.startswith(("<6>", "<4>", "<3>", "<7>")) for l in lines if l), lines
    assert any(l.startswith("<6>info: racktel-agent") for l in lines)
    assert any(l.startswith("<4>warning: mqtt: cannot connect") for l in lines), lines
    assert any(l.startswith(refused) for l in lines), lines
    assert not any(l[3:7].isdigit() for l in lines if l), "no timestamp of our own"


def test_systemd_does_not_restart_an_agent_whose_configuration_is_invalid(tmp_path):
    """Exit 2 is the agent's "configuration rejected"; a restart loop cannot fix it."""
    settings = dict(line.split("=", 1) for line in (SOURCE / "systemd" / "racktel.service").read_text().splitlines()
                    if "=" in line and not line.startswith("#"))
    config = tmp_path / "racktel.toml"
    config.write_text('[agent]\nsite = "lab"\nrack = "r01"\n[mqtt]\nbrokers = ["tcp://127.0.0.1:1"]\n'
                      '[[drivers]]\nname = "rack"\ntype = "sim"\ngroup_intervals = { powr = "1s" }\n')
    started = subprocess.run([str(AGENT), "--config", str(config)], capture_output=True, text=True, timeout=30)
    assert str(started.returncode) in settings["RestartPreventExitStatus"].split()
    assert 'unknown read group "powr"' in started.stderr
