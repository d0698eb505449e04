"""The agent's HTTP face ([http]): /metrics in the Prometheus text format
(checked by promtool, scraped by a real Prometheus), /healthz and /readyz,
read-only, and bounded: idle and slow clients cannot stall polling or
publishing."""

import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request

import pytest

from conftest import BAD_MODULE_DIR, CLI, SIM_DRIVER, free_port, wait_for
from monitoring import Prometheus
from pki import issue_certificates


def http(port, path, method="GET", auth=None):
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method)
    if auth:
        import base64
        request.add_header("Authorization", "Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode())
    try:
        with urllib.request.urlopen(request, timeout=10) as r:
            return r.status, r.read().decode(), r.headers.get("Content-Type")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(), e.headers.get("Content-Type")


def with_http(port):
    return f'[http]\nlisten = ["127.0.0.1:{port}"]\n'


def test_metrics_pass_promtool_and_a_real_prometheus_scrapes_them(start_agent, tmp_path):
    port = free_port()
    agent = start_agent(SIM_DRIVER.format(seed=3), extra=with_http(port))
    wait_for(lambda: "racktel_temperature_celsius" in http(port, "/metrics")[1], what="the first readings in /metrics")
    status, text, content_type = http(port, "/metrics")
    assert status == 200 and content_type.startswith("text/plain; version=0.0.4")
    if shutil.which("promtool"):
        check = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, text=True)
        assert check.returncode == 0, check.stdout + check.stderr
    # Named and labelled as racktel-ingest names them; the agent's own figures beside.
    assert 'racktel_temperature_celsius{chip="0",driver="rack",rack="r01",sensor="chip00.die_temp",site="lab",tray="0"}' in text
    assert "racktel_agent_broker_connected{" in text and "racktel_driver_reads_total{" in text
    assert http(port, "/healthz")[:2] == (200, "ok\n")
    assert http(port, "/readyz")[:2] == (200, "ready\n")
    assert http(port, "/metrics", method="POST")[0] == 405
    assert http(port, "/nothing")[0] == 404

    prometheus = Prometheus(tmp_path / "prometheus", scrape=[f"127.0.0.1:{port}"]).start()
    try:
        wait_for(lambda: prometheus.query('up{job="racktel"}') and
                 prometheus.query('up{job="racktel"}')[0]["value"][1] == "1", timeout=30, what="Prometheus scraping")
        wait_for(lambda: prometheus.query('racktel_temperature_celsius{sensor="chip00.die_temp"}'), timeout=30,
                 what="a sensor in Prometheus")
        series = prometheus.query('racktel_temperature_celsius{sensor="chip00.die_temp"}')[0]["metric"]
        assert (series["site"], series["rack"], series["driver"], series["tray"]) == ("lab", "r01", "rack", "0")
        assert prometheus.query("racktel_agent_sensors")[0]["value"][1] == "1365"
    finally:
        prometheus.stop()
    assert agent.process.poll() is None


def test_readyz_says_why_it_is_not_ready(start_agent):
    port = free_port()
    broken = f"""
[[drivers]]
name = "unplugged"
type = "failsopen"
module = "{BAD_MODULE_DIR}/racktel-driver-failsopen.so"
"""
    start_agent(SIM_DRIVER.format(seed=1) + broken, extra=with_http(port))
    wait_for(lambda: http(port, "/healthz")[0] == 200, what="the HTTP face")
    status, text, _ = http(port, "/readyz")
    assert status == 503 and "a driver is not open" in text
    assert 'racktel_driver_up{driver="unplugged",rack="r01",site="lab"} 0' in http(port, "/metrics")[1]


def test_a_changed_listen_address_waits_for_a_restart(start_agent):
    port, other = free_port(), free_port()
    agent = start_agent(SIM_DRIVER.format(seed=1), extra=with_http(port))
    wait_for(lambda: http(port, "/healthz")[0] == 200, what="the HTTP face")
    agent.config.write_text(agent.config.read_text().replace(f"127.0.0.1:{port}", f"127.0.0.1:{other}"))
    out = subprocess.run([str(CLI), "reload", "--socket", str(agent.socket)], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert "applied at the next restart: [http]" in out.stdout
    assert http(port, "/healthz")[0] == 200, "the running server keeps its address until then"


def test_idle_and_slow_clients_cannot_stall_polling_or_publishing(start_agent, collector):
    port = free_port()
    c = collector()
    agent = start_agent(SIM_DRIVER.format(seed=2), extra=with_http(port))
    c.wait_batches(2)
    # More connections than the server takes, each sending half a request and then nothing.
    held = []
    for _ in range(100):
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
        held.append(s)
    # A request larger than the server reads.
    big = socket.create_connection(("127.0.0.1", port), timeout=5)
    big.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"a" * 20000 + b"\r\n\r\n")
    try:
        start = time.monotonic()
        before = len(c.batches())
        time.sleep(4)
        # The rack kept being read and published, a batch a second, while the clients hung on.
        assert len(c.batches()) - before >= 3
        assert agent.status()["drivers"][0]["groups"][0]["skipped_ticks"] == 0
        assert time.monotonic() - start < 10
    finally:
        for s in held:
            s.close()
        big.close()
    wait_for(lambda: http(port, "/healthz")[0] == 200, timeout=20, what="the endpoint serving again")


