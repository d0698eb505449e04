"""A Redfish service for the tests: a real HTTPS server on loopback serving a
Redfish tree of an accelerator tray written for these tests, with session and
basic authentication, $expand, and knobs to make it slow, broken or strict."""

import base64
import copy
import http.server
import json
import ssl
import threading
import time
import urllib.parse


def sensor(chassis, sid, name, rtype, units, reading, context=None, thresholds=None, state="Enabled"):
    doc = {"@odata.id": f"/redfish/v1/Chassis/{chassis}/Sensors/{sid}", "@odata.type": "#Sensor.v1_7_0.Sensor",
           "Id": sid, "Name": name, "ReadingType": rtype, "ReadingUnits": units, "Status": {"State": state, "Health": "OK"}}
    if reading is not None:
        doc["Reading"] = reading
    if context:
        doc["PhysicalContext"] = context
    if thresholds:
        doc["Thresholds"] = {k: {"Reading": v} for k, v in thresholds.items()}
    return doc


def tray_tree(expand=True):
    """Three chassis: Tray0 with a Sensors collection, Tray1 with only the legacy
    Thermal and Power resources, Shelf0 with ThermalSubsystem and PowerSubsystem."""
    tree = {}
    tree["/redfish/v1"] = {"@odata.id": "/redfish/v1", "Id": "RootService", "RedfishVersion": "1.17.0",
                           "Chassis": {"@odata.id": "/redfish/v1/Chassis"},
                           "SessionService": {"@odata.id": "/redfish/v1/SessionService"},
                           "ProtocolFeaturesSupported": {"ExpandQuery": {"ExpandAll": False, "Levels": expand,
                                                                         "MaxLevels": 1}}}
    tree["/redfish/v1/Chassis"] = {"Members": [{"@odata.id": f"/redfish/v1/Chassis/{c}"} for c in ("Tray0", "Tray1", "Shelf0")]}
    tree["/redfish/v1/Chassis/Tray0"] = {"Id": "Tray0", "Sensors": {"@odata.id": "/redfish/v1/Chassis/Tray0/Sensors"}}
    tray0 = [
        sensor("Tray0", "TPU0Temp", "TPU 0 die temperature", "Temperature", "Cel", 61.5, "GPU",
               {"UpperCaution": 90, "UpperCritical": 105}),
        sensor("Tray0", "TPU0Power", "TPU 0 power", "Power", "W", 812.5, "GPU"),
        sensor("Tray0", "P12V", "12 V rail", "Voltage", "V", 12.05, "VoltageRegulator",
               {"LowerCritical": 10.8, "UpperCritical": 13.2}),
        sensor("Tray0", "TPU0Current", "TPU 0 current", "Current", "A", 67.3),
        sensor("Tray0", "CoolantFlow", "coolant flow", "LiquidFlowLPM", "L/min", 8.1, "LiquidInlet"),
        sensor("Tray0", "CoolantDP", "coolant differential pressure", "PressurekPa", "kPa", 150.2),
        sensor("Tray0", "Fan0", "fan 0", "Rotational", "RPM", 9000),
        sensor("Tray0", "Energy", "tray energy", "EnergykWh", "kW.h", 2.5),
        sensor("Tray0", "Leak", "leak sensor", "Temperature", "Cel", None),  # no Reading: an error reading
    ]
    tree["/redfish/v1/Chassis/Tray0/Sensors"] = {"Members": [{"@odata.id": s["@odata.id"]} for s in tray0]}
    for s in tray0:
        tree[s["@odata.id"]] = s
    tree["/redfish/v1/Chassis/Tray1"] = {"Id": "Tray1", "Thermal": {"@odata.id": "/redfish/v1/Chassis/Tray1/Thermal"},
                                         "Power": {"@odata.id": "/redfish/v1/Chassis/Tray1/Power"}}
    tree["/redfish/v1/Chassis/Tray1/Thermal"] = {
        "Temperatures": [{"MemberId": "0", "Name": "Inlet", "ReadingCelsius": 24.5, "UpperThresholdNonCritical": 40,
                          "UpperThresholdCritical": 45, "PhysicalContext": "Intake"},
                         {"MemberId": "1", "Name": "Exhaust", "ReadingCelsius": 38.0, "PhysicalContext": "Exhaust"}],
        "Fans": [{"MemberId": "0", "Name": "Fan 0", "Reading": 8400, "ReadingUnits": "RPM"}]}
    tree["/redfish/v1/Chassis/Tray1/Power"] = {
        "PowerControl": [{"MemberId": "0", "Name": "Tray power", "PowerConsumedWatts": 3250}],
        "Voltages": [{"MemberId": "P48V", "Name": "48 V input", "ReadingVolts": 50.2}],
        "PowerSupplies": [{"MemberId": "0", "PowerInputWatts": 1700, "PowerOutputWatts": 1620, "LineInputVoltage": 230}]}
    tree["/redfish/v1/Chassis/Shelf0"] = {"Id": "Shelf0",
                                          "ThermalSubsystem": {"@odata.id": "/redfish/v1/Chassis/Shelf0/ThermalSubsystem"},
                                          "PowerSubsystem": {"@odata.id": "/redfish/v1/Chassis/Shelf0/PowerSubsystem"}}
    tree["/redfish/v1/Chassis/Shelf0/ThermalSubsystem"] = {
        "ThermalMetrics": {"@odata.id": "/redfish/v1/Chassis/Shelf0/ThermalSubsystem/ThermalMetrics"}}
    tree["/redfish/v1/Chassis/Shelf0/ThermalSubsystem/ThermalMetrics"] = {
        "TemperatureReadingsCelsius": [{"DeviceName": "Intake", "Reading": 22.5}, {"DeviceName": "Exhaust", "Reading": 31.0}]}
    tree["/redfish/v1/Chassis/Shelf0/PowerSubsystem"] = {
        "PowerSupplies": {"@odata.id": "/redfish/v1/Chassis/Shelf0/PowerSubsystem/PowerSupplies"}}
    tree["/redfish/v1/Chassis/Shelf0/PowerSubsystem/PowerSupplies"] = {
        "Members": [{"@odata.id": f"/redfish/v1/Chassis/Shelf0/PowerSubsystem/PowerSupplies/PSU{i}"} for i in range(2)]}
    for i in range(2):
        base = f"/redfish/v1/Chassis/Shelf0/PowerSubsystem/PowerSupplies/PSU{i}"
        tree[base] = {"Id": f"PSU{i}", "Metrics": {"@odata.id": base + "/Metrics"}}
        tree[base + "/Metrics"] = {"InputPowerWatts": {"Reading": 2950 + i}, "OutputPowerWatts": {"Reading": 2860 + i},
                                   "InputVoltage": {"Reading": 230.5}}
    return tree


