// Which resources of a Redfish service to read: the walk from the service
// root through the chassis to their sensors. Pure logic over the documents
// fetched so far, so that it is unit-tested and fuzzed without a server; the
// Beast client (redfish_driver.cpp) only fetches what the walk asks for.
//
// The walk runs over a cache of fetched documents. Each run goes as far as
// the cache allows and lists the documents it still needs; the client
// fetches them and runs it again, until nothing is missing (a handful of
// runs: the tree is about six levels deep). A cache kept across polls lets a
// large BMC's discovery resume where a poll's deadline cut it short.
//
// Nothing a service returns can fail the whole walk except a missing or
// unusable service root or chassis collection: a resource that is malformed
// (not an object, a member without "@odata.id", a number where a string
// belongs, a collection of more members than `max_members`) or that could
// not be fetched costs only itself, and is listed in `problems`.
#pragma once

#include <boost/json/value.hpp>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "redfish_model.h"

namespace racktel::redfish {

struct fetched_document {
  std::optional<json::value> doc;  // absent when fetching it failed
  std::string error;               // why, then
};
using document_cache = std::map<std::string, fetched_document>;

struct discovery_limits {
  std::size_t max_members = 4096;   // per collection; larger ones are skipped as malformed
  std::size_t max_sensors = 20000;  // per BMC
};

struct discovery_result {
  std::vector<std::string> missing;     // fetch these, then walk again; empty when done
  std::string fatal;                    // the service root or chassis collection is unusable
  std::vector<sensor_def> sensors;      // complete only when `missing` and `fatal` are empty
  std::vector<std::string> poll_uris;   // what to fetch at each poll
  std::vector<std::string> problems;    // resources skipped, each with why
  bool expand = false;                  // the service offers $expand and it is used
  bool complete() const { return missing.empty() && fatal.empty(); }
};

discovery_result walk_discovery(const document_cache& cache, const discovery_limits& limits = {});

}  // namespace racktel::redfish
