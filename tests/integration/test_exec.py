"""The exec driver end to end: a script's output through the agent to the broker."""

import os


def test_a_command_output_is_published_and_its_stderr_logged(tmp_path, start_agent, collector):
    script = tmp_path / "read-pdu"
    script.write_text("#!/bin/sh\n"
                      "echo 'warning: outlet 7 not responding' >&2\n"
                      "echo 'pdu,outlet=1 power=812.5,current=3.52'\n"
                      "echo 'pdu,outlet=2 power=0i'\n")
    os.chmod(script, 0o755)
    c = collector()
    agent = start_agent(f"""
[[drivers]]
name = "pdu"
type = "exec"
interval = "500ms"
command = ["{script}"]
format = "influx"
resolution = 0.01
""")
    batches = c.wait_batches(3)
    wait_for_catalog = [cat for cat in c.catalogs().values() if len(cat.sensors) == 3]
    assert wait_for_catalog, "the catalog learnt from the command's output"
    sensor = next(s for s in wait_for_catalog[0].sensors if s.id == "pdu.1.power")
    assert {(l.key, l.value) for l in sensor.location} == {("outlet", "1")}
    values = {k: v for _, rs in batches for _, k, s, v in rs if s == "ok"}
    assert values["pdu/pdu.1.power"] == 812.5
    assert values["pdu/pdu.1.current"] == 3.52
    assert "stderr: warning: outlet 7 not responding" in agent.log_text()


def test_shutdown_cancels_busy_commands_at_once_and_leaves_no_child(tmp_path, start_agent):
    import shutil
    import signal
    import subprocess
    from conftest import exec_driver, wait_for
    marker = f"rkbusy{os.getpid() % 100000}"  # a process name (at most 15 characters) of our own
    sleeper = tmp_path / marker
    shutil.copy("/bin/sleep", sleeper)
    drivers = "".join(exec_driver(f"busy{i}", f"{sleeper} 50; echo x v=1", "3s", 'deadline = "2900ms"')
                      for i in range(10))
    agent = start_agent(drivers)

    def running():
        out = subprocess.run(["pgrep", "-x", "-c", marker], capture_output=True, text=True)
        return int(out.stdout.strip() or 0)

    wait_for(lambda: running() == 10, what="ten commands in their read")
    agent.signal(signal.SIGTERM)
    # Well inside the unit's TimeoutStopSec=15s: the reads are cancelled, the
    # lanes end together, and the reapers take their commands with them.
    assert agent.wait(timeout=10) == 0, agent.log_text()[-4000:]  # an exception out of the main loop exits 1: say which
    assert running() == 0, "a command outlived the agent"


def test_a_failing_command_is_a_failure_in_every_count(start_agent, collector):
    from conftest import exec_driver, wait_for
    c = collector()
    agent = start_agent(exec_driver("broken", "echo x v=1; exit 3", "200ms"))
    wait_for(lambda: agent.status()["drivers"][0]["groups"][0]["driver_failures"] >= 3, what="failed reads counted")
    group = agent.status()["drivers"][0]["groups"][0]
    assert group["reads"] == 0 and group["last_ok_ms"] == 0, group
    text = agent.status(human=True)
    assert "last ok never" in text and "failed " in text
    assert "exited with status 3" in agent.log_text()
