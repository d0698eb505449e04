"""A clustered broker that speaks MQTT 3.1.1 only (issue 11): three NATS
servers with JetStream and the MQTT listener, on loopback. The agent
publishes to node A, racktel-ingest reads from node B; when node A stops,
the agent fails over to node C from its broker list and no batch is lost."""

import shutil
import signal
import subprocess
import time

import paho.mqtt.client as mqtt
import pytest

import racktel_stream
from conftest import SIM_DRIVER, Agent, free_port, stop_process, wait_for
from monitoring import Ingest, Prometheus

pytestmark = pytest.mark.skipif(shutil.which("nats-server") is None, reason="nats-server is not installed")


class NatsNode:
    def __init__(self, directory, name, cluster_ports, index):
        self.directory = directory
        directory.mkdir(parents=True)
        self.name = name
        self.client_port = free_port()
        self.mqtt_port = free_port()
        routes = ", ".join(f"nats-route://127.0.0.1:{p}" for i, p in enumerate(cluster_ports) if i != index)
        self.config = directory / "nats.conf"
        self.config.write_text(f"""
server_name: {name}
listen: 127.0.0.1:{self.client_port}
jetstream {{ store_dir: "{directory / 'js'}" }}
cluster {{ name: racktel, listen: 127.0.0.1:{cluster_ports[index]}, routes: [{routes}] }}
mqtt {{ listen: 127.0.0.1:{self.mqtt_port}, stream_replicas: 3, consumer_replicas: 3 }}
""")
        self.process = None

    @property
    def uri(self):
        return f"tcp://127.0.0.1:{self.mqtt_port}"

    def start(self):
        self.process = subprocess.Popen(["nats-server", "-c", str(self.config)],
                                        stdout=open(self.directory / "nats.log", "ab"), stderr=subprocess.STDOUT)

    def stop(self):
        stop_process(self.process)


def mqtt_ready(port):
    """A 3.1.1 client can connect and a QoS 1 round trip works (JetStream has a leader)."""
    client = mqtt.Client(client_id=f"probe-{port}-{time.monotonic_ns()}", protocol=mqtt.MQTTv311)
    try:
        client.connect("127.0.0.1", port, keepalive=5)
        client.loop_start()
        info = client.publish("racktel/probe", b"x", qos=1)
        info.wait_for_publish(3)
        return info.is_published()
    except (OSError, RuntimeError, ValueError):
        return False
    finally:
        client.loop_stop()
        client.disconnect()


@pytest.fixture
def cluster(tmp_path):
    cluster_ports = [free_port() for _ in range(3)]
    nodes = [NatsNode(tmp_path / n, n, cluster_ports, i) for i, n in enumerate(["a", "b", "c"])]
    for node in nodes:
        node.start()
    for node in nodes:
        wait_for(lambda: mqtt_ready(node.mqtt_port), timeout=60, what=f"NATS node {node.name}'s MQTT listener")
    yield nodes
    for node in nodes:
        node.stop()


def test_the_agent_fails_over_from_node_a_to_c_and_the_ingest_on_b_loses_nothing(cluster, tmp_path):
    a, b, c = cluster
    prometheus = Prometheus(tmp_path / "prometheus").start()
    ingest = Ingest(tmp_path / "ingest", [b.uri], [prometheus.write_url], instance="nats", group="",
                    protocol="3.1.1").start()
    # Every batch, as node B delivers it, to check the sequences independently of the ingest.
    seen, catalogs = [], []
    collector = mqtt.Client(client_id="nats-collector", protocol=mqtt.MQTTv311)
    collector.on_message = lambda cl, u, m: (catalogs if m.topic.endswith("/catalog") else seen).append(bytes(m.payload))
    collector.on_connect = lambda cl, u, f, rc: cl.subscribe([("racktel/v1/lab/r-nats/data", 1),
                                                              ("racktel/v1/lab/r-nats/catalog", 1)])
    collector.connect("127.0.0.1", b.mqtt_port)
    collector.loop_start()
    directory = tmp_path / "agent"
    directory.mkdir()
    agent = Agent(directory, None, SIM_DRIVER.format(seed=1), rack="r-nats", brokers=[a.uri, c.uri],
                  mqtt_extra='protocol = "3.1.1"').start()
    try:
        wait_for(lambda: len(seen) >= 4, timeout=30, what="4 batches through node B")
        assert agent.status()["broker"]["server"] == a.uri
        a.stop()
        wait_for(lambda: agent.status()["broker"].get("connected") and agent.status()["broker"]["server"] == c.uri,
                 timeout=30, what="the agent to fail over to node C")
        count = len(seen)
        wait_for(lambda: len(seen) >= count + 4, timeout=30, what="4 more batches through node C to node B")
        agent.stop()
        time.sleep(1)
        sequences = sorted({racktel_stream_header(p).sequence for p in seen})
        assert sequences == list(range(sequences[0], sequences[-1] + 1)), f"a gap in {sequences}"

        # And the ingest on node B wrote every one of them.
        catalog = racktel_stream.decode_catalog(catalogs[-1])
        published = {}
        for payload in seen:
            for time_ms, key, status, value in racktel_stream.decode_batch(payload, catalog)[1]:
                if key == "rack/chip05.die_temp":
                    published[time_ms] = value
        selector = 'racktel_temperature_celsius{rack="r-nats",sensor="chip05.die_temp"}'
        have = wait_for(lambda: (lambda h: h if set(h) >= set(published) else None)(prometheus.samples(selector)),
                        timeout=30, what="every reading in Prometheus")
        assert have == published
        assert ingest.metrics()["racktel_ingest_decode_errors_total"] == 0
    finally:
        collector.loop_stop()
        collector.disconnect()
        agent.stop()
        ingest.stop()
        prometheus.stop()


def racktel_stream_header(payload):
    batch = racktel_stream.pb.DataBatch()
    batch.ParseFromString(payload)
    return batch
