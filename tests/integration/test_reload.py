"""Live reload: SIGHUP and `racktel reload`."""

import signal
import subprocess
import time

from conftest import CLI, SANITIZED, SIM_DRIVER, exec_driver, wait_for

A = SIM_DRIVER.format(seed=1).replace('"rack"', '"a"')
B = SIM_DRIVER.format(seed=2).replace('"rack"', '"b"')


def reload_cli(agent):
    return subprocess.run([str(CLI), "reload", "--socket", str(agent.socket)], capture_output=True, text=True, timeout=30)


def test_a_broken_file_changes_nothing(start_agent, collector):
    c = collector()
    agent = start_agent(A)
    c.wait_batches(2)
    good = agent.config.read_text()
    agent.config.write_text(good.replace('name = "a"', 'name = "a"\ncolour = "blue"'))
    agent.signal(signal.SIGHUP)
    wait_for(lambda: agent.status()["reload"]["time_ms"] > 0, what="the reload attempt")
    r = agent.status()["reload"]
    assert r["ok"] is False
    assert any(f'{agent.config}:' in e and 'unknown key "colour"' in e for e in r["errors"])
    text = agent.status(human=True)
    assert "reload     REFUSED" in text and "unknown key" in text
    out = reload_cli(agent)
    assert out.returncode == 1 and "the running one is kept" in out.stderr
    seen = len(c.of("data"))
    c.wait_batches(seen + 2)
    assert len(c.catalogs()) == 1 and agent.process.poll() is None


def test_a_valid_file_reopens_only_what_changed(start_agent, collector):
    c = collector()
    agent = start_agent(A + B)
    c.wait_batches(2)
    changed = agent.config.read_text() + SIM_DRIVER.format(seed=3).replace('"rack"', '"c"')
    changed = changed.replace("seed = 2", "seed = 2\n[[drivers.faults]]\nkind = \"leak\"\ntray = 4")
    changed = changed.replace('keepalive = "2s"', 'keepalive = "3s"')
    agent.config.write_text(changed)
    out = reload_cli(agent)
    assert out.returncode == 0, out.stderr
    assert "reopened b; added c; removed none; unchanged a" in out.stdout
    assert "applied at the next restart: [mqtt]" in out.stdout
    wait_for(lambda: len(c.catalogs()) == 2, what="a new catalog version")
    before = len(c.of("data"))
    c.wait_batches(before + 3)
    new = max(c.catalogs().values(), key=lambda cat: len(cat.sensors))
    assert {s.driver for s in new.sensors} == {"a", "b", "c"}
    batches = c.batches()
    seqs = [b.sequence for b, _ in batches]
    assert seqs == list(range(1, len(seqs) + 1)), "no batch lost or repeated across the reload"
    # "a" kept polling through the reload: a power reading every 100 ms, no tick missing.
    times = sorted({t for _, rs in batches for t, k, s, v in rs if k == "a/chip00.power"})
    assert {y - x for x, y in zip(times, times[1:])} == {100}
    leak = [v for _, rs in batches for t, k, s, v in rs if k == "b/tray04.leak"]
    assert leak[-1] == 1.0, "b runs with its new table"
    drivers = {d["name"]: d for d in agent.status()["drivers"]}
    assert set(drivers) == {"a", "b", "c"} and all(d["state"] == "running" for d in drivers.values())


def _many_sims(n, prefix="s"):
    return "".join(SIM_DRIVER.format(seed=i).replace('"rack"', f'"{prefix}{i}"') for i in range(n))


def test_a_storm_of_reload_requests_is_served_by_a_few_reloads(start_agent):
    import json
    import socket
    agent = start_agent(A + _many_sims(40))
    wait_for(lambda: agent.status()["sensors"]["total"] > 40 * 1000, what="the big rack")
    # Ten clients ask at the same instant, and twenty SIGHUPs arrive with them.
    clients = []
    for _ in range(10):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(120)
        s.connect(str(agent.socket))
        clients.append(s)
    for s in clients:
        s.sendall(b"reload\n")
    for _ in range(20):
        agent.signal(signal.SIGHUP)
    answers = []
    for s in clients:
        data = b""
        while chunk := s.recv(65536):
            data += chunk
        s.close()
        answers.append(json.loads(data))
    assert all(a["ok"] for a in answers), answers
    wait_for(lambda: agent.status()["reload"]["count"] >= 1 and "SIGHUP" in agent.log_text(), what="the reloads")
    time.sleep(1)  # let a coalesced follow-up reload, if any, finish
    count = agent.status()["reload"]["count"]
    # One reload serves what arrived before it read the file; one more serves what came during it. On a
    # loaded machine the thirty requests (ten clients, twenty signals) can spread over a few reloads'
    # time: coalescing is what is checked, thirty requests served by a handful of reloads, not thirty.
    assert 1 <= count <= 5, f"{count} reloads for 30 requests"


def test_threads_and_memory_stay_flat_over_add_and_remove_cycles(start_agent):
    """Lanes of removed instances are released: 100 cycles of adding and
    removing 10 exec instances (one lane thread each) leave no threads behind."""
    agent = start_agent(A)
    base = agent.config.read_text()
    extra = "".join(exec_driver(f"e{i}", "echo x v=1") for i in range(10))

    def threads_and_anon():
        fields = {}
        for line in open(f"/proc/{agent.process.pid}/status"):
            key, _, value = line.partition(":")
            fields[key] = value.split()
        return int(fields["Threads"][0]), int(fields["RssAnon"][0])

    samples = {}
    for cycle in range(1, 101):
        agent.config.write_text(base + extra)
        assert reload_cli(agent).returncode == 0
        agent.config.write_text(base)
        assert reload_cli(agent).returncode == 0
        if cycle == 10:
            wait_for(lambda: threads_and_anon()[0] <= 8, timeout=10, what="lanes of removed instances ending")
            samples[cycle] = threads_and_anon()
        if cycle == 100:
            # Lanes end on their own after their instance goes: under load that takes a moment.
            wait_for(lambda: threads_and_anon()[0] <= samples[10][0], timeout=30,
                     what="as few threads as after 10 cycles")
            samples[cycle] = threads_and_anon()
    (threads10, anon10), (threads100, anon100) = samples[10], samples[100]
    assert threads100 <= threads10, samples
    if not SANITIZED:  # AddressSanitizer keeps freed memory in quarantine, by design
        assert anon100 - anon10 < 4 * 1024, f"RssAnon grew from {anon10} to {anon100} KiB"


def test_the_retained_state_follows_the_catalog(start_agent, collector):
    """After a reload that adds a driver, the retained AgentState names the new
    catalog version and sensor count, not the old ones."""
    c = collector()
    agent = start_agent(A)
    wait_for(lambda: c.states() and c.catalogs(), what="state and catalog")
    first = c.states()[-1]
    agent.config.write_text(agent.config.read_text() + B)
    assert reload_cli(agent).returncode == 0
    wait_for(lambda: len(c.catalogs()) == 2, what="the new catalog")
    new = max(c.catalogs().values(), key=lambda cat: len(cat.sensors))
    wait_for(lambda: c.states()[-1].catalog_version == new.version, what="a state naming the new catalog")
    state = c.states()[-1]
    assert state.sensors == len(new.sensors) == 2 * first.sensors
    assert state.boot_id == first.boot_id
