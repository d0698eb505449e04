"""Store and forward: the disk spool through restarts, kills, damage, outages and a full disk."""

import os
import random
import signal
import subprocess
import time

import pytest

import racktel_stream
from conftest import CLI, Agent, Broker, Collector, SIM_DRIVER, broker_outage, wait_for

FOUR_RACKS = "".join(SIM_DRIVER.format(seed=i).replace('"rack"', f'"rack{i}"') for i in range(1, 5))


def sequences(collector):
    return collector.sequences()


def inspect(spool_dir, *args):
    return subprocess.run([str(CLI), "spool", "inspect", str(spool_dir), *args], capture_output=True, text=True,
                          timeout=30)


def test_a_restart_resends_what_was_not_acknowledged_in_order(tmp_path, broker):
    broker.stop()  # the broker is away while the first run collects
    (tmp_path / "a").mkdir()
    first = Agent(tmp_path / "a", broker, SIM_DRIVER.format(seed=1)).start()
    wait_for(lambda: first.status()["spool"]["pending_batches"] >= 3, what="batches in the spool")
    first.stop()
    out = inspect(tmp_path / "a" / "state" / "spool", "--json")
    assert out.returncode == 0, out.stdout + out.stderr
    import json
    summary = json.loads(out.stdout)
    pending_before = summary["undelivered_batches"]
    assert pending_before >= 3

    broker.start()
    c = Collector(broker)
    try:
        second = Agent(tmp_path / "a", broker, SIM_DRIVER.format(seed=1)).start()
        wait_for(lambda: second.status()["spool"]["pending_batches"] == 0, what="backlog drained")
        c.wait_batches(pending_before + 2)
        batches = [b for b, _ in c.batches()]
        replayed = [b for b in batches if b.replayed]
        live = [b for b in batches if not b.replayed]
        assert [b.sequence for b in replayed][:pending_before] == list(range(1, pending_before + 1))
        assert len({b.boot_id for b in replayed[:pending_before]}) == 1
        assert live and live[0].boot_id != replayed[0].boot_id
        # Sequences continue across the restart: no reuse, no gap.
        assert sorted({b.sequence for b in batches}) == list(range(1, max(b.sequence for b in batches) + 1))
        status = second.status()
        assert status["spool"]["recovered_batches"] == pending_before
        assert status["publish"]["replayed_batches"] >= pending_before
        second.stop()
    finally:
        c.close()


def test_a_backlog_whose_catalog_changed_at_restart_brings_its_own_catalog(tmp_path, broker):
    """Batches spooled under one sensor set and replayed after a restart with
    another: their catalog is published again, unretained, before them, while
    the retained catalog stays the current one."""
    broker.stop()
    (tmp_path / "a").mkdir()
    first = Agent(tmp_path / "a", broker, SIM_DRIVER.format(seed=1)).start()
    wait_for(lambda: first.status()["spool"]["pending_batches"] >= 3, what="batches in the spool")
    first.stop()
    import json
    summary = json.loads(inspect(tmp_path / "a" / "state" / "spool", "--json").stdout)
    pending = summary["undelivered_batches"]

    broker.start()
    c = Collector(broker)
    # Tray 3 is gone by the restart: a new sensor set, a new catalog version.
    changed = SIM_DRIVER.format(seed=1) + '[[drivers.faults]]\nkind = "missing_tray"\ntray = 3\n'
    second = Agent(tmp_path / "a", broker, changed)
    try:
        second.start()
        wait_for(lambda: second.status()["spool"]["pending_batches"] == 0, what="backlog drained")
        c.wait_batches(pending + 1)
        current = int(second.status()["catalog"]["version"], 16)
        with c.lock:
            messages = list(c.messages)
        catalogs = [(i, racktel_stream.decode_catalog(m[2]).version, m[3]) for i, m in enumerate(messages)
                    if m[1].endswith("/catalog")]
        old = [(i, v) for i, v, _ in catalogs if v != current]
        assert old, "the replayed batches' catalog was published"
        old_index, old_version = old[0]
        # It was not retained: a console that subscribes now gets the current catalog.
        late = Collector(broker)
        try:
            wait_for(lambda: late.of("catalog"), what="the retained catalog")
            assert [racktel_stream.decode_catalog(m[2]).version for m in late.of("catalog")] == [current]
            assert late.of("catalog")[0][3] is True, "delivered as retained"
        finally:
            late.close()
        replayed = []
        for i, m in enumerate(messages):
            if m[1].endswith("/data"):
                b = racktel_stream.pb.DataBatch()
                b.ParseFromString(m[2])
                if b.replayed:
                    replayed.append((i, b))
        assert len(replayed) >= pending
        assert all(b.catalog_version == old_version for _, b in replayed[:pending])
        assert old_index < replayed[0][0], "the catalog arrives before the first batch that needs it"
        # And every one of them decodes against it (the collector decodes by version).
        assert all(len(r) > 0 for b, r in c.batches() if b.replayed)
    finally:
        second.stop()
        c.close()


