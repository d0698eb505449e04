"""The monitoring stack racktel-ingest writes to, run for real on loopback:
Prometheus (remote-write receiver on, out-of-order window as docs/ingest.md
asks), Alertmanager, and racktel-ingest itself."""

import json
import os
import signal
import ssl
import subprocess
import urllib.parse
import urllib.request

from conftest import BUILD, free_port, stop_process, wait_for

INGEST = BUILD / "ingest" / "racktel-ingest"


def http_get(url, timeout=5, context=None, headers=None):
    request = urllib.request.Request(url, headers=headers or {})
    with urllib.request.urlopen(request, timeout=timeout, context=context) as response:
        return response.read().decode()


def reachable(url, context=None, headers=None):
    try:
        http_get(url, timeout=1, context=context, headers=headers)
        return True
    except OSError:
        return False


class Prometheus:
    def __init__(self, directory, tls=None, basic_auth=None, scrape=(), scrape_auth=None):
        """tls: (certificate, key, CA) files, to serve HTTPS; basic_auth: (user, bcrypt hash, password);
        scrape: "host:port" targets scraped every second as job "racktel", with scrape_auth: (user, password)."""
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.tls = tls
        self.basic_auth = basic_auth
        self.context = ssl.create_default_context(cafile=str(tls[2])) if tls else None
        self.headers = {}
        if basic_auth:
            import base64
            self.headers["Authorization"] = "Basic " + base64.b64encode(
                f"{basic_auth[0]}:{basic_auth[2]}".encode()).decode()
        self.config = directory / "prometheus.yml"
        # Replayed backlog and two ingest instances writing interleaved batches
        # put samples out of order: the window docs/ingest.md asks for.
        text = "global:\n  scrape_interval: 1s\nstorage:\n  tsdb:\n    out_of_order_time_window: 2h\n"
        if scrape:
            text += ("scrape_configs:\n  - job_name: racktel\n    static_configs:\n      - targets: [" +
                     ", ".join(f'"{t}"' for t in scrape) + "]\n")
            if scrape_auth:
                text += f"    basic_auth:\n      username: {scrape_auth[0]}\n      password: {scrape_auth[1]}\n"
        self.config.write_text(text)
        self.process = None

    @property
    def url(self):
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    @property
    def write_url(self):
        return f"{self.url}/api/v1/write"

    def start(self):
        web = []
        if self.tls or self.basic_auth:
            lines = []
            if self.tls:
                lines += ["tls_server_config:", f"  cert_file: {self.tls[0]}", f"  key_file: {self.tls[1]}"]
            if self.basic_auth:
                lines += ["basic_auth_users:", f"  {self.basic_auth[0]}: {self.basic_auth[1]}"]
            (self.directory / "web.yml").write_text("\n".join(lines) + "\n")
            web = [f"--web.config.file={self.directory / 'web.yml'}"]
        self.process = subprocess.Popen(
            ["prometheus", f"--config.file={self.config}", f"--storage.tsdb.path={self.directory / 'data'}",
             f"--web.listen-address=127.0.0.1:{self.port}", "--web.enable-remote-write-receiver",
             "--log.level=warn", *web],
            stdout=open(self.directory / "prometheus.log", "ab"), stderr=subprocess.STDOUT)
        wait_for(lambda: reachable(f"{self.url}/-/ready", self.context, self.headers), timeout=30,
                 what="Prometheus ready")
        return self

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)

    def query(self, promql, time_s=None):
        params = {"query": promql}
        if time_s is not None:
            params["time"] = str(time_s)
        body = json.loads(http_get(f"{self.url}/api/v1/query?" + urllib.parse.urlencode(params), context=self.context,
                                   headers=self.headers))
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


def toml_value(v):
    """A string or a dict of strings as TOML (an inline table)."""
    if isinstance(v, dict):
        return "{ " + ", ".join(f'{k} = "{x}"' for k, x in v.items()) + " }"
    return f'"{v}"'


class Ingest:
    def __init__(self, directory, broker_uris, write_urls, instance="i1", group="racktel-ingest", extra="",
                 alertmanagers=(), protocol="5", mqtt_extra=""):
        """write_urls: URLs, or dicts of an endpoint's keys (url, ca_file, username, password_file ...)."""
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
endpoints = [{", ".join(toml_value(u) for u in write_urls)}]
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
