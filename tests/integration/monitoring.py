"""The monitoring stack racktel-ingest writes to, run for real on loopback:
Prometheus (remote-write receiver on, out-of-order window as docs/ingest.md
asks), Alertmanager, and racktel-ingest itself."""

import json
import os
import signal
import subprocess
import urllib.parse
import urllib.request

from conftest import BUILD, free_port, stop_process, wait_for

INGEST = BUILD / "ingest" / "racktel-ingest"


def http_get(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.read().decode()


def reachable(url):
    try:
        http_get(url, timeout=1)
        return True
    except OSError:
        return False


class Prometheus:
    def __init__(self, directory):
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.config = directory / "prometheus.yml"
        # Replayed backlog and two ingest instances writing interleaved batches
        # put samples out of order: the window docs/ingest.md asks for.
        self.config.write_text("global:\n  scrape_interval: 1s\nstorage:\n  tsdb:\n    out_of_order_time_window: 2h\n")
        self.process = None

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    @property
    def write_url(self):
        return f"{self.url}/api/v1/write"

    def start(self):
        self.process = subprocess.Popen(
            ["prometheus", f"--config.file={self.config}", f"--storage.tsdb.path={self.directory / 'data'}",
             f"--web.listen-address=127.0.0.1:{self.port}", "--web.enable-remote-write-receiver",
             "--log.level=warn"],
            stdout=open(self.directory / "prometheus.log", "ab"), stderr=subprocess.STDOUT)
        wait_for(lambda: reachable(f"{self.url}/-/ready"), timeout=30, what="Prometheus ready")
        return self

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)

    def query(self, promql, time_s=None):
        params = {"query": promql}
        if time_s is not None:
            params["time"] = str(time_s)
        body = json.loads(http_get(f"{self.url}/api/v1/query?" + urllib.parse.urlencode(params)))
        assert body["status"] == "success", body
        return body["data"]["result"]

    def samples(self, selector, window="30m"):
        """{time_ms: value} of the one series `selector` names, over the last `window`."""
        result = self.query(f"{selector}[{window}]")
        assert len(result) <= 1, f"{selector} names {len(result)} series"
        if not result:
            return {}
        return {round(float(t) * 1000): float(v) for t, v in result[0]["values"]}


class Alertmanager:
    def __init__(self, directory):
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.config = directory / "alertmanager.yml"
        self.config.write_text("route:\n  receiver: none\nreceivers:\n  - name: none\n")
        self.process = None

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self):
        # No cluster listener: it would bind every address on 9094.
        self.process = subprocess.Popen(
            ["prometheus-alertmanager", f"--config.file={self.config}", f"--storage.path={self.directory / 'data'}",
             f"--web.listen-address=127.0.0.1:{self.port}", "--cluster.listen-address=", "--log.level=warn"],
            stdout=open(self.directory / "alertmanager.log", "ab"), stderr=subprocess.STDOUT)
        wait_for(lambda: reachable(f"{self.url}/-/ready"), timeout=30, what="Alertmanager ready")
        return self

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)

    def alerts(self, **labels):
        """Active alerts whose labels include `labels`."""
        found = json.loads(http_get(f"{self.url}/api/v2/alerts?active=true&silenced=true&inhibited=true"))
        return [a for a in found if all(a["labels"].get(k) == v for k, v in labels.items())]


class Ingest:
    def __init__(self, directory, broker_uris, write_urls, instance="i1", group="racktel-ingest", extra="",
                 alertmanagers=(), protocol="5", mqtt_extra=""):
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.config = directory / "ingest.toml"
        self.log = directory / "ingest.log"
        am = ""
        if alertmanagers:
            am = "[alertmanager]\nurls = [" + ", ".join(f'"{u}"' for u in alertmanagers) + ']\nresend = "2s"\n'
        self.config.write_text(f"""
[ingest]
instance = "{instance}"
state_dir = "{directory / 'state'}"
[mqtt]
brokers = [{", ".join(f'"{b}"' for b in broker_uris)}]
protocol = "{protocol}"
keepalive = "2s"
reconnect_min = "100ms"
reconnect_max = "1s"
{mqtt_extra}
[input]
shared_group = "{group}"
catalog_wait = "2s"
{extra}
[remote_write]
endpoints = [{", ".join(f'"{u}"' for u in write_urls)}]
delay = "100ms"
retry_min = "100ms"
retry_max = "1s"
{am}
[http]
listen = ["127.0.0.1:{self.port}"]
""")
        self.process = None

    def start(self):
        self.process = subprocess.Popen([str(INGEST), "--config", str(self.config), "--log-level", "debug"],
                                        stdout=open(self.log, "ab"), stderr=subprocess.STDOUT)
        # Ready: connected and subscribed (the broker's SUBACK), so what is published now reaches it.
        wait_for(lambda: reachable(f"http://127.0.0.1:{self.port}/readyz") or self.process.poll() is not None,
                 timeout=30, what="racktel-ingest /readyz")
        assert self.process.poll() is None, f"exit status {self.process.returncode}: {self.log_text()}"
        return self

    def log_text(self):
        return self.log.read_text(errors="replace")

    def metrics(self):
        """{name{labels}: value} from its /metrics."""
        out = {}
        for line in http_get(f"http://127.0.0.1:{self.port}/metrics").splitlines():
            if line and not line.startswith("#"):
                name, value = line.rsplit(" ", 1)
                out[name] = float(value)
        return out

    def kill(self):
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self):
        if self.process and self.process.poll() is None:
            stop_process(self.process)
            assert self.process.returncode == 0, self.log_text()[-3000:]
