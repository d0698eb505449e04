"""An independent decoder of racktel's wire protocol v1, written from
docs/wire-protocol.md against the stock protobuf runtime. The tests use it to
check what the agent publishes without trusting the agent's own decoder."""

from racktel.v1 import racktel_pb2 as pb

VALUELESS = {pb.READING_STATUS_ERROR, pb.READING_STATUS_TIMEOUT, pb.READING_STATUS_STALE}
STATUS_NAMES = {
    pb.READING_STATUS_OK: "ok",
    pb.READING_STATUS_ERROR: "error",
    pb.READING_STATUS_TIMEOUT: "timeout",
    pb.READING_STATUS_OUT_OF_RANGE: "out_of_range",
    pb.READING_STATUS_STALE: "stale",
}


def decode_catalog(payload):
    catalog = pb.Catalog()
    catalog.ParseFromString(payload)
    return catalog


def decode_state(payload):
    state = pb.AgentState()
    state.ParseFromString(payload)
    return state


def decode_batch(payload, catalog):
    """Returns (DataBatch header message, [(time_ms, sensor_key, status_name, value or None)])."""
    batch = pb.DataBatch()
    batch.ParseFromString(payload)
    assert batch.catalog_version == catalog.version, "batch names another catalog"
    previous = {}
    readings = []
    time_ms = 0
    for scan in batch.scans:
        time_ms += scan.time_delta_ms
        indices = []
        next_index = 0
        runs = list(scan.index_runs)
        assert len(runs) % 2 == 0
        for gap, length in zip(runs[0::2], runs[1::2]):
            start = next_index + gap
            indices.extend(range(start, start + length))
            next_index = start + length
        assert len(scan.values) == len(indices)
        statuses = dict(zip(scan.status_positions, scan.statuses))
        for position, index in enumerate(indices):
            sensor = catalog.sensors[index]
            status = statuses.get(position, pb.READING_STATUS_OK)
            value = None
            if status not in VALUELESS:
                previous[index] = previous.get(index, 0) + scan.values[position]
                value = previous[index] * sensor.resolution
            readings.append((time_ms, sensor.driver + "/" + sensor.id, STATUS_NAMES[status], value))
    return batch, readings
