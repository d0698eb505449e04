"""Fixtures that run the real thing on loopback: a mosquitto broker on an
ephemeral port, racktel-agent processes, and MQTT subscribers."""

import os
import pathlib
import signal
import socket
import subprocess
import threading
import time

import paho.mqtt.client as mqtt
import pytest

import racktel_stream

BUILD = pathlib.Path(os.environ["RACKTEL_BUILD_DIR"])
SOURCE = pathlib.Path(os.environ["RACKTEL_SOURCE_DIR"])
AGENT = BUILD / "agent" / "racktel-agent"
CLI = BUILD / "agent" / "racktel"
SIM_PREDICT = BUILD / "tests" / "sim_predict"
MODULE_DIR = BUILD / "drivers" / "modules"
BAD_MODULE_DIR = BUILD / "tests" / "modules"
# Built with AddressSanitizer/UBSan (the asan preset): memory figures and
# descriptor exhaustion mean something else there.
def _sanitized():
    cache = BUILD / "CMakeCache.txt"
    if not cache.exists():
        return False
    return any(line.startswith("CMAKE_CXX_FLAGS:") and "-fsanitize=address" in line
               for line in cache.read_text(errors="replace").splitlines())


SANITIZED = _sanitized()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout=15.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def wait_accepting(port, what, timeout=15.0):
    """Until something accepts TCP connections on 127.0.0.1:port."""
    def accepting():
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return True
        except OSError:
            return False

    wait_for(accepting, timeout, what)


class Broker:
    def __init__(self, directory, acl=None, users=None, persistent=False):
        self.port = free_port()
        self.directory = directory
        self.log = directory / "mosquitto.log"
        lines = [
            f"listener {self.port} 127.0.0.1",
            "allow_anonymous false" if users else "allow_anonymous true",
            f"persistence true\npersistence_location {directory}/" if persistent else "persistence false",
            "set_tcp_nodelay true",  # as docs/deployment.md asks: PUBACKs not held by Nagle
            # Under root mosquitto would switch to its own user; keep it simple in tests.
            "user root" if os.geteuid() == 0 else "",
        ]
        if acl is not None:
            acl_file = directory / "acl"
            acl_file.write_text(acl)
            lines.append(f"acl_file {acl_file}")
        if users:
            password_file = directory / "passwords"
            for i, (user, password) in enumerate(users.items()):
                subprocess.run(["mosquitto_passwd", "-b"] + (["-c"] if i == 0 else []) +
                               [str(password_file), user, password], check=True, capture_output=True)
            lines.append(f"password_file {password_file}")
        self.conf = directory / "mosquitto.conf"
        self.conf.write_text("\n".join(lines) + "\n")
        self.process = None

    @property
    def uri(self):
        return f"tcp://127.0.0.1:{self.port}"

    def start(self):
        self.process = subprocess.Popen(["mosquitto", "-c", str(self.conf)],
                                        stdout=open(self.log, "ab"), stderr=subprocess.STDOUT)

        wait_accepting(self.port, f"mosquitto on port {self.port}")

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


@pytest.fixture
def broker(tmp_path):
    b = Broker(tmp_path)
    b.start()
    yield b
    b.stop()


class Agent:
    def __init__(self, directory, broker, drivers, extra="", brokers=None, driver_dir=MODULE_DIR, rack="r01",
                 mqtt_extra=""):
        self.directory = directory
        self.rack = rack
        self.socket = directory / "status.sock"
        self.config = directory / "racktel.toml"
        self.log = directory / "agent.log"
        self.config.write_text(f"""
[agent]
site = "lab"
rack = "{rack}"
status_socket = "{self.socket}"
state_dir = "{directory / 'state'}"
driver_dir = "{driver_dir}"
[mqtt]
brokers = [{", ".join(f'"{b}"' for b in (brokers or [broker.uri]))}]
keepalive = "2s"
reconnect_min = "200ms"
reconnect_max = "1s"
{mqtt_extra}
{extra}
{drivers}
""")
        self.process = None

    def start(self, extra_args=(), log_level="debug"):
        """`log_level` None: the configuration's (as a rack runs); `extra_args` such as --enable-test-hooks."""
        if self.socket.exists():
            self.socket.unlink()  # left by a killed agent
        level = ["--log-level", log_level] if log_level else []
        self.process = subprocess.Popen([str(AGENT), "--config", str(self.config), *level, *extra_args],
                                        stdout=open(self.log, "ab"), stderr=subprocess.STDOUT)
        wait_for(lambda: self.socket.exists() or self.process.poll() is not None, what="agent status socket")
        assert self.process.poll() is None, self.log_text()
        return self

    def log_text(self):
        return self.log.read_text(errors="replace")

    def status(self, human=False, args=()):
        args = [str(CLI), "status", "--socket", str(self.socket), *args] + ([] if human else ["--json"])
        out = subprocess.run(args, capture_output=True, text=True, timeout=10)
        assert out.returncode == 0, out.stderr
        if human:
            return out.stdout
        import json
        return json.loads(out.stdout)

    def sensors(self):
        """`racktel sensors --json` as {"instance/sensor id": reading}."""
        args = [str(CLI), "sensors", "--socket", str(self.socket), "--json"]
        out = subprocess.run(args, capture_output=True, text=True, timeout=10)
        assert out.returncode == 0, out.stderr
        import json
        return {s["sensor"]: s for s in json.loads(out.stdout)["sensors"]}

    def signal(self, sig):
        self.process.send_signal(sig)

    def wait(self, timeout=15):
        return self.process.wait(timeout=timeout)

    def stop(self):
        stop_process(self.process)


