"""A misbehaving MQTT 5 broker on loopback, for what a real broker will not
do on purpose: accept and close at once, answer pings but never acknowledge a
publish, or send the client a PUBLISH of hundreds of megabytes."""

import socket
import struct
import threading
import time


def _read_exactly(conn, n):
    data = b""
    while len(data) < n:
        chunk = conn.recv(n - len(data))
        if not chunk:
            raise ConnectionError("closed")
        data += chunk
    return data


def _read_packet(conn):
    first = _read_exactly(conn, 1)[0]
    length, shift = 0, 0
    while True:
        byte = _read_exactly(conn, 1)[0]
        length |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            break
    return first, _read_exactly(conn, length)


def _remaining_length(n):
    out = b""
    while True:
        byte = n & 0x7F
        n >>= 7
        out += bytes([byte | (0x80 if n else 0)])
        if not n:
            return out


CONNACK = bytes([0x20, 3, 0, 0, 0])  # MQTT 5: no session present, success, no properties


class FakeBroker:
    """mode: "close" (CONNACK, then close), "silent" (CONNACK and PINGRESP, never a PUBACK),
    "flood" (CONNACK, then a PUBLISH claiming `flood_bytes`, streamed while the client reads),
    "takeover" (CONNACK, then after `takeover_after` seconds a DISCONNECT with reason 0x8E,
    session taken over, as an MQTT 5 broker sends when another client connects with the same id)."""

    def __init__(self, mode, flood_bytes=256 << 20, takeover_after=0.3):
        self.mode = mode
        self.takeover_after = takeover_after
        self.flood_bytes = flood_bytes
        self.connections = 0
        self.publishes = 0
        self.flood_sent = 0
        self.server = socket.socket()
        self.server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(16)
        self.port = self.server.getsockname()[1]
        self.stopped = False
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def uri(self):
        return f"tcp://127.0.0.1:{self.port}"

    def _accept(self):
        while not self.stopped:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        try:
            first, _ = _read_packet(conn)
            if first >> 4 != 1:
                return
            self.connections += 1
            conn.sendall(CONNACK)
            if self.mode == "close":
                return
            if self.mode == "takeover":
                time.sleep(self.takeover_after)
                conn.sendall(bytes([0xE0, 2, 0x8E, 0]))  # DISCONNECT, reason 0x8E, no properties
                return
            if self.mode == "flood":
                topic = b"racktel/flood"
                body_length = 2 + len(topic) + 1 + self.flood_bytes  # topic, properties length, payload
                conn.sendall(bytes([0x30]) + _remaining_length(body_length) + struct.pack(">H", len(topic)) + topic + b"\0")
                chunk = b"\xAA" * (1 << 20)
                conn.settimeout(30)
                while self.flood_sent < self.flood_bytes and not self.stopped:
                    conn.sendall(chunk)
                    self.flood_sent += len(chunk)
                return
            while not self.stopped:
                kind, _ = _read_packet(conn)
                kind >>= 4
                if kind == 12:  # PINGREQ
                    conn.sendall(bytes([0xD0, 0]))
                elif kind == 3:  # PUBLISH: never acknowledged
                    self.publishes += 1
                elif kind == 14:  # DISCONNECT
                    return
        except (ConnectionError, OSError):
            pass
        finally:
            conn.close()

    def stop(self):
        self.stopped = True
        self.server.close()
