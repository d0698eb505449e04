// The `ipmi` driver: BMCs that speak IPMI but not Redfish, over IPMI 2.0 LAN
// (lanplus) through FreeIPMI's libraries, never by running ipmitool.
//
// Config keys:
//   timeout = "2s"                session timeout per BMC request, never past the read's deadline
//   username = "racktel"          also per BMC
//   password_file = "..."         (or password); also per BMC
//   k_g_file = "..."              the BMC key, when the BMC has one set (or k_g)
//   cipher_suite = 17             17 (HMAC-SHA256, AES-CBC-128) by default
//   privilege = "user"            user, operator or admin
//   workarounds = ["opensesspriv"]  FreeIPMI's: authcap, intel20, supermicro20, sun20, opensesspriv, integritycheckvalue
//   sdr_check = "60s"             how often to ask the BMC whether its SDR repository changed
//   [[drivers.bmcs]]              one table per BMC
//   name = "tray3"                [A-Za-z0-9_.-], part of every sensor id
//   address = "10.1.3.3"          host or host:port (UDP 623 by default)
//   location = "tray=3"
//
// BMCs are read one after another on the instance's lane, each in a session
// of its own read, within what is left of the deadline. A BMC's SDR
// repository is cached in the instance's state directory and checked
// against the BMC's own timestamps at the first read and every sdr_check:
// when the BMC says its repository changed, it is read again and the
// catalog follows.
#include <freeipmi/freeipmi.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "ipmi_sdr.h"
#include "racktel/driver.h"
#include "support/backoff.h"
#include "support/config_keys.h"
#include "support/device_keys.h"
#include "support/secret_file.h"
#include "support/single_group.h"

namespace racktel::ipmi {
namespace {

struct credentials {
  std::string username, password, k_g;
};

struct bmc {
  std::string name, host, location;
  credentials cred;
  std::string cache_file;
  ipmi_ctx_t ctx = nullptr;              // the session, during a read
  ipmi_sdr_ctx_t sdr = nullptr;
  ipmi_sensor_read_ctx_t reader = nullptr;
  std::vector<sdr_sensor> sdrs;
  std::vector<ipmi_sensor> sensors;
  std::int64_t sdr_checked_ns = 0;
  drivers::device_backoff backoff;
  std::string last_error;

  void close_session() {
    if (reader != nullptr) ipmi_sensor_read_ctx_destroy(reader);
    if (ctx != nullptr) {
      ipmi_ctx_close(ctx);
      ipmi_ctx_destroy(ctx);
    }
    reader = nullptr;
    ctx = nullptr;
  }
  ~bmc() {
    close_session();
    if (sdr != nullptr) ipmi_sdr_ctx_destroy(sdr);
  }
};

struct instance {
  const racktel_host* host = nullptr;
  std::chrono::milliseconds timeout{2000};
  std::chrono::milliseconds sdr_check{60000};
  std::uint8_t cipher_suite = 17;
  std::uint8_t privilege = IPMI_PRIVILEGE_LEVEL_USER;
  unsigned int workarounds = 0;
  std::string cache_dir;  // the state directory, or a private one removed at close
  bool own_cache_dir = false;
  std::vector<std::unique_ptr<bmc>> bmcs;
  std::vector<std::pair<bmc*, std::size_t>> catalog;
  std::uint64_t generation = 0;

