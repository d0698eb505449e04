#include "ingest/stream.h"

#include <algorithm>

namespace racktel::ingest {

std::optional<stream_topic> parse_stream_topic(std::string_view topic) {
  constexpr std::string_view root = "racktel/v1/";
  if (!topic.starts_with(root)) return std::nullopt;
  topic.remove_prefix(root.size());
  const std::size_t a = topic.find('/');
  if (a == std::string_view::npos || a == 0) return std::nullopt;
  const std::size_t b = topic.find('/', a + 1);
  if (b == std::string_view::npos || b == a + 1) return std::nullopt;
  stream_topic t;
  t.site = std::string(topic.substr(0, a));
  t.rack = std::string(topic.substr(a + 1, b - a - 1));
  const std::string_view what = topic.substr(b + 1);
  if (what == "data") {
    t.kind = topic_kind::data;
  } else if (what == "catalog") {
    t.kind = topic_kind::catalog;
  } else if (what == "state") {
    t.kind = topic_kind::state;
  } else if (what == "alarms/active") {
    t.kind = topic_kind::alarms_active;
  }
  return t;
}

known_catalog::known_catalog(decoded_catalog d, std::string raw)
    : decoded(std::move(d)), payload(std::move(raw)), series(decoded.catalog) {}

std::size_t known_catalog::bytes() const {
  std::size_t n = sizeof(*this) + series.bytes() + payload.capacity();
  for (const auto& s : decoded.catalog.sensors) {
    n += sizeof(s) + s.driver.heap_bytes() + s.id.heap_bytes() + s.name.heap_bytes() + s.unit.heap_bytes() +
         s.location.heap_bytes();
  }
  return n;
}

std::optional<std::uint64_t> peek_catalog_version(std::string_view payload) {
  // Catalog.version is field 1, fixed64: tag 0x09 and 8 little-endian bytes,
  // written first by every protobuf encoder that writes fields in order.
  if (payload.size() < 9 || static_cast<unsigned char>(payload[0]) != 0x09) return std::nullopt;
  std::uint64_t v = 0;
  for (unsigned i = 0; i < 8; ++i) v |= static_cast<std::uint64_t>(static_cast<unsigned char>(payload[1 + i])) << (8U * i);
  return v;
}

catalog_cache::added catalog_cache::add(std::string_view payload, const decode_limits& limits) {
  added out;
  if (auto version = peek_catalog_version(payload); version && by_version_.contains(*version)) {
    out.version = *version;
    find(*version);  // refresh its recency
    return out;
  }
  auto decoded = decode_catalog(payload, limits, &out.error);
  if (!decoded) {
    if (out.error.empty()) out.error = "not a Catalog";
    return out;
  }
  out.version = decoded->catalog.version;
  if (by_version_.contains(out.version)) return out;  // written with fields out of order, but known
  out.is_new = true;
  recency_.push_front(out.version);
  by_version_[out.version] = {std::make_shared<const known_catalog>(std::move(*decoded), std::string(payload)), recency_.begin()};
  while (by_version_.size() > max_) {
    by_version_.erase(recency_.back());
    recency_.pop_back();
  }
  return out;
}

std::shared_ptr<const known_catalog> catalog_cache::find(std::uint64_t version) {
  auto it = by_version_.find(version);
  if (it == by_version_.end()) return nullptr;
  recency_.splice(recency_.begin(), recency_, it->second.position);
  return it->second.catalog;
}

std::size_t catalog_cache::bytes() const {
  std::size_t n = 0;
  for (const auto& [version, e] : by_version_) n += e.catalog->bytes();
  return n;
}

bool dedup_window::seen(const std::string& rack_key, const boot_id& boot, std::uint64_t sequence, std::int64_t now_ms) {
  run& r = runs_[{rack_key, boot}];
  r.last_seen_ms = now_ms;
  auto& ranges = r.ranges;
  // The range starting at or before `sequence`.
  auto after = ranges.upper_bound(sequence);
  if (after != ranges.begin()) {
    auto at = std::prev(after);
    if (sequence <= at->second) return true;
    if (at->second + 1 == sequence) {  // extends it, and perhaps joins the next
      at->second = sequence;
      if (after != ranges.end() && after->first == sequence + 1) {
        at->second = after->second;
        ranges.erase(after);
      }
      return false;
    }
  }
  if (after != ranges.end() && after->first == sequence + 1) {  // extends the next one downwards
    const std::uint64_t last = after->second;
    ranges.erase(after);
    ranges[sequence] = last;
    return false;
  }
  ranges[sequence] = sequence;
  if (ranges.size() > max_ranges_) ranges.erase(ranges.begin());  // the oldest sequences
  return false;
}

void dedup_window::forget_idle(std::int64_t now_ms) {
  for (auto it = runs_.begin(); it != runs_.end();) {
    if (now_ms - it->second.last_seen_ms > forget_after_.count()) {
      it = runs_.erase(it);
    } else {
      ++it;
    }
  }
}

std::optional<std::uint64_t> waiting_room::add(std::uint64_t catalog_version, std::uint64_t item, std::int64_t now_ms) {
  std::optional<std::uint64_t> pushed_out;
  if (waiting_.size() >= max_batches_ && !waiting_.empty()) {
    pushed_out = waiting_.front().item;
    waiting_.pop_front();
  }
  waiting_.push_back({catalog_version, item, now_ms});
  return pushed_out;
}

std::vector<std::uint64_t> waiting_room::release(std::uint64_t catalog_version) {
  std::vector<std::uint64_t> out;
  for (auto it = waiting_.begin(); it != waiting_.end();) {
    if (it->version == catalog_version) {
      out.push_back(it->item);
      it = waiting_.erase(it);
    } else {
      ++it;
    }
  }
  return out;
}

std::vector<std::uint64_t> waiting_room::expire(std::int64_t now_ms) {
  std::vector<std::uint64_t> out;
  while (!waiting_.empty() && now_ms - waiting_.front().since_ms >= max_wait_.count()) {
    out.push_back(waiting_.front().item);
    waiting_.pop_front();
  }
  return out;
}

std::string encode_buffer_record(std::string_view site, std::string_view rack, std::string_view batch) {
  std::string out;
  out.reserve(3 + site.size() + rack.size() + batch.size());
  out += '\x01';
  out += static_cast<char>(std::min<std::size_t>(site.size(), 255));
  out.append(site.substr(0, 255));
  out += static_cast<char>(std::min<std::size_t>(rack.size(), 255));
  out.append(rack.substr(0, 255));
  out.append(batch);
  return out;
}

std::optional<buffer_record> decode_buffer_record(std::string_view bytes, std::string* error) {
  auto fail = [&](const char* why) -> std::optional<buffer_record> {
    if (error) *error = why;
    return std::nullopt;
  };
  if (bytes.empty() || bytes[0] != '\x01') return fail("not a buffer record of format 1");
  std::size_t at = 1;
  buffer_record r;
  for (std::string* field : {&r.site, &r.rack}) {
    if (at >= bytes.size()) return fail("the record ends inside its rack name");
    const auto length = static_cast<unsigned char>(bytes[at++]);
    if (length == 0 || bytes.size() - at < length) return fail("a site or rack name is empty or runs past the record");
    field->assign(bytes.substr(at, length));
    at += length;
  }
  r.batch = bytes.substr(at);
  return r;
}

}  // namespace racktel::ingest
