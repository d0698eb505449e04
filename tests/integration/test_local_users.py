"""What local neighbours can do to a running agent: its descriptors, its
status socket (idle clients, descriptor exhaustion, unprivileged callers), its
socket path and its state directory."""

import json
import os
import socket
import subprocess
import time

import pytest

from conftest import AGENT, SANITIZED, wait_for

O_CLOEXEC = 0o2000000
NOBODY = 65534   # Debian's nobody user and nogroup group
NOGROUP = 65534


def fd_flags(pid):
    """{fd: (flags, target)} of every descriptor of a process."""
    out = {}
    for name in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{name}")
            with open(f"/proc/{pid}/fdinfo/{name}") as f:
                flags = int(next(line for line in f if line.startswith("flags:")).split()[1], 8)
        except (FileNotFoundError, StopIteration):
            continue
        out[int(name)] = (flags, target)
    return out


def ask(socket_path, command, timeout=5):
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(str(socket_path))
        s.sendall(command.encode() + b"\n")
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    return json.loads(data)


def ask_as(uid, gid, socket_path, command):
    """Runs `ask` in a child process that has dropped to uid/gid (the tests run as root)."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(read_end)
            os.setgroups([])
            os.setgid(gid)
            os.setuid(uid)
            reply = json.dumps(ask(socket_path, command)).encode()
        except Exception as e:  # reported to the parent, which fails the test
            reply = json.dumps({"child_error": repr(e)}).encode()
        os.write(write_end, reply)
        os._exit(0)
    os.close(write_end)
    data = b""
    while chunk := os.read(read_end, 65536):
        data += chunk
    os.close(read_end)
    os.waitpid(pid, 0)
    return json.loads(data)


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_every_descriptor_of_the_agent_is_close_on_exec_and_commands_inherit_none(start_agent, collector, tmp_path):
    c = collector()
    agent = start_agent("""
[[drivers]]
name = "rack"
type = "sim"
seed = 1