def excerpt(**readings):
    return {k: {"Reading": v} for k, v in readings.items()}


def equipment_tree():
    """The rack's equipment, as a rack manager's Redfish service lists it:
    PowerEquipment with a rack PDU (mains, branches, outlets; one outlet listed
    twice) and a power shelf (two PSUs with rails), ThermalEquipment with a
    CDU (primary and secondary loops, pumps, a reservoir, leak detectors), and
    a chassis whose sensors lack ReadingType or give only user thresholds."""
    pe, te = "/redfish/v1/PowerEquipment", "/redfish/v1/ThermalEquipment"
    tree = {pe: {"RackPDUs": {"@odata.id": pe + "/RackPDUs"}, "PowerShelves": {"@odata.id": pe + "/PowerShelves"}},
            te: {"CDUs": {"@odata.id": te + "/CDUs"}}}
    pdu = pe + "/RackPDUs/PDU-A"
    tree[pe + "/RackPDUs"] = {"Members": [{"@odata.id": pdu}]}
    tree[pdu] = {"@odata.id": pdu, "Id": "PDU-A", "Name": "rack PDU A", "Metrics": {"@odata.id": pdu + "/Metrics"},
                 "Mains": {"@odata.id": pdu + "/Mains"}, "Branches": {"@odata.id": pdu + "/Branches"},
                 "Outlets": {"@odata.id": pdu + "/Outlets"}}
    tree[pdu + "/Metrics"] = excerpt(PowerWatts=8650, EnergykWh=1234.5)
    tree[pdu + "/Mains"] = {"Members": [{"@odata.id": pdu + "/Mains/AC1"}]}
    tree[pdu + "/Mains/AC1"] = {"@odata.id": pdu + "/Mains/AC1", "Id": "AC1",
                                **excerpt(CurrentAmps=37.6, Voltage=230.1, PowerWatts=8650, FrequencyHz=50.01)}
    tree[pdu + "/Branches"] = {"Members": [{"@odata.id": f"{pdu}/Branches/CB{i}"} for i in (1, 2)]}
    for i in (1, 2):
        tree[f"{pdu}/Branches/CB{i}"] = {"@odata.id": f"{pdu}/Branches/CB{i}", "Id": f"CB{i}",
                                         **excerpt(CurrentAmps=18.0 + i, PowerWatts=4100 + i)}
    outlets = [f"{pdu}/Outlets/A{i}" for i in range(1, 6)]
    tree[pdu + "/Outlets"] = {"Members": [{"@odata.id": o} for o in outlets + [outlets[0]]]}  # A1 twice
    for i, o in enumerate(outlets, 1):
        tree[o] = {"@odata.id": o, "Id": f"A{i}", **excerpt(CurrentAmps=4.0 + i / 10, Voltage=230.0, PowerWatts=900 + i,
                                                            EnergykWh=10.0 * i)}
    shelf = pe + "/PowerShelves/Shelf-1"
    tree[pe + "/PowerShelves"] = {"Members": [{"@odata.id": shelf}]}
    tree[shelf] = {"@odata.id": shelf, "Id": "Shelf-1", "PowerSupplies": {"@odata.id": shelf + "/PowerSupplies"}}
    tree[shelf + "/PowerSupplies"] = {"Members": [{"@odata.id": f"{shelf}/PowerSupplies/PSU{i}"} for i in (1, 2)]}
    for i in (1, 2):
        base = f"{shelf}/PowerSupplies/PSU{i}"
        tree[base] = {"@odata.id": base, "Id": f"PSU{i}", "Metrics": {"@odata.id": base + "/Metrics"}}
        tree[base + "/Metrics"] = {**excerpt(InputPowerWatts=3100 + i, OutputPowerWatts=3000 + i, EnergykWh=500.0,
                                             FrequencyHz=50.0),
                                   "RailVoltage": [{"Reading": 54.1}], "RailCurrentAmps": [{"Reading": 55.5}]}
    cdu = te + "/CDUs/CDU-1"
    tree[te + "/CDUs"] = {"Members": [{"@odata.id": cdu}]}
    tree[cdu] = {"@odata.id": cdu, "Id": "CDU-1", "Name": "CDU 1",
                 "PrimaryCoolantConnectors": {"@odata.id": cdu + "/PrimaryCoolantConnectors"},
                 "SecondaryCoolantConnectors": {"@odata.id": cdu + "/SecondaryCoolantConnectors"},
                 "Pumps": {"@odata.id": cdu + "/Pumps"}, "Reservoirs": {"@odata.id": cdu + "/Reservoirs"},
                 "LeakDetection": {"@odata.id": cdu + "/LeakDetection"}}
    for loop, supply, ret in (("Primary", 18.0, 26.5), ("Secondary", 30.0, 41.5)):
        coll = f"{cdu}/{loop}CoolantConnectors"
        tree[coll] = {"Members": [{"@odata.id": coll + "/1"}]}
        tree[coll + "/1"] = {"@odata.id": coll + "/1", "Id": "1",
                             **excerpt(SupplyTemperatureCelsius=supply, ReturnTemperatureCelsius=ret,
                                       FlowLitersPerMinute=140.0, DeltaPressurekPa=85.0)}
    tree[cdu + "/Pumps"] = {"Members": [{"@odata.id": f"{cdu}/Pumps/{i}"} for i in (1, 2)]}
    for i in (1, 2):
        tree[f"{cdu}/Pumps/{i}"] = {"@odata.id": f"{cdu}/Pumps/{i}", "Id": str(i),
                                    "PumpSpeedPercent": {"Reading": 60 + i, "SpeedRPM": 3000 + i}}
    tree[cdu + "/Reservoirs"] = {"Members": [{"@odata.id": cdu + "/Reservoirs/1"}]}
    tree[cdu + "/Reservoirs/1"] = {"@odata.id": cdu + "/Reservoirs/1", "Id": "1",
                                   "FluidLevelPercent": {"Reading": 82}, "FluidLevelStatus": "OK"}
    tree[cdu + "/LeakDetection"] = {"LeakDetectors": {"@odata.id": cdu + "/LeakDetection/LeakDetectors"}}
    tree[cdu + "/LeakDetection/LeakDetectors"] = {
        "Members": [{"@odata.id": f"{cdu}/LeakDetection/LeakDetectors/{d}"} for d in ("Tray3", "Manifold")]}
    for d, state in (("Tray3", "OK"), ("Manifold", "Critical")):
        tree[f"{cdu}/LeakDetection/LeakDetectors/{d}"] = {"@odata.id": f"{cdu}/LeakDetection/LeakDetectors/{d}",
                                                          "Id": d, "DetectorState": state}
    # A chassis of sensors without ReadingType (kind from ReadingUnits) and with user thresholds only.
    rm = "/redfish/v1/Chassis/RackManager"
    tree[rm] = {"Id": "RackManager", "Sensors": {"@odata.id": rm + "/Sensors"}}
    sensors = [{"@odata.id": rm + "/Sensors/RackEnergy", "Id": "RackEnergy", "Name": "rack energy",
                "ReadingUnits": "kW.h", "Reading": 4321.5},
               {"@odata.id": rm + "/Sensors/Inlet", "Id": "Inlet", "Name": "rack inlet", "ReadingUnits": "Cel",
                "Reading": 24.0, "Thresholds": {"UpperCautionUser": {"Reading": 32}, "UpperFatal": {"Reading": 45}}},
               {"@odata.id": rm + "/Sensors/Odd", "Id": "Odd", "Name": "odd unit", "ReadingUnits": "mm",
                "Reading": 3}]
    tree[rm + "/Sensors"] = {"Members": [{"@odata.id": s["@odata.id"]} for s in sensors]}
    for s in sensors:
        tree[s["@odata.id"]] = s
    return tree