  void log(racktel_log_level level, const std::string& m) const { host->log(host->ctx, level, m.c_str()); }
  void rebuild_catalog() {
    catalog.clear();
    for (auto& b : bmcs) {
      for (std::size_t i = 0; i < b->sensors.size(); ++i) catalog.emplace_back(b.get(), i);
    }
    ++generation;
  }
  ~instance() {
    bmcs.clear();
    if (own_cache_dir) {
      std::error_code ec;
      std::filesystem::remove_all(cache_dir, ec);
    }
  }
};

bool read_credentials(const racktel_config* config, const std::string& prefix, credentials& c) {
  bool ok = true;
  const char* v = nullptr;
  if (int got = config->get_string(config->ctx, (prefix + "username").c_str(), &v); got == 1) {
    c.username = v;
  } else if (got < 0) {
    ok = false;
  }
  ok = drivers::read_secret(config, prefix, "password", c.password) && ok;
  ok = drivers::read_secret(config, prefix, "k_g", c.k_g) && ok;
  return ok;
}

// "host" or "host:port" ("[v6]:port") as FreeIPMI takes it.
bool valid_address(const std::string& a) {
  if (a.empty() || a.size() > 255) return false;
  return std::all_of(a.begin(), a.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == ':' || c == '[' || c == ']';
  });
}

int ipmi_open_instance(const racktel_host* host, const racktel_config* config, std::uint32_t flags,
                       void** out) noexcept {
  try {
    auto inst = std::make_unique<instance>();
    inst->host = host;
    bool ok = true;
    ok = drivers::read_duration(config, "timeout", 100, 60000, "a duration from 100ms to 60s", inst->timeout) && ok;
    ok = drivers::read_duration(config, "sdr_check", 1000, 3600000, "a duration from 1s to 1h", inst->sdr_check) && ok;
    std::int64_t suite = inst->cipher_suite;
    static const std::set<std::int64_t> suites{0, 1, 2, 3, 6, 7, 8, 11, 12, 15, 16, 17};
    static const std::set<std::int64_t> encrypted{3, 8, 12, 17};
    if (!drivers::read_int(config, "cipher_suite", 0, 17, "an IPMI 2.0 cipher suite: 0-3, 6-8, 11, 12, 15-17", suite)) {
      ok = false;
    } else if (!suites.contains(suite)) {
      config->error(config->ctx, "cipher_suite", "expected an IPMI 2.0 cipher suite: 0-3, 6-8, 11, 12, 15-17");
      ok = false;
    } else if (RACKTEL_HOST_STRICT_SECURITY(host) && !encrypted.contains(suite)) {
      config->error(config->ctx, "cipher_suite",
                    "this cipher suite does not encrypt: use 17 or 3 ([agent] security = \"strict\")");
      ok = false;
    }
    inst->cipher_suite = static_cast<std::uint8_t>(suite);
    const char* v = nullptr;
    if (int got = config->get_string(config->ctx, "privilege", &v); got == 1) {
      static const std::map<std::string, std::uint8_t, std::less<>> levels{
          {"user", IPMI_PRIVILEGE_LEVEL_USER}, {"operator", IPMI_PRIVILEGE_LEVEL_OPERATOR},
          {"admin", IPMI_PRIVILEGE_LEVEL_ADMIN}};
      if (auto l = levels.find(v); l != levels.end()) {
        inst->privilege = l->second;
      } else {
        config->error(config->ctx, "privilege", "expected \"user\", \"operator\" or \"admin\"");
        ok = false;
      }
    } else if (got < 0) {
      ok = false;
    }
    const int workarounds = config->array_size(config->ctx, "workarounds");
    static const std::map<std::string, unsigned int, std::less<>> known{
        {"authcap", IPMI_WORKAROUND_FLAGS_OUTOFBAND_2_0_AUTHENTICATION_CAPABILITIES},
        {"intel20", IPMI_WORKAROUND_FLAGS_OUTOFBAND_2_0_INTEL_2_0_SESSION},
        {"supermicro20", IPMI_WORKAROUND_FLAGS_OUTOFBAND_2_0_SUPERMICRO_2_0_SESSION},
        {"sun20", IPMI_WORKAROUND_FLAGS_OUTOFBAND_2_0_SUN_2_0_SESSION},
        {"opensesspriv", IPMI_WORKAROUND_FLAGS_OUTOFBAND_2_0_OPEN_SESSION_PRIVILEGE},
        {"integritycheckvalue", IPMI_WORKAROUND_FLAGS_OUTOFBAND_2_0_NON_EMPTY_INTEGRITY_CHECK_VALUE}};
    for (int i = 0; i < workarounds; ++i) {
      const std::string key = "workarounds[" + std::to_string(i) + "]";
      if (config->get_string(config->ctx, key.c_str(), &v) == 1 && known.contains(v)) {
        inst->workarounds |= known.find(v)->second;
      } else {
        config->error(config->ctx, key.c_str(),
                      "expected one of authcap, intel20, supermicro20, sun20, opensesspriv, integritycheckvalue");
        ok = false;
      }
    }
    credentials common;
    ok = read_credentials(config, "", common) && ok;
    const int count = config->array_size(config->ctx, "bmcs");
    if (count <= 0) {
      config->error(config->ctx, "bmcs", "expected [[drivers.bmcs]] tables: name, address");
      return RACKTEL_DRIVER_FAILED;
    }
    for (int i = 0; i < count; ++i) {
      const std::string prefix = "bmcs[" + std::to_string(i) + "].";
      auto b = std::make_unique<bmc>();
      if (config->get_string(config->ctx, (prefix + "name").c_str(), &v) == 1) b->name = v;
      if (!drivers::valid_device_name(b->name)) {
        config->error(config->ctx, (prefix + "name").c_str(), "expected a name of 1-64 letters, digits, '_', '.' or '-'");
        ok = false;
      }
      for (const auto& other : inst->bmcs) {
        if (other->name == b->name) {
          config->error(config->ctx, (prefix + "name").c_str(), "two BMCs with one name");
          ok = false;
        }
      }
      if (config->get_string(config->ctx, (prefix + "address").c_str(), &v) != 1 || !valid_address(v)) {
        config->error(config->ctx, (prefix + "address").c_str(), "expected \"host\" or \"host:port\" such as \"10.1.3.3\"");
        ok = false;
      } else {
        b->host = v;
      }
      if (config->get_string(config->ctx, (prefix + "location").c_str(), &v) == 1) b->location = v;
      b->cred = common;
      ok = read_credentials(config, prefix, b->cred) && ok;
      if (b->cred.username.empty()) {
        config->error(config->ctx, (prefix + "username").c_str(), "expected \"username\", for all BMCs or for this one");
        ok = false;
      }
      if (b->cred.password.size() > IPMI_2_0_MAX_PASSWORD_LENGTH) {
        config->error(config->ctx, (prefix + "password_file").c_str(), "an IPMI 2.0 password has at most 20 characters");
        ok = false;
      }
      inst->bmcs.push_back(std::move(b));
    }
    if (!ok) return RACKTEL_DRIVER_FAILED;
    if ((flags & RACKTEL_OPEN_VALIDATE_ONLY) == 0) {
      if (const char* dir = RACKTEL_HOST_STATE_DIR(host); dir != nullptr) {
        inst->cache_dir = dir;
      } else {
        std::string tmp = (std::filesystem::temp_directory_path() / "racktel-ipmi-XXXXXX").string();
        if (::mkdtemp(tmp.data()) == nullptr) {
          inst->log(RACKTEL_LOG_ERROR, "cannot make a directory for the SDR caches: " + std::string(std::strerror(errno)));
          return RACKTEL_DRIVER_FAILED;
        }
        inst->cache_dir = tmp;
        inst->own_cache_dir = true;
      }
      for (auto& b : inst->bmcs) b->cache_file = inst->cache_dir + "/" + b->name + ".sdr";
    }
    inst->rebuild_catalog();
    *out = inst.release();
    return RACKTEL_DRIVER_OK;
  } catch (const std::exception& e) {
    host->log(host->ctx, RACKTEL_LOG_ERROR, e.what());
    return RACKTEL_DRIVER_FAILED;
  }
}

void ipmi_close_instance(void* p) noexcept { delete static_cast<instance*>(p); }

std::uint32_t ipmi_sensor_count(void* p) noexcept {
  return static_cast<std::uint32_t>(static_cast<instance*>(p)->catalog.size());
}

int ipmi_sensor_info(void* p, std::uint32_t index, racktel_sensor_info* info) noexcept {
  const auto& catalog = static_cast<instance*>(p)->catalog;
  if (index >= catalog.size()) return RACKTEL_DRIVER_FAILED;
  drivers::describe(catalog[index].first->sensors[catalog[index].second], info);
  return RACKTEL_DRIVER_OK;
}

// Opens a session to the BMC; false (with b.last_error's successor in `why`) when it cannot.
bool open_session(const instance& inst, bmc& b, std::int64_t budget_ms, std::string& why, bool& timed_out) {
  b.ctx = ipmi_ctx_create();
  if (b.ctx == nullptr) {
    why = "cannot create an IPMI context";
    return false;
  }
  const auto session_ms = static_cast<unsigned int>(std::clamp<std::int64_t>(
      std::min<std::int64_t>(inst.timeout.count(), budget_ms), 100, 60000));
  const unsigned int retransmit_ms = std::max(50U, session_ms / 4);
  if (ipmi_ctx_open_outofband_2_0(b.ctx, b.host.c_str(), b.cred.username.c_str(), b.cred.password.c_str(),
                                  b.cred.k_g.empty() ? nullptr : reinterpret_cast<const unsigned char*>(b.cred.k_g.data()),
                                  static_cast<unsigned int>(b.cred.k_g.size()), inst.privilege, inst.cipher_suite,
                                  session_ms, retransmit_ms, inst.workarounds, IPMI_FLAGS_DEFAULT) < 0) {
    const int error = ipmi_ctx_errnum(b.ctx);
    timed_out = error == IPMI_ERR_SESSION_TIMEOUT || error == IPMI_ERR_CONNECTION_TIMEOUT;
    why = std::string("cannot open a session: ") + ipmi_ctx_errormsg(b.ctx);
    if (error == IPMI_ERR_CIPHER_SUITE_ID_UNAVAILABLE || error == IPMI_ERR_IPMI_ERROR) {
      why += " (cipher suite " + std::to_string(inst.cipher_suite) + "; check what the BMC offers)";
    }
    b.close_session();
    return false;
  }
  b.reader = ipmi_sensor_read_ctx_create(b.ctx);
  if (b.reader == nullptr) {
    why = "cannot create a sensor reader";
    b.close_session();
    return false;
  }
  return true;
}

// Loads the SDR repository from the cache, or from the BMC when the cache is
// missing or the BMC says it changed. Returns false with `why` on failure.
bool load_sdr(bmc& b, std::string& why, bool& changed) {
  if (b.sdr == nullptr) b.sdr = ipmi_sdr_ctx_create();
  if (b.sdr == nullptr) {
    why = "cannot create an SDR context";
    return false;
  }
  ipmi_sdr_cache_close(b.sdr);
  if (ipmi_sdr_cache_open(b.sdr, b.ctx, b.cache_file.c_str()) < 0) {
    const int error = ipmi_sdr_ctx_errnum(b.sdr);
    if (error != IPMI_SDR_ERR_CACHE_READ_CACHE_DOES_NOT_EXIST && error != IPMI_SDR_ERR_CACHE_INVALID &&
        error != IPMI_SDR_ERR_CACHE_OUT_OF_DATE) {
      why = std::string("cannot check the SDR repository: ") + ipmi_sdr_ctx_errormsg(b.sdr);
      return false;
    }
    std::error_code ec;
    std::filesystem::remove(b.cache_file, ec);
    if (ipmi_sdr_cache_create(b.sdr, b.ctx, b.cache_file.c_str(), IPMI_SDR_CACHE_CREATE_FLAGS_OVERWRITE, nullptr,
                              nullptr) < 0 ||
        ipmi_sdr_cache_open(b.sdr, b.ctx, b.cache_file.c_str()) < 0) {
      why = std::string("cannot read the SDR repository: ") + ipmi_sdr_ctx_errormsg(b.sdr);
      std::filesystem::remove(b.cache_file, ec);
      return false;
    }
  }
  std::vector<sdr_sensor> sdrs;
  std::uint16_t count = 0;
  ipmi_sdr_cache_record_count(b.sdr, &count);
  std::uint8_t buffer[IPMI_SDR_MAX_RECORD_LENGTH];
  if (count > 0 && ipmi_sdr_cache_first(b.sdr) == 0) {
    do {
      const int len = ipmi_sdr_cache_record_read(b.sdr, buffer, sizeof buffer);
      if (len <= 0) continue;
      if (auto s = parse_sdr_record(buffer, static_cast<std::size_t>(len))) sdrs.push_back(std::move(*s));
    } while (ipmi_sdr_cache_next(b.sdr) == 1);
  }
  const auto same = [](const sdr_sensor& x, const sdr_sensor& y) { return x.record == y.record; };
  changed = sdrs.size() != b.sdrs.size() || !std::equal(sdrs.begin(), sdrs.end(), b.sdrs.begin(), same);
  if (changed) b.sdrs = std::move(sdrs);
  return true;
}

// Reads one BMC: a sample for each of its sensors. Returns true when its catalog changed.
bool read_bmc(instance& inst, bmc& b, const racktel_read_request* request, std::vector<racktel_sample>& out) {
  const auto fail_all = [&](std::uint32_t status) {
    out.assign(b.sensors.size(), racktel_sample{0, status, 0.0});
  };
  std::string why;
  bool timed_out = false;
  bool changed = false;
  const auto failed = [&] {
    if (b.backoff.failures() == 0 || why != b.last_error) {
      inst.log(RACKTEL_LOG_WARN, b.name + " (" + b.host + "): " + why);
    }
    b.last_error = why;
    b.backoff.failed();
    b.close_session();
    fail_all(timed_out ? RACKTEL_READING_TIMEOUT : RACKTEL_READING_ERROR);
  };
  if (b.backoff.skip_this_read()) {
    fail_all(RACKTEL_READING_ERROR);
    return false;
  }
  const std::int64_t now = drivers::monotonic_ns();
  const std::int64_t budget_ms = (request->deadline_ns - now) / 1'000'000;
  if (budget_ms <= 0) {
    fail_all(RACKTEL_READING_TIMEOUT);
    return false;
  }
  // A session per read: FreeIPMI counts a session idle for longer than its
  // timeout as lost, and a timeout as long as the interval between reads
  // would let one dead BMC hold the lane for that long.
  if (!open_session(inst, b, budget_ms, why, timed_out)) {
    failed();
    return false;
  }
  struct closer {
    bmc& b;
    ~closer() { b.close_session(); }
  } close_at_end{b};
  // The repository is checked against the BMC at the first read and every sdr_check.
  if (b.sdr_checked_ns == 0 || now - b.sdr_checked_ns >= std::chrono::nanoseconds(inst.sdr_check).count()) {
    if (!load_sdr(b, why, changed)) {
      failed();
      return false;
    }
    b.sdr_checked_ns = now;
    if (changed) {
      b.sensors = catalog_for(b.name, b.location, b.sdrs);
      inst.log(RACKTEL_LOG_INFO, b.name + ": " + std::to_string(b.sdrs.size()) + " SDR sensor records, " +
                                     std::to_string(b.sensors.size()) + " sensors (SDR cache " + b.cache_file + ")");
    }
  }
  // One request per sensor record; the threshold sensor's value and state come from the same answer.
  std::map<std::size_t, std::pair<int, std::pair<double, std::uint16_t>>> answers;  // sdr -> (rc, (value, bits))
  out.assign(b.sensors.size(), racktel_sample{0, RACKTEL_READING_ERROR, 0.0});
  for (std::size_t i = 0; i < b.sensors.size(); ++i) {
    const ipmi_sensor& s = b.sensors[i];
    auto a = answers.find(s.sdr);
    if (a == answers.end()) {
      const bool cancelled = request->cancel != nullptr && *request->cancel != 0;
      if (drivers::monotonic_ns() >= request->deadline_ns || cancelled) {
        for (std::size_t j = i; j < b.sensors.size(); ++j) out[j].status = RACKTEL_READING_TIMEOUT;
        return changed;
      }
      const sdr_sensor& record = b.sdrs[s.sdr];
      std::uint8_t raw = 0;
      double* value = nullptr;
      std::uint16_t bits = 0;
      const int rc = ipmi_sensor_read(b.reader, record.record.data(), static_cast<unsigned int>(record.record.size()),
                                      0, &raw, &value, &bits);
      const double v = value != nullptr ? *value : NAN;
      std::free(value);
      if (rc < 0) {
        const int error = ipmi_sensor_read_ctx_errnum(b.reader);
        if (error == IPMI_SENSOR_READ_ERR_IPMI_ERROR || error == IPMI_SENSOR_READ_ERR_SYSTEM_ERROR) {
          // The session, not the sensor: the BMC went away or dropped it.
          timed_out = ipmi_ctx_errnum(b.ctx) == IPMI_ERR_SESSION_TIMEOUT;
          why = std::string("reading ") + record.name + ": " + ipmi_sensor_read_ctx_errormsg(b.reader);
          failed();
          return changed;
        }
      }
      a = answers.emplace(s.sdr, std::pair{rc, std::pair{v, bits}}).first;
    }
    const auto& [rc, reading] = a->second;
    const auto& [v, bits] = reading;
    if (s.bmc_state) {
      out[i] = {0, rc == 1 ? RACKTEL_READING_OK : RACKTEL_READING_ERROR,
                static_cast<double>(static_cast<std::uint8_t>(state_of(bits)))};
    } else if (s.kind == RACKTEL_KIND_STATE) {
      out[i] = {0, rc >= 0 ? RACKTEL_READING_OK : RACKTEL_READING_ERROR, static_cast<double>(bits)};
    } else if (rc == 1 && std::isfinite(v)) {
      out[i] = {0, RACKTEL_READING_OK, v * s.mapping.scale + s.mapping.offset};
    }  // else: the BMC has no reading for it now (unavailable, scanning disabled): an error
  }
  if (b.backoff.succeeded()) inst.log(RACKTEL_LOG_INFO, b.name + " answers again");
  b.last_error.clear();
  return changed;
}

int ipmi_read(void* p, const racktel_read_request* request, std::uint32_t* written) noexcept {
  auto* inst = static_cast<instance*>(p);
  try {
    bool changed = false;
    std::vector<std::vector<racktel_sample>> per_bmc(inst->bmcs.size());
    for (std::size_t i = 0; i < inst->bmcs.size(); ++i) {
      changed = read_bmc(*inst, *inst->bmcs[i], request, per_bmc[i]) || changed;
    }
    if (changed) inst->rebuild_catalog();
    std::uint32_t n = 0;
    for (std::size_t i = 0; i < inst->bmcs.size(); ++i) {
      for (const racktel_sample& s : per_bmc[i]) {
        if (n >= request->capacity) break;
        request->samples[n] = {n, s.status, s.value};
        ++n;
      }
    }
    *written = n;
    return RACKTEL_DRIVER_OK;
  } catch (const std::exception& e) {
    inst->log(RACKTEL_LOG_ERROR, e.what());
    return RACKTEL_DRIVER_FAILED;
  }
}

std::uint64_t ipmi_catalog_generation(void* p) noexcept { return static_cast<instance*>(p)->generation; }

}  // namespace
}  // namespace racktel::ipmi

extern "C" const racktel_driver racktel_ipmi_driver = {
    sizeof(racktel_driver),
    RACKTEL_DRIVER_ABI_MAJOR,
    RACKTEL_DRIVER_ABI_MINOR,
    "ipmi",
    "BMCs over IPMI 2.0 LAN (FreeIPMI): SDR sensors with their thresholds and the BMC's own state",
    RACKTEL_DRIVER_MAY_BLOCK,
    racktel::ipmi::ipmi_open_instance,
    racktel::ipmi::ipmi_close_instance,
    racktel::ipmi::ipmi_sensor_count,
    racktel::ipmi::ipmi_sensor_info,
    racktel::drivers::single_group_count,
    racktel::drivers::single_group_info,
    racktel::ipmi::ipmi_read,
    racktel::ipmi::ipmi_catalog_generation,
    racktel::drivers::single_group_names,
};