def test_basic_authentication_guards_metrics_not_health(start_agent, tmp_path):
    port = free_port()
    secret = tmp_path / "http-password"
    secret.write_text("scrape-secret\n")
    secret.chmod(0o600)
    start_agent(SIM_DRIVER.format(seed=4),
                extra=with_http(port) + f'username = "prometheus"\npassword_file = "{secret}"\n')
    wait_for(lambda: http(port, "/healthz")[0] == 200, what="the HTTP face")
    status, text, _ = http(port, "/metrics")
    assert status == 401 and "racktel_" not in text
    assert http(port, "/metrics", auth=("prometheus", "wrong"))[0] == 401
    assert http(port, "/metrics", auth=("prometheus", "scrape-secret"))[0] == 200
    assert http(port, "/readyz")[0] == 200, "health checks need no credentials"
    prometheus = Prometheus(tmp_path / "prometheus", scrape=[f"127.0.0.1:{port}"],
                            scrape_auth=("prometheus", "scrape-secret")).start()
    try:
        wait_for(lambda: prometheus.query("racktel_agent_sensors"), timeout=30, what="an authenticated scrape")
    finally:
        prometheus.stop()


def http_config_file(tmp_path, http_lines):
    """A configuration whose [http] table (line 7) holds `http_lines`."""
    config = tmp_path / "bad.toml"
    config.write_text(f"""[agent]
site = "lab"
rack = "r01"
state_dir = "{tmp_path / 'state'}"
[mqtt]
brokers = ["tcp://127.0.0.1:1"]
[http]
{http_lines}
[[drivers]]
name = "rack"
type = "sim"
""")
    return config


def test_http_config_errors_name_their_line(tmp_path):
    config = http_config_file(tmp_path, 'listen = ["localhost:9464"]\nusername = "prometheus"')
    out = subprocess.run([str(CLI), "check-config", str(config)], capture_output=True, text=True)
    assert out.returncode == 1
    assert f"{config}:8:11: expected \"address:port\"" in out.stderr
    assert "basic authentication needs both \"username\" and \"password_file\"" in out.stderr


@pytest.fixture(scope="module")
def server_certificate(tmp_path_factory):
    """A CA and a certificate for 127.0.0.1 signed by it, as a site would give the agent."""
    return issue_certificates(tmp_path_factory.mktemp("http-pki"), {"agent": "IP:127.0.0.1"})


def test_https_with_the_sites_certificate(start_agent, server_certificate):
    import ssl
    port = free_port()
    pki = server_certificate
    start_agent(SIM_DRIVER.format(seed=5), extra=with_http(port) +
                f'cert_file = "{pki / "agent.pem"}"\nkey_file = "{pki / "agent.key"}"\n')
    context = ssl.create_default_context(cafile=str(pki / "ca.pem"))

    def get(path):
        with urllib.request.urlopen(f"https://127.0.0.1:{port}{path}", context=context, timeout=10) as r:
            return r.status, r.read().decode()

    wait_for(lambda: get("/healthz")[0] == 200, what="the HTTPS face")
    wait_for(lambda: "racktel_temperature_celsius" in get("/metrics")[1], what="readings over HTTPS")
    status, page = get("/")
    assert status == 200 and "<title>racktel</title>" in page
    # Not verified against the site's CA: refused by the client, as it should be.
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(f"https://127.0.0.1:{port}/healthz", context=ssl.create_default_context(), timeout=10)
    # Plain HTTP to the TLS port gets no answer, and the server goes on.
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    s.settimeout(10)
    try:
        assert b"200 OK" not in s.recv(4096)
    except (ConnectionResetError, socket.timeout):
        pass
    s.close()
    assert get("/healthz")[0] == 200


def test_tls_config_errors_name_their_line(tmp_path, server_certificate):
    config = http_config_file(tmp_path, f'listen = ["127.0.0.1:9464"]\ncert_file = "{server_certificate / "agent.pem"}"')
    out = subprocess.run([str(CLI), "check-config", str(config)], capture_output=True, text=True)
    assert out.returncode == 1
    assert f"{config}:7:1: HTTPS needs both \"cert_file\" and \"key_file\"" in out.stderr
    config.write_text(config.read_text().replace("[[drivers]]", f'key_file = "{server_certificate / "agent.pem"}"\n[[drivers]]'))
    out = subprocess.run([str(CLI), "check-config", str(config)], capture_output=True, text=True)
    assert out.returncode == 1
    assert f"{config}:10:12: key_file: \"{server_certificate / 'agent.pem'}\" is not a PEM private key file" in out.stderr


def test_live_pages_are_capped_and_the_rest_is_served(start_agent):
    port = free_port()
    start_agent(SIM_DRIVER.format(seed=6), extra=with_http(port))
    wait_for(lambda: http(port, "/healthz")[0] == 200, what="the HTTP face")
    streams = []
    try:
        # 32 live pages at once, each never reading after the first bytes.
        for _ in range(32):
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            s.sendall(b"GET /api/events HTTP/1.1\r\nHost: x\r\n\r\n")
            head = s.recv(65536)
            assert head.startswith(b"HTTP/1.1 200 OK") and b"text/event-stream" in head
            streams.append(s)
        status, text, _ = http(port, "/api/events")
        assert status == 503 and "too many live pages" in text
        assert http(port, "/metrics")[0] == 200
    finally:
        for s in streams:
            s.close()
    # Closed pages free their places at once: the server notices a page go without writing to it.
    wait_for(lambda: _first_event(port), timeout=5, what="a live page accepted again")


def _first_event(port):
    """Whether a new live page gets its first values (False when refused)."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(b"GET /api/events HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = b""
        while b"event: values" not in data:
            chunk = s.recv(65536)
            if not chunk:
                return False
            data += chunk
        return data.startswith(b"HTTP/1.1 200 OK")