class RedfishBMC:
    def __init__(self, cert, key, users=None, expand=True, equipment=False, page_size=None):
        self.tree = tray_tree(expand)
        if equipment:
            self.tree.update(equipment_tree())
            root = self.tree["/redfish/v1"]
            root["PowerEquipment"] = {"@odata.id": "/redfish/v1/PowerEquipment"}
            root["ThermalEquipment"] = {"@odata.id": "/redfish/v1/ThermalEquipment"}
            self.tree["/redfish/v1/Chassis"]["Members"].append({"@odata.id": "/redfish/v1/Chassis/RackManager"})
        self.page_size = page_size  # collections longer than this come in pages (Members@odata.nextLink)
        self.expand = expand
        self.users = users if users is not None else {"racktel": "bmc-secret"}
        self.sessions = {}
        self.logins = 0
        self.failed_logins = 0
        self.deleted_sessions = 0
        self.requests = 0
        self.delay = 0.0
        self.broken = {}  # path -> "json" | int status
        self.lock = threading.Lock()
        bmc = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def reply(self, status, body=None, headers=None):
                data = b"" if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            def authorised(self):
                token = self.headers.get("X-Auth-Token")
                if token and token in bmc.sessions:
                    return True
                auth = self.headers.get("Authorization", "")
                if auth.startswith("Basic "):
                    user, _, password = base64.b64decode(auth[6:]).decode().partition(":")
                    return bmc.users.get(user) == password
                return False

            def do_GET(self):
                with bmc.lock:
                    bmc.requests += 1
                if bmc.delay:
                    time.sleep(bmc.delay)
                url = urllib.parse.urlsplit(self.path)
                path = url.path.rstrip("/") or "/"
                if path != "/redfish/v1" and not self.authorised():
                    return self.reply(401, {"error": "unauthorized"})
                problem = bmc.broken.get(path)
                if problem == "json":
                    return self.reply(200, b'{"Members": [ {"@odata.id": ')
                if isinstance(problem, int):
                    return self.reply(problem, {"error": "broken on purpose"})
                doc = bmc.tree.get(path)
                if doc is None:
                    return self.reply(404, {"error": "not found"})
                doc = copy.deepcopy(doc)
                query = urllib.parse.unquote(url.query)
                expanded = "$expand" in query and bmc.expand
                if bmc.page_size and "Members" in doc and len(doc["Members"]) > bmc.page_size:
                    params = dict(urllib.parse.parse_qsl(url.query))
                    skip = int(params.get("$skip", 0))
                    rest = doc["Members"][skip + bmc.page_size:]
                    doc["Members"] = doc["Members"][skip:skip + bmc.page_size]
                    if rest:
                        doc["Members@odata.nextLink"] = (f"{path}?$skip={skip + bmc.page_size}" +
                                                         ("&$expand=.($levels=1)" if expanded else ""))
                if expanded and "Members" in doc:
                    doc["Members"] = [copy.deepcopy(bmc.tree.get(m["@odata.id"], m)) for m in doc["Members"]]
                return self.reply(200, doc)

            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                if self.path != "/redfish/v1/SessionService/Sessions":
                    return self.reply(405)
                if bmc.users.get(body.get("UserName")) != body.get("Password"):
                    bmc.failed_logins += 1
                    return self.reply(401, {"error": "bad credentials"})
                with bmc.lock:
                    bmc.logins += 1
                    token = f"token-{bmc.logins}-{time.monotonic_ns()}"
                    bmc.sessions[token] = bmc.logins
                return self.reply(201, {"Id": str(bmc.logins)},
                                  {"X-Auth-Token": token,
                                   "Location": f"/redfish/v1/SessionService/Sessions/{bmc.logins}"})

            def do_DELETE(self):
                if not self.authorised():
                    return self.reply(401)
                number = self.path.rsplit("/", 1)[-1]
                with bmc.lock:
                    for token, n in list(bmc.sessions.items()):
                        if str(n) == number:
                            del bmc.sessions[token]
                            bmc.deleted_sessions += 1
                return self.reply(204)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self):
        return f"https://127.0.0.1:{self.server.server_address[1]}"

    def expire_sessions(self):
        with self.lock:
            self.sessions.clear()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