def test_thirty_kills_with_broker_outages_lose_nothing(tmp_path):
    """SIGKILL at random moments while publishing fast; the broker goes down and up between kills."""
    rng = random.Random(20261127)
    (tmp_path / "broker").mkdir()
    broker = Broker(tmp_path / "broker", persistent=True)
    broker.start()
    c = Collector(broker, persistent=True)
    (tmp_path / "agent").mkdir()
    extra = '[batch]\ninterval = "200ms"'
    kills = 0
    try:
        for round_ in range(30):
            agent = Agent(tmp_path / "agent", broker, FOUR_RACKS, extra).start()
            time.sleep(rng.uniform(0.3, 1.2))
            agent.signal(signal.SIGKILL)
            agent.wait()
            kills += 1
            if round_ % 5 == 2:
                broker.stop()
                agent = Agent(tmp_path / "agent", broker, FOUR_RACKS, extra).start()  # runs without a broker
                time.sleep(rng.uniform(0.3, 1.0))
                agent.signal(signal.SIGKILL)
                agent.wait()
                kills += 1
                broker.start()
        final = Agent(tmp_path / "agent", broker, FOUR_RACKS, extra).start()
        wait_for(lambda: final.status()["spool"]["pending_batches"] == 0 and final.status()["broker"]["connected"],
                 timeout=60, what="everything delivered")
        def complete():
            got = set(sequences(c))
            return got >= set(range(1, max(got) + 1))
        wait_for(complete, timeout=30, what="the collector to have every sequence")
        seen = sequences(c)
        duplicates = len(seen) - len(set(seen))
        print(f"{kills} kills, {max(seen)} batches, {duplicates} duplicates")
        assert kills >= 30
        assert set(seen) == set(range(1, max(seen) + 1)), "a gap: a durable batch was lost"
        final.stop()
    finally:
        c.close()
        broker.stop()


def test_crafted_damage_is_skipped_and_everything_else_delivered(tmp_path, broker):
    broker.stop()
    (tmp_path / "a").mkdir()
    agent = Agent(tmp_path / "a", broker, SIM_DRIVER.format(seed=1), '[spool]\nsegment_size = "64KiB"')
    agent.start()
    wait_for(lambda: agent.status()["spool"]["segments"] >= 4, timeout=30, what="several segments")
    agent.stop()
    spool = tmp_path / "a" / "state" / "spool"
    import json
    records = [json.loads(l) for l in inspect(spool, "--dump").stdout.splitlines()]
    batches = [r for r in records if r["type"] == "batch"]
    by_segment = {}
    for r in batches:
        by_segment.setdefault(r["segment"], []).append(r)
    names = sorted(by_segment)
    assert len(names) >= 3
    # 1. flip a bit in the middle of a batch in the first segment
    victim = by_segment[names[0]][1]
    data = bytearray((spool / names[0]).read_bytes())
    data[victim["offset"] + 60] ^= 0x40
    (spool / names[0]).write_bytes(bytes(data))
    # 2. tear the tail of the last segment (half of its last record)
    torn = by_segment[names[-1]][-1]
    data = (spool / names[-1]).read_bytes()
    (spool / names[-1]).write_bytes(data[: torn["offset"] + torn["size"] // 2])
    # 3. a truncated segment header, a zero-length segment, a foreign file
    (spool / "segment-00000000000000009000.rts").write_bytes(b"RKTLSP")
    (spool / "segment-00000000000000009001.rts").write_bytes(b"")
    (spool / "core.1234").write_bytes(b"not ours")

    out = inspect(spool)
    assert out.returncode == 2
    assert "DAMAGED records" in out.stdout and "TORN tail" in out.stdout and "truncated segment header" in out.stdout

    expected = {r["sequence"] for r in batches} - {victim["sequence"], torn["sequence"]}
    broker.start()
    c = Collector(broker)
    try:
        again = Agent(tmp_path / "a", broker, SIM_DRIVER.format(seed=1)).start()
        wait_for(lambda: again.status()["spool"]["pending_batches"] == 0, timeout=30, what="drain")
        wait_for(lambda: set(sequences(c)) >= expected, what="every intact batch")
        s = again.status()["spool"]
        assert s["corrupt_records"] == 1
        assert s["torn_bytes"] > 0
        assert s["quarantined"] == ["segment-00000000000000009000.rts: truncated segment header"]
        assert s["ignored"] == ["core.1234"]
        assert (spool / "quarantine" / "segment-00000000000000009000.rts").exists()
        assert not (spool / "segment-00000000000000009001.rts").exists()
        # The damaged batch never arrives; the torn one neither, though the new
        # run may reuse its number (it continues from the last intact batch).
        assert victim["sequence"] not in sequences(c)
        new_boot = again.status()["boot_id"]
        assert all(b.boot_id.hex() == new_boot for b, _ in c.batches() if b.sequence == torn["sequence"])
        text = again.status(human=True)
        assert "quarantined segment-00000000000000009000.rts" in text
        again.stop()
    finally:
        c.close()


def test_an_outage_at_eight_times_the_load_is_drained_completely(tmp_path, broker):
    racks = "".join(SIM_DRIVER.format(seed=i).replace('"rack"', f'"rack{i}"') for i in range(1, 9))
    c = Collector(broker, persistent=False)
    (tmp_path / "a").mkdir()
    agent = Agent(tmp_path / "a", broker, racks).start()
    try:
        c.wait_batches(2)
        # 8 racks for 14 batches: nearly two minutes of one rack's data.
        c = broker_outage(broker, agent, c, lambda s: s["spool"]["pending_batches"] >= 14, what="14 batches spooled")
        start = time.monotonic()
        wait_for(lambda: agent.status()["spool"]["pending_batches"] <= 1 and agent.status()["queue"]["backlog"] == 0,
                 timeout=60, what="backlog drained")
        drained_in = time.monotonic() - start
        s = agent.status()
        assert s["queue"]["dropped_readings"] == 0
        batches = c.wait_batches(s["publish"]["replayed_batches"])
        replayed = [b for b, _ in batches if b.replayed]
        assert len(replayed) >= 14
        assert [b.sequence for b in replayed] == sorted(b.sequence for b in replayed), "oldest first"
        print(f"drained {len(replayed)} backlog batches in {drained_in:.1f}s")
    finally:
        agent.stop()
        c.close()


def test_beyond_the_cap_exactly_the_dropped_readings_are_missing_oldest_first(tmp_path, broker):
    c = Collector(broker)
    (tmp_path / "a").mkdir()
    two_racks = SIM_DRIVER.format(seed=1) + SIM_DRIVER.format(seed=2).replace('"rack"', '"rack2"')
    # The catalog of 2730 sensors is about 340 KB of the 512 KiB; batches get the rest.
    agent = Agent(tmp_path / "a", broker, two_racks,
                  '[spool]\nsegment_size = "64KiB"\nmax_size = "512KiB"').start()
    try:
        c.wait_batches(2)
        spool_bytes = []

        def capped(s):
            spool_bytes.append(s["spool"]["bytes"])
            return s["queue"]["dropped_batches"] >= 3
        after = broker_outage(broker, agent, c, capped, what="the cap to be reached")
        assert max(spool_bytes) <= 512 * 1024
        assert "dropping the oldest undelivered readings" in agent.log_text()
        assert agent.log_text().count("spool: full at") == 1, "logged once per episode"
        wait_for(lambda: agent.status()["spool"]["pending_batches"] == 0 and agent.status()["queue"]["backlog"] == 0,
                 timeout=60, what="drain")
        agent.stop()
        wait_for(lambda: after.states() and after.states()[-1].status == 2, what="offline state")
        final = after.states()[-1]
        unique = {b.sequence: len(r) for b, r in c.batches() + after.batches()}
        missing = sorted(set(range(1, max(unique) + 1)) - set(unique))
        delivered_before = max(b.sequence for b, _ in c.batches())
        assert missing == list(range(delivered_before + 1, delivered_before + 1 + len(missing))), "oldest first"
        assert final.readings_dropped > 0
        assert final.readings_accepted - final.readings_dropped == sum(unique.values())
    finally:
        agent.stop()


@pytest.fixture
def small_disk(tmp_path):
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount_point)],
                            capture_output=True, text=True)
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {result.stderr.strip()}")
    yield mount_point
    subprocess.run(["umount", "-l", str(mount_point)])


