"""Writes the seed corpora of the fuzz targets (run once; the seeds are committed).
Needs the generated Python protobuf module of a build: RACKTEL_BUILD_DIR, default build/dev."""
import json, os, struct, sys
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(os.environ.get("RACKTEL_BUILD_DIR", os.path.join(ROOT, "build", "dev")), "agent", "python"))
from racktel.v1 import racktel_pb2 as pb
C = os.path.join(ROOT, "tests", "fuzz", "corpus")

def w(target, name, data):
    if isinstance(data, str): data = data.encode()
    open(f"{C}/{target}/{name}", "wb").write(data)

# --- wire: u32 catalog length | catalog | batch
cat = pb.Catalog(version=0x1234, boot_id=bytes(range(16)), time_ms=1700000000000)
for i in range(6):
    s = cat.sensors.add(driver="rack", id=f"chip{i:02d}.power", name=f"chip {i} power", kind=pb.SENSOR_KIND_POWER,
                        unit="W", resolution=0.1, group="power", interval_ms=100)
    s.location.add(key="chip", value=str(i))
    if i == 2: s.warn_high = 900; s.crit_high = 1000
catb = cat.SerializeToString()
# A catalog whose last sensor is a state with words for its values.
cat_states = pb.Catalog(); cat_states.CopyFrom(cat)
link = cat_states.sensors.add(driver="rack", id="chip00.link0", name="chip 0 ICI link 0 state",
                              kind=pb.SENSOR_KIND_STATE, resolution=1, group="status", interval_ms=1000)
link.states.add(value=0, name="up"); link.states.add(value=1, name="down")
cat_statesb = cat_states.SerializeToString()
def batch(runs, values, positions=(), statuses=(), deltas=(0, 100)):
    b = pb.DataBatch(catalog_version=0x1234, boot_id=bytes(range(16)), sequence=7)
    for d in deltas:
        sc = b.scans.add(time_delta_ms=d)
        sc.index_runs.extend(runs); sc.values.extend(values)
        sc.status_positions.extend(positions); sc.statuses.extend(statuses)
    return b.SerializeToString()
w("wire", "catalog_and_batch", struct.pack("<I", len(catb)) + catb + batch([0, 6], [8125, -3, 4, 0, 12, 1]))
w("wire", "statuses", struct.pack("<I", len(catb)) + catb + batch([1, 2, 1, 2], [5, 0, 7, 0], [1, 3], [pb.READING_STATUS_ERROR, pb.READING_STATUS_STALE]))
w("wire", "beyond_catalog", struct.pack("<I", len(catb)) + catb + batch([5, 3], [1, 2, 3]))
w("wire", "state_words", struct.pack("<I", len(cat_statesb)) + cat_statesb + batch([6, 1], [1]))
w("wire", "overflow", struct.pack("<I", len(catb)) + catb + batch([0, 1], [2**62], deltas=(2**62, 2**62)))
w("wire", "state", pb.AgentState(status=1, version="0.1.0", boot_id=bytes(16), site="lab", rack="r01", sensors=6).SerializeToString())
w("wire", "empty", b"")
hot = pb.Alarm(sensor=3, sensor_key="rack/chip03.die_temp", kind=pb.ALARM_KIND_LIMIT, severity=pb.ALARM_SEVERITY_CRITICAL,
               value=110.0, limit="crit_high", threshold=105.0, rule="die", since_ms=1795838780000)
gone = pb.Alarm(sensor=4294967295, sensor_key="rack/tray03.leak", kind=pb.ALARM_KIND_FAILING, limit="stale")
w("wire", "alarm_event", pb.AlarmEvent(catalog_version=7, boot_id=bytes(16), sequence=42, raised=True,
                                       time_ms=1795838785702, alarm=hot).SerializeToString())
w("wire", "alarm_event_gone", pb.AlarmEvent(sequence=43, alarm=gone).SerializeToString())
window = pb.MaintenanceWindow(id=3, match="rack/tray03*", location=[pb.Label(key="tray", value="3")],
                              reason="tray swap", by="alice (tech3)", start_ms=1795838785702, until_ms=1795845985702)
