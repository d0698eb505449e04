"""racktel-ingest (issue 11): the racks' stream into a real Prometheus through
remote write, and alarms into a real Alertmanager. One broker, one Prometheus
and one Alertmanager serve the whole file; each test has its own rack."""

import json
import os
import re
import signal
import subprocess
import time

import paho.mqtt.client as mqtt
import pytest

import racktel_stream
from conftest import BUILD, CLI, SIM_DRIVER, Agent, Broker, Collector, stop_process, wait_for
from test_alarms import rack as stuck_die_rack
from test_tls import pki  # noqa: F401 (a fixture)
from monitoring import Alertmanager, Ingest, Prometheus, http_get

FLEET = BUILD / "bench" / "racktel-fleet"


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    root = tmp_path_factory.mktemp("stack")
    broker_dir = root / "broker"
    broker_dir.mkdir()
    broker = Broker(broker_dir, persistent=True)
    broker.start()
    prometheus = Prometheus(root / "prometheus").start()
    alertmanager = Alertmanager(root / "alertmanager").start()
    yield broker, prometheus, alertmanager
    alertmanager.stop()
    prometheus.stop()
    broker.stop()


@pytest.fixture
def running(tmp_path):
    """Starts agents and ingests in this test's directory; stops them after it."""
    started = []

    def agent(broker, rack, drivers=SIM_DRIVER.format(seed=1), **kwargs):
        directory = tmp_path / f"agent-{rack}"
        directory.mkdir()
        a = Agent(directory, broker, drivers, rack=rack, **kwargs)
        started.append(a)  # before it starts: one that fails to become ready is stopped too
        return a.start()

    def ingest(name, *args, **kwargs):
        i = Ingest(tmp_path / name, *args, **kwargs)
        started.append(i)
        return i.start()

    yield agent, ingest
    for p in reversed(started):
        stop_process(p.process)


def collector_samples(collector, sensor_key):
    """{time_ms: value} of one sensor in every batch the collector saw (None for readings without a value)."""
    out = {}
    for _, readings in collector.batches():
        for time_ms, key, status, value in readings:
            if key == sensor_key:
                out[time_ms] = value
    return out


def selector(rack, sensor, metric):
    return f'{metric}{{site="lab",rack="{rack}",sensor="{sensor}"}}'


def test_prometheus_holds_exactly_what_racktel_subscribe_printed(stack, running):
    broker, prometheus, _ = stack
    agent, ingest = running
    ingest("ingest", [broker.uri], [prometheus.write_url], instance="values")
    agent(broker, "r-values")
    printed = subprocess.run([str(CLI), "subscribe", "--broker", broker.uri, "--site", "lab", "--rack", "r-values",
                              "--json", "--count", "4", "--timeout", "20s"],
                             capture_output=True, text=True, timeout=60)
    assert printed.returncode == 0, printed.stderr
    expected = {}
    for line in printed.stdout.splitlines():
        o = json.loads(line)
        if o.get("type") == "reading" and o["sensor"] in ("rack/chip12.die_temp", "rack/shelf0.psu1.input_power"):
            expected.setdefault(o["sensor"], {})[o["time_ms"]] = o["value"]
    assert set(expected) == {"rack/chip12.die_temp", "rack/shelf0.psu1.input_power"}, "the sim's sensors moved"
    for key, metric in (("rack/chip12.die_temp", "racktel_temperature_celsius"),
                        ("rack/shelf0.psu1.input_power", "racktel_power_watts")):
        want = expected[key]
        sel = selector("r-values", key.split("/", 1)[1], metric)

        def written():
            have = prometheus.samples(sel)
            return all(t in have for t in want) and have

        have = wait_for(written, timeout=20, what=f"{key}'s samples in Prometheus")
        assert {t: have[t] for t in want} == want, "every value exactly as the agent published it, at its own time"
    # The labels a dashboard groups by.
    series = prometheus.query(selector("r-values", "chip12.die_temp", "racktel_temperature_celsius"))
    assert series[0]["metric"] == {"__name__": "racktel_temperature_celsius", "site": "lab", "rack": "r-values",
                                   "driver": "rack", "sensor": "chip12.die_temp", "tray": "3", "chip": "12"}


