"""An SNMP agent for the tests: net-snmp's snmpd on loopback, serving the
values of a text file through pass_persist (the file is read again when it
changes, so a test can add an outlet while the agent runs).

As a fixture class (SnmpAgent) it writes snmpd's configuration with a v2c
community and a v3 user (SHA-256 authentication, AES privacy), starts it,
and can pause it (SIGSTOP) to play a device that stopped answering.

As a program it is the pass_persist handler snmpd runs:

    /usr/bin/python3 snmp_agent.py VALUES_FILE

VALUES_FILE: one "OID TYPE VALUE" per line; TYPE is integer, gauge, counter,
counter64, timeticks or string (the rest of the line).
"""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve()
PYTHON = "/usr/bin/python3"
COMMUNITY = "racktel-test"
V3_USER = "racktel"
V3_AUTH = "auth-pass-phrase"
V3_PRIV = "priv-pass-phrase"
# Where the tests' values live; snmpd hands requests under these to the handler.
SUBTREES = (".1.3.6.1.4.1.318", ".1.3.6.1.4.1.534", ".1.3.6.1.2.1.99", ".1.3.6.1.2.1.47")


def oid_key(oid):
    return tuple(int(a) for a in oid.strip(".").split("."))


def load(path):
    values = {}
    for line in Path(path).read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        oid, type_, value = (line.split(None, 2) + [""])[:3]
        values[oid_key(oid)] = (type_, value)
    return values


def serve(path):
    """The pass_persist protocol: PING/PONG, get and getnext on stdin, answers on stdout."""
    values, keys, mtime = {}, [], None
    out = sys.stdout
    while True:
        command = sys.stdin.readline()
        if not command:
            return
        command = command.strip()
        if command == "PING":
            out.write("PONG\n")
            out.flush()
            continue
        oid = sys.stdin.readline().strip()
        if command == "set":
            sys.stdin.readline()
            out.write("not-writable\n")
            out.flush()
            continue
        current = os.stat(path).st_mtime_ns
        if current != mtime:
            values, mtime = load(path), current
            keys = sorted(values)
        key = oid_key(oid)
        found = None
        if command == "get":
            found = key if key in values else None
        elif command == "getnext":
            found = next((k for k in keys if k > key), None)
        if found is None:
            out.write("NONE\n")
        else:
            type_, value = values[found]
            out.write("." + ".".join(map(str, found)) + f"\n{type_}\n{value}\n")
        out.flush()


def free_udp_port():
    import socket
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SnmpAgent:
    def __init__(self, directory, values):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.values = self.directory / "values.txt"
        self.set_values(values)
        self.port = free_udp_port()
        self.log = self.directory / "snmpd.log"
        self.process = None

    def set_values(self, text):
        # Write then rename: the handler never reads half a file.
        tmp = self.values.with_suffix(".tmp")
        tmp.write_text(text)
        tmp.rename(self.values)

    def start(self):
        persist = self.directory / "persist"
        persist.mkdir(exist_ok=True)
        conf = self.directory / "snmpd.conf"
        passes = "".join(f"pass_persist {s} {PYTHON} {HERE} {self.values}\n" for s in SUBTREES)
        # An engine id of its own, as every real device has (net-snmp keys a v3 user's keys by it).
        conf.write_text(f"""agentaddress udp:127.0.0.1:{self.port}
engineID racktel-test-{self.port}
rocommunity {COMMUNITY} 127.0.0.1
createUser {V3_USER} SHA-256 "{V3_AUTH}" AES "{V3_PRIV}"
rouser {V3_USER} priv
{passes}""")
        env = dict(os.environ, SNMP_PERSISTENT_DIR=str(persist), MIBS="", MIBDIRS="")
        self.process = subprocess.Popen(
            ["/usr/sbin/snmpd", "-f", "-C", "-c", str(conf), "-Lf", str(self.log), "-p",
             str(self.directory / "snmpd.pid"), "-I", "-smux,mteTrigger,mteTriggerConf"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.log.exists() and "NET-SNMP version" in self.log.read_text():
                return self
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError(f"snmpd did not start: {self.log.read_text() if self.log.exists() else ''}")

    def pause(self):
        self.process.send_signal(signal.SIGSTOP)

    def resume(self):
        self.process.send_signal(signal.SIGCONT)

    def stop(self):
        from conftest import stop_process  # not at the top: snmpd runs this file as its handler
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)  # a paused process would not hear SIGTERM
        stop_process(self.process)


if __name__ == "__main__":
    serve(sys.argv[1])
