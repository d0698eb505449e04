"""A Modbus TCP device for the tests: pymodbus' server on loopback with the
registers given in a JSON file, counting the requests it answers.

    /usr/bin/python3 modbus_device.py PORT registers.json counts.txt [--silent]

registers.json: {"holding": {"100": 5}, "input": {...}, "coils": {...}, "discrete": {...}}
(addresses are protocol addresses, 0-based; an address not listed answers
"illegal data address"). counts.txt gets one line per answered request:
"<table> <address> <count>". --silent: accept connections and never answer.
"""
import json
import socket
import sys


def silent(port):
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", port))
    server.listen()
    held = []
    while True:
        connection, _ = server.accept()
        held.append(connection)  # read nothing, answer nothing


def main():
    port, registers_file, counts_file = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    if "--silent" in sys.argv:
        silent(port)
    from pymodbus.datastore import ModbusServerContext, ModbusSlaveContext, ModbusSparseDataBlock
    from pymodbus.server import StartTcpServer

    spec = json.load(open(registers_file))
    counts = open(counts_file, "a", buffering=1)

    class CountingBlock(ModbusSparseDataBlock):
        def __init__(self, table, values):
            super().__init__(values)
            self.table = table

        def getValues(self, address, count=1):
            counts.write(f"{self.table} {address} {count}\n")
            return super().getValues(address, count)

    def block(table):
        return CountingBlock(table, {int(a): v for a, v in spec.get(table, {}).items()} or {65535: 0})

    slave = ModbusSlaveContext(di=block("discrete"), co=block("coils"), hr=block("holding"), ir=block("input"),
                               zero_mode=True)
    StartTcpServer(context=ModbusServerContext(slaves=slave, single=True), address=("127.0.0.1", port))


if __name__ == "__main__":
    main()
