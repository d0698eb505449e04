"""TLS to the broker: mutual TLS, host name verification, and what happens when it is wrong."""

import subprocess
import time

import pytest

from conftest import Agent, Broker, Collector, SIM_DRIVER, free_port, wait_for


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    """Two CAs; a broker certificate for 127.0.0.1 and one for another name; a client certificate."""
    d = tmp_path_factory.mktemp("pki")

    def openssl(*args):
        subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=d)

    for ca in ("ca", "other-ca"):
        openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{ca}.key", "-out", f"{ca}.pem",
                "-days", "2", "-subj", f"/CN=racktel {ca}")
    for name, san in (("broker", "IP:127.0.0.1"), ("misnamed", "DNS:broker.other.example"), ("client", None)):
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.csr",
                "-subj", f"/CN={name}")
        extra = []
        if san:
            (d / f"{name}.ext").write_text(f"subjectAltName={san}\n")
            extra = ["-extfile", f"{name}.ext"]
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
                "-out", f"{name}.pem", "-days", "2", *extra)
    return d


def tls_broker(directory, pki, server_cert="broker"):
    """A broker with a TLS listener that requires client certificates, and a plain one for the test's collector."""
    b = Broker(directory)
    b.tls_port = free_port()
    b.conf.write_text(b.conf.read_text() + "\n".join([
        f"listener {b.tls_port} 127.0.0.1",
        f"cafile {pki / 'ca.pem'}",
        f"certfile {pki / server_cert}.pem",
        f"keyfile {pki / server_cert}.key",
        "require_certificate true",
        "tls_version tlsv1.2",
        "allow_anonymous true", ""]).replace(f"certfile {pki / server_cert}.pem", f"certfile {pki / server_cert}.pem"))
    b.start()
    return b


def agent_for(tmp_path, broker, tls_lines, name="a"):
    (tmp_path / name).mkdir()
    return Agent(tmp_path / name, broker, SIM_DRIVER.format(seed=1), tls_lines,
                 brokers=[f"mqtts://127.0.0.1:{broker.tls_port}"]).start()


def test_mutual_tls_with_host_name_verification(tmp_path, pki):
    (tmp_path / "b").mkdir()
    broker = tls_broker(tmp_path / "b", pki)
    c = Collector(broker)
    agent = agent_for(tmp_path, broker, f'ca_file = "{pki / "ca.pem"}"\ncert_file = "{pki / "client.pem"}"\n'
                                         f'key_file = "{pki / "client.key"}"')
    try:
        c.wait_batches(2)
        assert agent.status()["broker"]["server"] == f"ssl://127.0.0.1:{broker.tls_port}"
    finally:
        agent.stop()
        c.close()
        broker.stop()


@pytest.mark.parametrize("case", ["wrong CA", "certificate for another host", "no client certificate"])
def test_a_wrong_tls_setup_is_refused_clearly_and_the_agent_keeps_spooling(tmp_path, pki, case):
    (tmp_path / "b").mkdir()
    broker = tls_broker(tmp_path / "b", pki, "misnamed" if case == "certificate for another host" else "broker")
    client = f'cert_file = "{pki / "client.pem"}"\nkey_file = "{pki / "client.key"}"'
    lines = {
        "wrong CA": f'ca_file = "{pki / "other-ca.pem"}"\n{client}',
        "certificate for another host": f'ca_file = "{pki / "ca.pem"}"\n{client}',
        "no client certificate": f'ca_file = "{pki / "ca.pem"}"',
    }[case]
    agent = agent_for(tmp_path, broker, lines)
    try:
        wait_for(lambda: agent.status()["broker"]["connect_failures"] >= 2, what="refused connects")
        wait_for(lambda: agent.status()["spool"]["pending_batches"] >= 2, what="batches kept in the spool")
        s = agent.status()
        assert s["broker"]["connected"] is False
        expected = "certificate required" if case == "no client certificate" else "certificate verify failed"
        wait_for(lambda: "TLS to the broker failed" in agent.log_text() and expected in agent.log_text(),
                 what=f"a log line saying {expected}")
    finally:
        agent.stop()
        broker.stop()


