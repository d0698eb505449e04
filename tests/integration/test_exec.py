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