def test_two_instances_share_the_racks_and_every_batch_lands_once_across_a_kill(stack, running):
    broker, prometheus, _ = stack
    agent, ingest = running
    group = "g-kill"
    a = ingest("ingest-a", [broker.uri], [prometheus.write_url], instance="a", group=group)
    b = ingest("ingest-b", [broker.uri], [prometheus.write_url], instance="b", group=group)
    collector = Collector(broker, root="racktel/v1/lab/r-shared")
    try:
        rack = agent(broker, "r-shared")
        wait_for(lambda: len(collector.of("data")) >= 6, timeout=20, what="6 batches")
        wait_for(lambda: a.metrics()["racktel_ingest_racks_fed"] == 1 and b.metrics()["racktel_ingest_racks_fed"] == 1,
                 what="both instances to receive a share of the rack's batches")
        a.kill()
        wait_for(lambda: len(collector.of("data")) >= 12, timeout=20, what="6 more batches while A is dead")
        a.start()
        wait_for(lambda: len(collector.of("data")) >= 16, timeout=20, what="4 more batches")
        rack.stop()  # a clean stop publishes everything it has
        published = collector_samples(collector, "rack/shelf0.psu1.input_power")
        assert len(published) >= 16 * 9, "the power group reads every 100 ms"
        sel = selector("r-shared", "shelf0.psu1.input_power", "racktel_power_watts")
        try:
            have = wait_for(lambda: (lambda h: h if set(h) >= set(published) else None)(prometheus.samples(sel)),
                            timeout=30, what="every published power reading in Prometheus")
        except AssertionError:
            have = prometheus.samples(sel)
            missing = sorted(set(published) - set(have))
            times = [(b.sequence, min(r[0] for r in rs), max(r[0] for r in rs)) for b, rs in collector.batches()]
            raise AssertionError(f"missing {len(missing)}: {missing[:5]}..{missing[-5:]}; batches {times}")
        assert have == published, "nothing missing, nothing extra, every value as published"
        for instance in (a, b):
            m = instance.metrics()
            assert m["racktel_ingest_decode_errors_total"] == 0
            assert sum(v for k, v in m.items() if k.startswith("racktel_ingest_batches_dropped_total")) == 0
    finally:
        collector.close()


def test_a_restart_of_the_database_loses_nothing(stack, running, tmp_path):
    broker, _, _ = stack
    agent, ingest = running
    prometheus = Prometheus(tmp_path / "own-prometheus").start()
    try:
        i = ingest("ingest", [broker.uri], [prometheus.write_url], instance="tsdb", group="g-tsdb")
        collector = Collector(broker, root="racktel/v1/lab/r-tsdb")
        rack = agent(broker, "r-tsdb")
        wait_for(lambda: len(collector.of("data")) >= 3, timeout=20, what="3 batches")
        prometheus.stop()
        wait_for(lambda: i.metrics()['racktel_ingest_remote_write_requests_total{endpoint="%s",result="retried"}'
                                     % prometheus.write_url] >= 2, what="retries while the database is down")
        time.sleep(2)
        pending = i.metrics()["racktel_ingest_batches_pending"]
        assert pending >= 2, "batches wait in the buffer while the database is down"
        prometheus.start()
        wait_for(lambda: len(collector.of("data")) >= 10, timeout=20, what="more batches")
        rack.stop()
        published = collector_samples(collector, "rack/chip03.die_temp")
        sel = selector("r-tsdb", "chip03.die_temp", "racktel_temperature_celsius")
        have = wait_for(lambda: (lambda h: h if set(h) >= set(published) else None)(prometheus.samples(sel)),
                        timeout=30, what="every die reading in Prometheus")
        assert have == published
        wait_for(lambda: i.metrics()["racktel_ingest_batches_pending"] == 0, what="the buffer to empty")
    finally:
        prometheus.stop()
        collector.close()