def test_tls_config_errors_are_caught_before_start(tmp_path, pki):
    (tmp_path / "b").mkdir()
    broker = Broker(tmp_path / "b")
    from conftest import CLI
    (tmp_path / "a").mkdir()
    agent = Agent(tmp_path / "a", broker, SIM_DRIVER.format(seed=1),
                  f'cert_file = "{pki / "client.pem"}"\nca_file = "/nonexistent/ca.pem"',
                  brokers=["mqtts://127.0.0.1:8883"])
    out = subprocess.run([str(CLI), "check-config", str(agent.config)], capture_output=True, text=True)
    assert out.returncode == 1
    assert 'ca_file: cannot read "/nonexistent/ca.pem": No such file or directory' in out.stderr
    assert 'give both "cert_file" and "key_file"' in out.stderr


def test_subscribe_speaks_tls_and_reads_its_password_from_a_file(tmp_path, pki):
    """`racktel subscribe` takes the agent's TLS settings and a password file, as docs/deployment.md shows."""
    import json
    import os
    from conftest import CLI
    (tmp_path / "b").mkdir()
    broker = tls_broker(tmp_path / "b", pki)
    agent = agent_for(tmp_path, broker, f'ca_file = "{pki / "ca.pem"}"\ncert_file = "{pki / "client.pem"}"\n'
                                         f'key_file = "{pki / "client.key"}"')
    try:
        out = subprocess.run([str(CLI), "subscribe", "--broker", f"mqtts://127.0.0.1:{broker.tls_port}",
                              "--site", "lab", "--rack", "r01", "--json", "-n", "1", "--timeout", "20s",
                              "--ca-file", str(pki / "ca.pem"), "--cert-file", str(pki / "client.pem"),
                              "--key-file", str(pki / "client.key")], capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        assert any(json.loads(line)["type"] == "batch" for line in out.stdout.splitlines())
    finally:
        agent.stop()
        broker.stop()

    (tmp_path / "p").mkdir()
    secured = Broker(tmp_path / "p", users={"tech": "pa55word"})
    secured.start()
    try:
        password = tmp_path / "password"
        password.write_text("pa55word\n")
        os.chmod(password, 0o600)
        (tmp_path / "a2").mkdir()
        publisher = Agent(tmp_path / "a2", secured, SIM_DRIVER.format(seed=1),
                          f'username = "tech"\npassword_file = "{password}"').start()
        try:
            out = subprocess.run([str(CLI), "subscribe", "--broker", secured.uri, "--site", "lab", "--rack", "r01",
                                  "--username", "tech", "--password-file", str(password), "-n", "1",
                                  "--timeout", "20s"], capture_output=True, text=True, timeout=60)
            assert out.returncode == 0, out.stderr
            assert "batch    #" in out.stdout
        finally:
            publisher.stop()
    finally:
        secured.stop()


def test_the_tls_diagnosis_uses_the_key_passphrase(tmp_path, pki):
    """With an encrypted client key, the diagnosis after a failed handshake
    unlocks the key with the configured passphrase (never a terminal prompt)
    and so finds the real cause."""
    import os
    subprocess.run(["openssl", "rsa", "-aes256", "-in", "client.key", "-out", "client-enc.key",
                    "-passout", "pass:k3y-pass"], check=True, capture_output=True, cwd=pki)
    os.chmod(pki / "client-enc.key", 0o600)
    passphrase = tmp_path / "key-pass"
    passphrase.write_text("k3y-pass\n")
    os.chmod(passphrase, 0o600)
    (tmp_path / "b").mkdir()
    broker = tls_broker(tmp_path / "b", pki)
    agent = agent_for(tmp_path, broker, f'ca_file = "{pki / "other-ca.pem"}"\ncert_file = "{pki / "client.pem"}"\n'
                                         f'key_file = "{pki / "client-enc.key"}"\nkey_password_file = "{passphrase}"')
    try:
        wait_for(lambda: "certificate verify failed" in agent.log_text(), what="the real cause in the log")
        assert "cannot use the client certificate" not in agent.log_text()
    finally:
        agent.stop()
        broker.stop()
