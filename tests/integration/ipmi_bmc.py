"""A BMC for the tests: OpenIPMI's ipmi_sim on loopback, with IPMI 2.0 LAN,
one user, and sensors whose SDR records the test writes (full sensor
records, IPMI 2.0 table 43-1) and adds through ipmi_sim's command language.
The test changes values, thresholds events and scanning through ipmi_sim's
console (its standard input), and pauses it (SIGSTOP) to play a BMC that
went away."""
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

from conftest import stop_process

USER = "racktel"
PASSWORD = "secret-pass12"


def free_udp_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def full_record(record_id, number, name, base_unit, m=1, r_exp=0, sensor_type=0x01, event_type=0x01,
                unc=None, uc=None, unr=None):
    """A full sensor record of a linear analog (threshold) or discrete sensor owned by the BMC."""
    r = [0] * 48
    r[0], r[1], r[2], r[3] = record_id & 0xFF, record_id >> 8, 0x51, 0x01
    r[5], r[7], r[8], r[9] = 0x20, number, 0x07, 0x01
    r[10] = 0x7F
    r[11] = 0x48 if event_type == 0x01 else 0x40  # thresholds readable, auto re-arm
    r[12], r[13] = sensor_type, event_type
    readable = 0
    for bit, value in ((3, unc), (4, uc), (5, unr)):
        if value is not None:
            readable |= 1 << bit
    r[18] = readable
    r[21] = base_unit
    r[24] = m & 0xFF
    r[25] = (m >> 2) & 0xC0
    r[29] = (r_exp & 0x0F) << 4
    r[34] = 0xFF
    r[36], r[37], r[38] = unr or 0, uc or 0, unc or 0
    encoded = name.encode()
    r[47] = 0xC0 | len(encoded)
    r += list(encoded)
    r[4] = len(r) - 5
    return r


class IpmiBmc:
    def __init__(self, directory):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.port = free_udp_port()
        self.log = self.directory / "ipmi_sim.log"
        self.process = None

    def start(self, emu_lines):
        (self.directory / "state").mkdir(exist_ok=True)
        (self.directory / "lan.conf").write_text(f"""name "racktel-test"
set_working_mc 0x20
  startlan 1
    addr 127.0.0.1 {self.port}
    priv_limit admin
    allowed_auths_callback none md5 straight
    allowed_auths_user none md5 straight
    allowed_auths_operator none md5 straight
    allowed_auths_admin none md5 straight
    guid a123456789abcdefa123456789abcdef
  endlan
  user 1 true "" "" user 10 none md5 straight
  user 2 true "{USER}" "{PASSWORD}" admin 10 none md5 straight
""")
        (self.directory / "bmc.emu").write_text("mc_setbmc 0x20\n"
                                                "mc_add 0x20 0 no-device-sdrs 0x23 9 8 0x9f 0x1291 0xf02\n"
                                                + "".join(line + "\n" for line in emu_lines) +
                                                "mc_enable 0x20\n")
        self.process = subprocess.Popen(
            ["ipmi_sim", "-c", str(self.directory / "lan.conf"), "-f", str(self.directory / "bmc.emu"),
             "-s", str(self.directory / "state")],
            stdin=subprocess.PIPE, stdout=open(self.log, "ab"), stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 15
        needle = f":{self.port:04X} "
        while time.monotonic() < deadline:
            if any(needle in line.split()[1] + " " for line in Path("/proc/net/udp").read_text().splitlines()[1:]):
                return self
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError(f"ipmi_sim did not start: {self.log.read_text(errors='replace')}")

    def command(self, line):
        """One ipmi_sim console command (ipmi_sim_cmd(5))."""
        self.process.stdin.write((line + "\n").encode())
        self.process.stdin.flush()

    def pause(self):
        self.process.send_signal(signal.SIGSTOP)

    def resume(self):
        self.process.send_signal(signal.SIGCONT)

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)  # a paused process would not hear SIGTERM
        stop_process(self.process)


def sdr_add(record):
    return "main_sdr_add 0x20 " + " ".join(f"0x{b:02x}" for b in record)