w("wire", "maintenance_book", pb.MaintenanceBook(windows=[window], next_id=4).SerializeToString())
w("wire", "state_with_maintenance", pb.AgentState(status=1, alarms_suppressed=2, maintenance=[window]).SerializeToString())
w("wire", "commission", pb.CommissionReport(by="alice", expectations="rack.toml", passed=False, checks=[
    pb.CommissionCheck(name="16 trays", passed=False, findings=["tray 7 missing"])]).SerializeToString())
w("wire", "active_alarms", pb.ActiveAlarms(catalog_version=7, boot_id=bytes(16), time_ms=1,
                                           alarms=[hot, gone]).SerializeToString())

# --- config
for name in ("racktel.toml", "demo.toml", "commission-sim.toml"):
    w("config", name, open(os.path.join(ROOT, "config", name), "rb").read())
w("config", "everything", '''[agent]
site = "lab"
rack = "r01"
state_dir = "/tmp/x"
status_socket = "/tmp/x/s.sock"
log_level = "debug"
stale_after = 5
security = "warn"
[mqtt]
brokers = ["tcp://127.0.0.1:1883", "mqtts://[::1]:8883"]
client_id = "a.b:c"
keepalive = "2s"
reconnect_min = "100ms"
reconnect_max = "5s"
ack_timeout = "10s"
queue_limit = "1MiB"
max_inflight = 8
[batch]
interval = "500ms"
max_readings = 1000
[spool]
segment_size = "64KiB"
max_size = "1MiB"
sync_interval = "250ms"
replay_rate = 1000
[[drivers]]
name = "rack"
type = "sim"
interval = "1s"
deadline = "900ms"
group_intervals = { power = "1s" }
seed = 3
[[drivers.faults]]
kind = "hot_chip"
chip = 12
''')
w("config", "strings", '# caf\u00e9\n"caf\u00e9" = 1\na = """\n\u00e9 \\\n "x"""""\nb = \'\'\'\u00e9\'\'\'\'\n[t]\nc = "\\u00e9\\"\\\\"\n')
w("config", "bare_unicode_key", b"[agent]\n\xc3\xa9 = 1\n")

# --- spool: segment header + records (CRC-32C)
def crc32c(data, crc=0xFFFFFFFF):
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc
def crc(first, second): 
    return crc32c(first + second) ^ 0xFFFFFFFF
def record(rtype, seq, payload):
    head = struct.pack("<IIBBHQ", 0x52545231, len(payload), rtype, 0, 0, seq)
    c = crc(head[4:20], payload)
    return head + struct.pack("<I", c) + payload
header = b"RKTLSPL1" + struct.pack("<IIQQ", 1, 32, 1, 100)
bp = lambda readings, ver, t, data: struct.pack("<IQq", readings, ver, t) + data
b1 = batch([0, 6], [1, 2, 3, 4, 5, 6])
seg = header + record(1, 100, bp(6, 0x1234, 1700000000000, b1)) + record(1, 101, bp(6, 0x1234, 1700000000100, b1)) + record(3, 100, b"")
w("spool", "segment", seg)
w("spool", "torn_tail", seg[:-10])
damaged = bytearray(seg); damaged[40] ^= 0xFF
w("spool", "damaged_middle", bytes(damaged))
w("spool", "catalog_record", record(2, 0, struct.pack("<Q", 1) + catb))
fake = record(1, 1, b"")
fake = fake[:4] + struct.pack("<I", 10000) + fake[8:]
w("spool", "fake_headers", header + b"\0" + fake * 20 + record(1, 9, bp(1, 1, 1, b"x")))

# --- redfish: documents separated by NUL
sensor = {"@odata.id": "/redfish/v1/Chassis/T0/Sensors/Temp", "Id": "Temp", "ReadingType": "Temperature",
          "ReadingUnits": "Cel", "Reading": 41.5, "PhysicalContext": "CPU",
          "Thresholds": {"UpperCaution": {"Reading": 85}, "UpperCritical": {"Reading": 95}}, "Status": {"State": "Enabled"}}
root = {"Chassis": {"@odata.id": "/redfish/v1/Chassis"}, "ProtocolFeaturesSupported": {"ExpandQuery": {"Levels": True}}}
chassis_list = {"Members": [{"@odata.id": "/redfish/v1/Chassis/T0"}, {"Name": "no link"}, {"@odata.id": 5}]}
chassis = {"Id": "T0", "Sensors": {"@odata.id": "/redfish/v1/Chassis/T0/Sensors"}, "Thermal": {"@odata.id": "/t"},
           "Power": {"@odata.id": "/p"}, "ThermalSubsystem": {"@odata.id": "/ts"}, "PowerSubsystem": {"@odata.id": "/ps"}}