def stop_process(process, timeout=15):
    """SIGTERM, and SIGKILL if it does not end within `timeout`."""
    if process and process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def check_config(tmp_path, drivers, extra=""):
    """`racktel check-config` on an agent configuration with these [[drivers]] (and [agent] `extra`)."""
    config = tmp_path / "check.toml"
    config.write_text(f"""
[agent]
site = "lab"
rack = "r01"
state_dir = "{tmp_path / 'state'}"
{extra}
[mqtt]
brokers = ["tcp://127.0.0.1:1"]
{drivers}
""")
    return subprocess.run([str(CLI), "check-config", str(config)], capture_output=True, text=True)


def exec_driver(name, shell, interval="1s", extra=""):
    """A [[drivers]] table for the exec driver reading InfluxDB line protocol from a shell command."""
    return f'''
[[drivers]]
name = "{name}"
type = "exec"
interval = "{interval}"
format = "influx"
shell = "{shell}"
{extra}'''


SIM_DRIVER = """
[[drivers]]
name = "rack"
type = "sim"
seed = {seed}
"""


@pytest.fixture
def start_agent(tmp_path, broker):
    agents = []

    def start(drivers=SIM_DRIVER.format(seed=1), extra="", name="agent", brokers=None):
        directory = tmp_path / name
        directory.mkdir()
        a = Agent(directory, broker, drivers, extra, brokers).start()
        agents.append(a)
        return a

    yield start
    for a in agents:
        a.stop()


class Collector:
    """Records every message under racktel/v1/lab/r01/ and decodes it. A
    persistent collector keeps its session in the broker, so that QoS 1
    messages published while it is away (or the broker restarts) still reach it."""

    def __init__(self, broker, root="racktel/v1/lab/r01", persistent=False):
        self.root = root
        self.lock = threading.Lock()
        self.messages = []  # (arrival monotonic time, topic, payload, retained)
        self._decoded = {}  # id of a data message's payload -> (DataBatch, readings): decode once
        self.client = mqtt.Client(client_id=f"collector-{os.getpid()}-{id(self)}", protocol=mqtt.MQTTv5)
        self.client.on_message = self._on_message
        self.connected = threading.Event()
        self.client.on_connect = lambda c, u, f, rc, p=None: (c.subscribe(root + "/#", qos=1), self.connected.set())
        self.subscribed = threading.Event()
        self.client.on_subscribe = lambda *args: self.subscribed.set()
        self.client.reconnect_delay_set(min_delay=0.1, max_delay=0.5)
        properties = None
        if persistent:
            from paho.mqtt.packettypes import PacketTypes
            from paho.mqtt.properties import Properties
            properties = Properties(PacketTypes.CONNECT)
            properties.SessionExpiryInterval = 3600
        self.client.connect("127.0.0.1", broker.port, clean_start=not persistent, properties=properties)
        self.client.loop_start()
        assert self.connected.wait(10), "collector could not connect"
        assert self.subscribed.wait(10), "the broker did not acknowledge the collector's subscription"

    def _on_message(self, client, userdata, msg):
        with self.lock:
            self.messages.append((time.monotonic(), msg.topic, bytes(msg.payload), bool(msg.retain)))

    def close(self):
        self.client.loop_stop()
        self.client.disconnect()

    def of(self, kind):
        with self.lock:
            return [m for m in self.messages if m[1] == f"{self.root}/{kind}"]

    def catalogs(self):
        return {c.version: c for c in (racktel_stream.decode_catalog(m[2]) for m in self.of("catalog"))}

    def states(self):
        return [racktel_stream.decode_state(m[2]) for m in self.of("state")]

    def batches(self):
        """Decoded data batches: [(DataBatch, readings)] in arrival order."""
        catalogs = None
        out = []
        for m in self.of("data"):
            key = id(m[2])
            if key not in self._decoded:
                if catalogs is None:
                    catalogs = self.catalogs()
                header = racktel_stream.pb.DataBatch()
                header.ParseFromString(m[2])
                catalog = catalogs.get(header.catalog_version)
                assert catalog is not None, f"no catalog {header.catalog_version} for batch {header.sequence}"
                self._decoded[key] = racktel_stream.decode_batch(m[2], catalog)
            out.append(self._decoded[key])
        return out

    def sequences(self):
        """Sequence numbers of the data batches received, cheaply (headers only)."""
        out = []
        for m in self.of("data"):
            batch = racktel_stream.pb.DataBatch()
            batch.ParseFromString(m[2])
            out.append(batch.sequence)
        return out

    def wait_batches(self, n, timeout=20):
        wait_for(lambda: len(self.of("data")) >= n, timeout, f"{n} data batches")
        return self.batches()


@pytest.fixture
def collector(broker):
    collectors = []

    def make():
        c = Collector(broker)
        collectors.append(c)
        return c

    yield make
    for c in collectors:
        c.close()


def broker_outage(broker, agent, collector, until, what, timeout=60):
    """The broker goes away until `until(agent.status())` holds, then comes
    back. `collector` stays subscribed until the broker goes, so it has seen
    every acknowledged batch; it is closed, and a fresh collector, subscribed
    before the agent's reconnect back-off ends, is returned."""
    broker.stop()
    collector.close()
    wait_for(lambda: until(agent.status()), timeout=timeout, what=what)
    broker.start()
    return Collector(broker)
