// The agent's /metrics: every sensor's newest reading as a Prometheus gauge,
// named and labelled exactly as racktel-ingest names it (export/metric_naming.h),
// and the agent's own figures, in the text exposition format 0.0.4. Pure.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "status/status_report.h"
#include "store/catalog.h"
#include "store/quantum.h"
#include "store/latest_table.h"

namespace racktel {

// Sensors: a value sample for OK and OUT_OF_RANGE readings (quantised as on
// the wire), racktel_reading_status for every reading that is not OK (as
// racktel-ingest writes it: 1 error, 2 timeout, 3 out of range, 4 stale), and
// nothing for a sensor never read. No timestamps: the scrape's time is the
// sample's, as Prometheus expects of a target.
// Agent figures: racktel_agent_* gauges and counters from the status report.
std::string metrics_text(const std::vector<sensor_meta>& sensors, const std::vector<latest_reading>& latest,
                         const status_report& report);

// A double as the text format writes it: shortest round trip, NaN, +Inf, -Inf.
std::string metric_value(double v);

}  // namespace racktel