def test_an_alarm_fires_in_alertmanager_and_resolves_and_a_lost_rack_is_an_alert(stack, running):
    broker, prometheus, alertmanager = stack
    agent, ingest = running
    ingest("ingest", [broker.uri], [prometheus.write_url], instance="alarm", group="g-alarm",
           alertmanagers=[alertmanager.url])
    rack = agent(broker, "r-alarm", drivers=stuck_die_rack(110))
    fired = wait_for(lambda: alertmanager.alerts(alertname="RacktelAlarm", rack="r-alarm", sensor="chip03.die_temp"),
                     timeout=30, what="the alarm in Alertmanager")
    labels = fired[0]["labels"]
    assert (labels["severity"], labels["limit"], labels["tray"], labels["chip"], labels["driver"]) == \
        ("critical", "crit_high", "0", "3", "rack")
    assert "110" in fired[0]["annotations"]["summary"]

    rack.config.write_text(rack.config.read_text().replace("value = 110", "value = 50"))
    out = subprocess.run([str(CLI), "reload", "--socket", str(rack.socket)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    wait_for(lambda: not alertmanager.alerts(alertname="RacktelAlarm", rack="r-alarm"), timeout=30,
             what="the alert to resolve")

    # The agent vanishes: the broker publishes its will, and the rack is lost.
    rack.process.send_signal(signal.SIGKILL)
    rack.process.wait(timeout=10)
    lost = wait_for(lambda: alertmanager.alerts(alertname="RackTelemetryLost", rack="r-alarm"), timeout=30,
                    what="RackTelemetryLost")
    assert lost[0]["labels"]["severity"] == "critical"
    rack.start()
    wait_for(lambda: not alertmanager.alerts(alertname="RackTelemetryLost", rack="r-alarm"), timeout=30,
             what="RackTelemetryLost to resolve when the rack is back")


class publisher:
    """A plain MQTT 5 client for hand-made messages: `with publisher(broker, "name") as send: send(topic, bytes)`."""

    def __init__(self, broker, name):
        self.client = mqtt.Client(client_id=f"{name}-{os.getpid()}", protocol=mqtt.MQTTv5)
        self.client.connect("127.0.0.1", broker.port)
        self.client.loop_start()

    def __enter__(self):
        return lambda topic, payload: self.client.publish(topic, payload, qos=1).wait_for_publish(5)

    def __exit__(self, *exc):
        self.client.loop_stop()
        self.client.disconnect()


def _scan_batch(version, sequence, time_ms, quantised, first_index=0):
    batch = racktel_stream.pb.DataBatch()
    batch.catalog_version = version
    batch.boot_id = bytes(range(16))
    batch.sequence = sequence
    scan = batch.scans.add()
    scan.time_delta_ms = time_ms
    scan.index_runs.extend([first_index, 1])
    scan.values.append(quantised)
    return batch.SerializeToString()


def _catalog(version):
    catalog = racktel_stream.pb.Catalog()
    catalog.version = version
    sensor = catalog.sensors.add()
    sensor.driver, sensor.id, sensor.name = "hand", "t0", "hand-made"
    sensor.kind = racktel_stream.pb.SENSOR_KIND_TEMPERATURE
    sensor.unit, sensor.resolution, sensor.interval_ms = "Cel", 0.5, 1000
    return catalog.SerializeToString()


def test_malformed_payloads_and_unknown_catalogs_are_survived_and_counted(stack, running):
    broker, prometheus, _ = stack
    agent, ingest = running
    i = ingest("ingest", [broker.uri], [prometheus.write_url], instance="bad", group="g-bad")
    with publisher(broker, "hostile") as send:
        now = int(time.time() * 1000)
        send("racktel/v1/lab/r-junk/data", b"\xff\x00garbage")
        send("racktel/v1/lab/r-junk/catalog", b"\x09\x01not a catalog")
        # A batch whose catalog comes after it (as a backlog's does): it waits, then is written.
        send("racktel/v1/lab/r-late/data", _scan_batch(0xC0FFEE, 1, now, 101))
        wait_for(lambda: i.metrics()["racktel_ingest_batches_waiting"] == 1, what="the batch to wait for its catalog")
        send("racktel/v1/lab/r-late/catalog", _catalog(0xC0FFEE))
        have = wait_for(lambda: prometheus.samples(selector("r-late", "t0", "racktel_temperature_celsius")),
                        what="the late batch in Prometheus")
        assert have == {now: 50.5}
        # A batch whose catalog never comes: dropped after catalog_wait, and counted.
        send("racktel/v1/lab/r-never/data", _scan_batch(0xDEAD, 1, now, 1))
        wait_for(lambda: i.metrics()['racktel_ingest_batches_dropped_total{reason="no_catalog"}'] == 1,
                 what="the orphan batch to be dropped")
        # A batch that names a known catalog but does not fit it.
        bad = _scan_batch(0xC0FFEE, 2, now, 1, first_index=5)  # sensor 5 of a one-sensor catalog
        send("racktel/v1/lab/r-late/data", bad)
        wait_for(lambda: i.metrics()["racktel_ingest_decode_errors_total"] >= 3, what="three decode errors")
        # And a repeat of batch 1 is dropped as a duplicate.
        send("racktel/v1/lab/r-late/data", _scan_batch(0xC0FFEE, 1, now, 101))
        wait_for(lambda: i.metrics()["racktel_ingest_duplicates_total"] == 1, what="the duplicate")
    log = i.log_text()
    assert "racktel/v1/lab/r-junk/data: not a DataBatch" in log
    assert "racktel/v1/lab/r-junk/catalog: catalog:" in log
    assert i.process.poll() is None, "still running"


def test_check_config_names_the_line(tmp_path):
    from monitoring import INGEST
    bad = tmp_path / "ingest.toml"
    bad.write_text('[ingest]\ninstance = "a"\n[mqtt]\nbrokers = ["tcp://127.0.0.1:1"]\n[remote_write]\n'
                   'endpoints = ["ftp://x/"]\n')
    out = subprocess.run([str(INGEST), "--check-config", "--config", str(bad)], capture_output=True, text=True)
    assert out.returncode == 2
    assert f"{bad}:6:14: expected an http:// or https:// URL, got \"ftp://x/\"" in out.stderr


def test_a_renamed_shared_group_does_not_deliver_twice(stack, running, tmp_path):
    """The session keeps the old group's subscription; the ingest drops it."""
    broker, prometheus, _ = stack
    _, ingest = running
    first = ingest("ingest", [broker.uri], [prometheus.write_url], instance="renamed", group="g-old")
    wait_for(lambda: "subscribing to $share/g-old" in first.log_text(), what="the first subscription")
    first.stop()
    text = first.config.read_text().replace('shared_group = "g-old"', 'shared_group = "g-new"')
    first.config.write_text(text)
    again = first.start()
    wait_for(lambda: "dropping the subscription of the last run $share/g-old/racktel/v1/+/+/data" in again.log_text(),
             what="the old group's subscription to be dropped")
    wait_for(lambda: "subscribing to $share/g-new" in again.log_text(), what="the subscription")
    with publisher(broker, "renamed") as send:
        send("racktel/v1/lab/r-renamed/catalog", _catalog(0xBEEF))
        send("racktel/v1/lab/r-renamed/data", _scan_batch(0xBEEF, 1, int(time.time() * 1000), 3))
        wait_for(lambda: again.metrics()["racktel_ingest_batches_total"] == 1, what="the batch")
        time.sleep(0.5)
        assert again.metrics()['racktel_ingest_messages_total{topic="data"}'] == 1


def test_a_sample_the_database_refuses_is_counted_with_its_answer_and_not_retried(stack, running):
    """Prometheus 2.42 answers 500 "too old sample" for samples older than its out-of-order window allows."""
    broker, prometheus, _ = stack
    _, ingest = running
    i = ingest("ingest", [broker.uri], [prometheus.write_url], instance="refused", group="g-refused")
    with publisher(broker, "refused") as send:
        send("racktel/v1/lab/r-old/catalog", _catalog(0xA11))
        # A current sample first: an empty database takes any first sample as its start.
        send("racktel/v1/lab/r-old/data", _scan_batch(0xA11, 1, int(time.time() * 1000), 3))
        ok = f'racktel_ingest_remote_write_requests_total{{endpoint="{prometheus.write_url}",result="ok"}}'
        wait_for(lambda: i.metrics()[ok] == 1, what="the current sample")
        two_days_ago = int(time.time() * 1000) - 2 * 86400 * 1000
        send("racktel/v1/lab/r-old/data", _scan_batch(0xA11, 2, two_days_ago, 3))
        key = f'racktel_ingest_remote_write_requests_total{{endpoint="{prometheus.write_url}",result="rejected"}}'
        wait_for(lambda: i.metrics()[key] == 1, what="the refusal")
        m = i.metrics()
        assert m['racktel_ingest_batches_dropped_total{reason="rejected"}'] == 1
        assert m["racktel_ingest_batches_pending"] == 0, "refused data is not sent again"
        assert f'racktel_ingest_remote_write_requests_total{{endpoint="{prometheus.write_url}",result="retried"}}' in m
        assert m[f'racktel_ingest_remote_write_requests_total{{endpoint="{prometheus.write_url}",result="retried"}}'] == 0
    assert re.search(r"remote write to \S+ refused 1 sample\(s\) of 1 batch\(es\): HTTP 500: too old sample", i.log_text())


def test_its_metrics_page_is_valid_exposition_format(stack, running, tmp_path):
    broker, prometheus, _ = stack
    _, ingest = running
    i = ingest("ingest", [broker.uri], [prometheus.write_url], instance="promtool", group="g-promtool")
    page = tmp_path / "metrics.txt"
    page.write_text(http_get(f"http://127.0.0.1:{i.port}/metrics"))
    out = subprocess.run(["promtool", "check", "metrics"], stdin=open(page), capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    assert http_get(f"http://127.0.0.1:{i.port}/readyz") == "ready\n"


@pytest.mark.skipif(not FLEET.exists(), reason="built without the benchmarks (RACKTEL_BUILD_BENCH=OFF)")
def test_racktel_fleet_publishes_as_many_racks_and_every_one_lands(stack, running):
    """The load generator of the benchmarks, small: three racks for a few seconds."""
    broker, prometheus, _ = stack
    _, ingest = running
    i = ingest("ingest", [broker.uri], [prometheus.write_url], instance="fleet", group="g-fleet")
    out = subprocess.run([str(FLEET), "--broker", broker.uri, "--racks", "3", "--site", "smoke", "--duration", "4"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert re.match(r"racks 3  messages \d+  acknowledged \d+  failed 0", out.stdout), out.stdout
    wait_for(lambda: i.metrics()["racktel_ingest_batches_pending"] == 0 and i.metrics()["racktel_ingest_batches_total"] >= 9,
             what="the fleet's batches written")
    racks = prometheus.query('count by (rack) (racktel_temperature_celsius{site="smoke",sensor="chip00.die_temp"})')
    assert sorted(r["metric"]["rack"] for r in racks) == ["r0000", "r0001", "r0002"]


def test_a_backlog_under_an_older_catalog_is_decoded_with_the_catalog_republished_before_it(stack, running, tmp_path):
    """The broker goes down; the agent's sensor set changes while it spools;
    it comes back to a broker that has no retained catalog of it and an ingest
    that never saw the older one: the new catalog arrives retained, the older
    one unretained right before the backlog that needs it. Every reading lands."""
    _, prometheus, _ = stack
    agent, ingest = running
    (tmp_path / "own-broker").mkdir()
    broker = Broker(tmp_path / "own-broker")  # not persistent: it forgets the retained catalog
    broker.start()
    collector = None
    try:
        rack = agent(broker, "r-backlog")
        wait_for(lambda: rack.status()["broker"]["connected"], what="the agent's connection")
        time.sleep(1.5)
        broker.stop()
        time.sleep(2)  # batches under the first catalog go to the spool
        faults = '\n[[drivers.faults]]\nkind = "missing_tray"\ntray = 7\n'
        rack.config.write_text(rack.config.read_text() + faults)
        out = subprocess.run([str(CLI), "reload", "--socket", str(rack.socket)], capture_output=True, text=True,
                             timeout=60)
        assert out.returncode == 0, out.stderr
        time.sleep(2)  # and batches under the second
        rack.stop()
        broker.start()
        i = ingest("ingest", [broker.uri], [prometheus.write_url], instance="backlog", group="g-backlog")
        collector = Collector(broker, root="racktel/v1/lab/r-backlog")
        rack.start()
        wait_for(lambda: len(collector.catalogs()) == 2, timeout=30, what="both catalogs, the older one re-published")
        wait_for(lambda: rack.status()["spool"]["pending_batches"] == 0, timeout=30, what="the backlog to drain")
        time.sleep(1)
        rack.stop()
        published = collector_samples(collector, "rack/chip00.die_temp")
        assert len(published) >= 5, "the backlog and a few live batches"
        assert len({batch.catalog_version for batch, _ in collector.batches()}) == 2, "batches under both catalogs"
        sel = selector("r-backlog", "chip00.die_temp", "racktel_temperature_celsius")
        have = wait_for(lambda: (lambda h: h if set(h) >= set(published) else None)(prometheus.samples(sel)),
                        timeout=30, what="every die reading, under both catalogs")
        assert {t: have[t] for t in published} == published
        m = i.metrics()
        assert m['racktel_ingest_batches_dropped_total{reason="no_catalog"}'] == 0
        assert m["racktel_ingest_decode_errors_total"] == 0
        assert m["racktel_ingest_catalogs"] == 2
    finally:
        if collector:
            collector.close()
        broker.stop()


# bcrypt of "s3cret" (Prometheus' web configuration wants a bcrypt hash).
S3CRET_BCRYPT = "$2b$12$D7gJM5FIJIBjRi6vgWf4TOPrWVAiJapih57lVAcZywD/c8d5odzNS"


def test_https_with_basic_auth_and_a_second_endpoint_each_get_every_sample(stack, running, tmp_path, pki):
    """Two endpoints: every request goes to both. One is HTTPS (host name checked
    against the CA) with basic authentication from a password file."""
    broker, plain, _ = stack
    _, ingest = running
    secure = Prometheus(tmp_path / "secure", tls=(pki / "broker.pem", pki / "broker.key", pki / "ca.pem"),
                        basic_auth=("racktel", S3CRET_BCRYPT, "s3cret")).start()
    try:
        password = tmp_path / "remote-write-password"
        password.write_text("s3cret\n")
        password.chmod(0o600)
        endpoint = {"url": secure.write_url, "ca_file": pki / "ca.pem", "username": "racktel", "password_file": password}
        i = ingest("ingest", [broker.uri], [plain.write_url, endpoint], instance="https", group="g-https")
        with publisher(broker, "https") as send:
            now = int(time.time() * 1000)
            send("racktel/v1/lab/r-https/catalog", _catalog(0x5EC))
            send("racktel/v1/lab/r-https/data", _scan_batch(0x5EC, 1, now, 77))
            sel = selector("r-https", "t0", "racktel_temperature_celsius")
            assert wait_for(lambda: secure.samples(sel), what="the sample over HTTPS") == {now: 38.5}
            assert wait_for(lambda: plain.samples(sel), what="the sample over HTTP") == {now: 38.5}
        m = i.metrics()
        assert m[f'racktel_ingest_remote_write_requests_total{{endpoint="{secure.write_url}",result="ok"}}'] == 1
    finally:
        secure.stop()


def test_the_documented_configuration_is_valid(tmp_path, pki):
    """docs/ingest.md's example, with its files made here: every key is one racktel-ingest knows."""
    from monitoring import INGEST
    from conftest import SOURCE
    doc = (SOURCE / "docs" / "ingest.md").read_text()
    start = doc.index("```toml", doc.index("## Configuration")) + len("```toml")
    example = doc[start:doc.index("```", start)]
    for name in ("broker-ca.pem", "mimir-ca.pem"):
        (tmp_path / name).write_bytes((pki / "ca.pem").read_bytes())
    for name in ("ingest-broker-password", "mimir-token"):
        (tmp_path / name).write_text("secret\n")
        (tmp_path / name).chmod(0o600)
    config = tmp_path / "ingest.toml"
    config.write_text(example.replace("/etc/racktel/", f"{tmp_path}/"))
    out = subprocess.run([str(INGEST), "--check-config", "--config", str(config)], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