def test_a_full_disk_keeps_data_flowing_and_recovers_by_itself(tmp_path, broker, small_disk):
    c = Collector(broker)
    (tmp_path / "a").mkdir()
    agent = Agent(tmp_path / "a", broker, SIM_DRIVER.format(seed=1), f'[agent]\n'.replace("[agent]\n", ""))
    agent.config.write_text(agent.config.read_text().replace(f'state_dir = "{tmp_path / "a" / "state"}"',
                                                             f'state_dir = "{small_disk}"'))
    agent.start()
    try:
        c.wait_batches(2)
        assert agent.status()["spool"]["state"] == "ok"
        filler = small_disk / "filler"
        # Take every free byte. Unbuffered: a buffered file would fail again at close, flushing its last bytes.
        with open(filler, "wb", buffering=0) as f:
            try:
                while True:
                    f.write(b"\0" * 65536)
            except OSError:
                pass
        wait_for(lambda: agent.status()["spool"]["state"] == "error", what="the spool to notice the full disk")
        s = agent.status()
        assert "No space left on device" in s["spool"]["error"]
        published = s["publish"]["batches"]
        wait_for(lambda: agent.status()["publish"]["batches"] >= published + 3, what="live data meanwhile")
        wait_for(lambda: agent.status()["spool"]["not_stored_batches"] >= 2, what="batches not stored")
        assert "ERROR" in agent.status(human=True)
        filler.unlink()
        wait_for(lambda: agent.status()["spool"]["state"] == "ok", timeout=20, what="recovery by itself")
        not_stored = agent.status()["spool"]["not_stored_batches"]
        time.sleep(2.5)
        assert agent.status()["spool"]["not_stored_batches"] == not_stored
        seqs = sequences(c)
        assert set(seqs) == set(range(1, max(seqs) + 1)), "nothing lost while the disk was full"
        assert agent.process.poll() is None
    finally:
        agent.stop()
        c.close()