expanded = {"Members": [sensor, {"Id": "x"}]}
thermal = {"Temperatures": [{"MemberId": "0", "Name": "Inlet", "ReadingCelsius": 24.5, "UpperThresholdCritical": 45}],
           "Fans": [{"MemberId": "0", "Reading": 8400, "ReadingUnits": "RPM"}]}
power = {"PowerControl": [{"MemberId": "0", "PowerConsumedWatts": 3250}], "Voltages": [{"MemberId": "P48V", "ReadingVolts": 50.2}],
         "PowerSupplies": [{"MemberId": "0", "PowerInputWatts": 1700, "LineInputVoltage": 230}]}
docs = [sensor, root, chassis_list, chassis, expanded, thermal, power]
w("redfish", "tree", b"\0".join(json.dumps(d).encode() for d in docs))
w("redfish", "legacy_thermal", json.dumps(thermal))
w("redfish", "legacy_power", json.dumps(power))
w("redfish", "metrics", json.dumps({"TemperatureReadingsCelsius": [{"DeviceName": "Intake", "Reading": 22.5}],
                                    "InputPowerWatts": {"Reading": 2950}, "OutputPowerWatts": {"Reading": "x"}}))
w("redfish", "malformed", b'{"Members": [ {"@odata.id": ')

# --- exec output
w("exec_output", "json_sensors", json.dumps({"sensors": [{"id": "cdu.supply", "value": 31.5, "unit": "Cel", "kind": "temperature",
                                                          "location": "cdu=1", "resolution": 0.1}, {"id": "cdu.pump", "value": None},
                                                         {"id": "cdu.leak", "value": False, "kind": "state"}]}))
w("exec_output", "json_flat", '{"psu1.power": 512.25, "psu1.fan": 9000}')
w("exec_output", "influx", 'pdu,rack=r01,outlet=3 power=812.5,current=3.52,state="on" 1700000000000000000\ncdu,unit=1 flow=95i,leak=f\n# c\n')
w("exec_output", "stderr", b"warning: \x1b[31mred\x1b[0m \xc3\xa9 \xc0\xaf\r\nline two\n\n" + b"x" * 400 + b"\n")

# --- hwmon
for name, text in (("temp", "45000\n"), ("negative", "-12500\n"), ("garbage", "123abc\n"), ("attr", "temp1_input"),
                   ("attr2", "power2_crit_alarm"), ("huge", "99999999999999999999999\n")):
    w("hwmon", name, text)
print("seeds written")

# --- ingest: u8 selector | ...
os.makedirs(f"{C}/ingest", exist_ok=True)
def record(site, rack, batch_bytes):
    return bytes([1, len(site)]) + site + bytes([len(rack)]) + rack + batch_bytes
good_batch = batch([0, 6], [8125, -3, 4, 0, 12, 1])
w("ingest", "record", b"\x00" + struct.pack("<I", len(catb)) + catb + record(b"lab", b"r01", good_batch))
w("ingest", "record_statuses", b"\x00" + struct.pack("<I", len(catb)) + catb +
  record(b"lab", b"r01", batch([1, 2, 1, 2], [5, 0, 7, 0], [1, 3], [pb.READING_STATUS_OUT_OF_RANGE, pb.READING_STATUS_STALE])))
w("ingest", "record_truncated", b"\x00" + struct.pack("<I", len(catb)) + catb + bytes([1, 200]) + b"lab")
w("ingest", "topic", b"\x01racktel/v1/lab/r01/alarms/active")
w("ingest", "config", b"\x02" + open(os.path.join(ROOT, "config", "ingest.toml"), "rb").read())
active = pb.ActiveAlarms(catalog_version=0x1234, boot_id=bytes(16), time_ms=1700000000000)
a = active.alarms.add(sensor=2, sensor_key="rack/chip02.power", severity=2, kind=1, value=1200, limit="crit_high",
                      threshold=1000, since_ms=1700000000000)
w("ingest", "alarms", b"\x03" + struct.pack("<I", len(catb)) + catb + active.SerializeToString())