[[drivers]]
name = "probe"
type = "exec"
interval = "500ms"
format = "influx"
shell = "echo fds count=$(ls /proc/self/fd | wc -l)"
""")
    wait_for(lambda: agent.status()["broker"]["connected"], what="broker connection")
    c.wait_batches(2)
    # A status client in the middle of its session holds an accepted socket too.
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as idle:
        idle.connect(str(agent.socket))
        time.sleep(0.2)
        descriptors = fd_flags(agent.process.pid)
    open_without = {fd: target for fd, (flags, target) in descriptors.items() if fd > 2 and not flags & O_CLOEXEC}
    assert not open_without, f"descriptors without close-on-exec: {open_without}"
    assert any("socket:" in t for _, t in descriptors.values()), "the broker and status sockets were checked"
    counts = [v for _, readings in c.batches() for _, key, status, v in readings if key == "probe/fds.count"]
    assert counts and set(counts) == {4.0}, "stdin, stdout, stderr and the directory ls reads: nothing else"


def test_idle_clients_are_timed_out_and_status_still_answers(start_agent):
    agent = start_agent()
    idle = []
    for _ in range(100):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(str(agent.socket))
        idle.append(s)
    try:
        # Past the connection cap the agent answers "busy" at once, and drops
        # clients that say nothing within the session timeout: status comes back.
        def status_answers():
            try:
                return "sensors" in ask(agent.socket, "status")
            except (OSError, ValueError):
                return False
        wait_for(status_answers, timeout=20, what="racktel status past 100 idle clients")
        dropped = 0
        for s in idle:
            s.settimeout(10)
            try:
                s.recv(1024)  # the agent closed it (EOF) or answered "busy" and closed
                dropped += 1
            except OSError:
                pass
        assert dropped == len(idle)
    finally:
        for s in idle:
            s.close()


@pytest.mark.skipif(SANITIZED, reason="the sanitizers' runtime needs descriptors of its own to check memory: "
                                      "out of them, it reports false errors")
def test_out_of_descriptors_the_accept_loop_backs_off_and_recovers(start_agent):
    agent = start_agent()
    pid = agent.process.pid
    in_use = len(os.listdir(f"/proc/{pid}/fd"))
    soft = subprocess.run(["prlimit", f"--pid={pid}", "--nofile", "--output=SOFT", "--noheadings"],
                          check=True, capture_output=True, text=True).stdout.strip()
    subprocess.run(["prlimit", f"--pid={pid}", f"--nofile={in_use + 2}:"], check=True)
    clients = []
    try:
        for _ in range(10):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(str(agent.socket))  # completes in the kernel's backlog even if accept fails
            clients.append(s)
        wait_for(lambda: "cannot accept" in agent.log_text(), what="the accept error in the log")
        before = cpu_seconds(pid)
        time.sleep(2)
        used = cpu_seconds(pid) - before
        assert used < 0.5, f"the agent used {used:.2f} s of CPU in 2 s: the accept loop spins"
    finally:
        for s in clients:
            s.close()
        subprocess.run(["prlimit", f"--pid={pid}", f"--nofile={soft}:"], check=True)
    wait_for(lambda: "sensors" in ask(agent.socket, "status"), what="status after the descriptors came back")
    # Said once per episode: under load a freed descriptor may end one episode and start another.
    log = agent.log_text()
    assert log.count("cannot accept") == log.count("accepting connections again") >= 1, "said once per episode"


def test_only_privileged_callers_may_reload_or_open_maintenance_windows(start_agent, tmp_path):
    agent = start_agent()
    # Let an unprivileged user reach the socket at all (pytest's directories are 0700).
    os.chmod(agent.socket, 0o666)
    for parent in agent.socket.parents:
        if parent == tmp_path.parent.parent.parent:  # /tmp/pytest-of-<user> is the last one to open
            break
        os.chmod(parent, os.stat(parent).st_mode | 0o111)
    as_nobody = ask_as(NOBODY, NOGROUP, agent.socket, "status")
    assert "sensors" in as_nobody, as_nobody
    refused = ask_as(NOBODY, NOGROUP, agent.socket, "reload")
    assert refused["ok"] is False and "not allowed" in refused["message"], refused
    assert "reload refused to uid 65534" in agent.log_text()
    assert agent.status()["reload"]["time_ms"] == 0, "nothing was reloaded"

    # Maintenance windows: anyone who may connect may list them; opening one changes the agent.
    window = 'maintenance start {"match":"*","for":"1h","reason":"cabling","by":"mallory"}'
    assert ask_as(NOBODY, NOGROUP, agent.socket, "maintenance list")["windows"] == []
    refused = ask_as(NOBODY, NOGROUP, agent.socket, window)
    assert refused["ok"] is False and "not allowed" in refused["message"], refused
    assert "maintenance start refused to uid 65534" in agent.log_text()
    assert agent.status()["maintenance"] == []
    # Checking the rack is reading; publishing the acceptance report is not.
    check = json.dumps({"expect": '[drivers]\nall_running = true\n', "source": "x.toml", "publish": True})
    report = ask_as(NOBODY, NOGROUP, agent.socket, "commission " + check)
    assert report["published"] is False and "not allowed" in report["message"], report

    # [agent] control_groups lets a group's members change the agent; root may always.
    agent.config.write_text(agent.config.read_text().replace('[agent]\n', '[agent]\ncontrol_groups = ["nogroup"]\n'))
    assert ask(agent.socket, "reload")["ok"] is True
    allowed = ask_as(NOBODY, NOGROUP, agent.socket, "reload")
    assert allowed["ok"] is True, allowed
    opened = ask_as(NOBODY, NOGROUP, agent.socket, window)
    assert opened["ok"] is True, opened
    # The name a caller gives is kept with the one the kernel says it is.
    assert opened["window"]["by"] == "mallory (nobody)"
    ended = ask_as(NOBODY, NOGROUP, agent.socket, f"maintenance end {opened['window']['id']}")
    assert ended["ok"] is True, ended


def test_a_status_socket_path_that_is_a_regular_file_is_not_deleted(start_agent, tmp_path):
    precious = tmp_path / "precious.txt"
    precious.write_text("do not delete\n")
    agent = start_agent(extra="")  # a normal agent, for the broker fixture
    agent.stop()
    text = agent.config.read_text().replace(f'status_socket = "{agent.socket}"', f'status_socket = "{precious}"')
    agent.config.write_text(text)
    process = subprocess.Popen([str(AGENT), "--config", str(agent.config)], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    try:
        time.sleep(1.5)
        assert process.poll() is None, "the agent runs on without its status socket"
        assert precious.read_text() == "do not delete\n"
    finally:
        process.terminate()
        out = process.communicate(timeout=15)[0]
    assert f"status socket {precious} exists and is not a socket" in out


def test_a_second_agent_on_the_same_state_directory_refuses_to_start(start_agent):
    first = start_agent()
    second = subprocess.run([str(AGENT), "--config", str(first.config)], capture_output=True, text=True, timeout=30)
    assert second.returncode != 0
    assert f"another racktel-agent (pid {first.process.pid}) is using" in second.stderr
    assert first.process.poll() is None
    assert "sensors" in first.status(), "the first agent keeps its status socket"
    # A stale socket (nothing answers) is replaced at start: kill the agent and start another.
    first.process.kill()
    first.process.wait()
    assert first.socket.exists()
    restarted = subprocess.Popen([str(AGENT), "--config", str(first.config)], stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: _answers(first.socket), what="the new agent's status socket")
    finally:
        restarted.terminate()
        restarted.wait(timeout=15)


def _answers(path):
    try:
        return "sensors" in ask(path, "status")
    except (OSError, ValueError):
        return False


def test_a_state_directory_others_can_write_is_warned_about(start_agent, tmp_path):
    agent = start_agent()
    agent.stop()
    state = agent.directory / "state"
    os.chmod(state, 0o777)
    agent.start()
    assert "is writable by its group or by everyone (mode 0777)" in agent.log_text()


def test_spool_inspect_as_a_user_who_cannot_read_says_so(start_agent, tmp_path):
    from conftest import CLI
    agent = start_agent()
    spool = agent.directory / "state" / "spool"
    wait_for(lambda: any(p.name.startswith("segment-") for p in spool.iterdir()), what="a spool segment")
    for parent in [spool] + list(spool.parents):
        if parent == tmp_path.parent.parent.parent:
            break
        os.chmod(parent, os.stat(parent).st_mode | 0o111)
    out = subprocess.run([str(CLI), "spool", "inspect", str(spool)], capture_output=True, text=True, timeout=30,
                         user=NOBODY, group=NOGROUP, extra_groups=[])
    assert out.returncode == 1, out.stdout + out.stderr
    assert "cannot read" in out.stderr and "Permission denied" in out.stderr
    assert "DAMAGED" not in out.stdout


def test_a_caller_outside_the_sockets_group_is_told_to_join_it(start_agent, tmp_path):
    from conftest import CLI
    agent = start_agent()
    os.chown(agent.socket, 0, NOGROUP)  # the socket's group, as the package's "racktel" group would be
    for parent in agent.socket.parents:
        if parent == tmp_path.parent.parent.parent:
            break
        os.chmod(parent, os.stat(parent).st_mode | 0o111)
    out = subprocess.run([str(CLI), "status", "--socket", str(agent.socket)], capture_output=True, text=True,
                         timeout=30, user=NOBODY, group=65533 if NOGROUP != 65533 else 1, extra_groups=[])
    assert out.returncode == 1
    assert "Permission denied" in out.stderr
    assert 'members of group "nogroup" may use its socket' in out.stderr
    assert "sudo usermod -aG nogroup $USER" in out.stderr
    assert "is racktel-agent running?" not in out.stderr  # it is: do not send them looking for it
