// The `snmp` driver: metered PDUs, switches and anything else with a MIB,
// through net-snmp's single-session API (one session per device, never the
// library's global session list, which is not thread-safe). What to read is
// a profile (snmp_profile.h, config/profiles/snmp-*.toml).
//
// Config keys:
//   timeout = "1s"                       per request and per retry, never past the read's deadline
//   retries = 1                          retransmissions of an unanswered request
//   max_repetitions = 16                 rows per GETBULK request (fewer when many columns)
//   max_rows = 10000                     per table: a device listing more is cut there
//   [[drivers.devices]]                  one table per device
//   name = "pdu-a"                       [A-Za-z0-9_.-], part of every sensor id
//   address = "10.1.2.3"                 host, host:port or [v6]:port; UDP port 161 by default
//   profile = "/usr/share/racktel/profiles/snmp-apc-rpdu2.toml"
//   location = "pdu=a"                   labels added to each of its sensors
//   version = "2c" | "3"
//   community_file = "/etc/racktel/pdu-community"        (v2c; or community = "...")
//   user = "racktel"                                      (v3)
//   auth = "SHA-256"                     SHA, SHA-224, SHA-256, SHA-384, SHA-512
//   auth_password_file = "..."           (or auth_password)
//   privacy = "AES"                      AES (AES-128), AES-192, AES-256, or "none"
//   privacy_password_file = "..."        (or privacy_password)
//
// All devices of an instance are polled at once: every device has a request
// in flight, answers are taken as they come, each device's next request
// goes out as soon as its last answer is in. Scalars are fetched with GET,
// tables with GETBULK over all their columns together. A device that does
// not answer makes its readings errors and, after repeated failures, is
// skipped for a few reads; a table whose rows change (an outlet added)
// changes the catalog.
#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>
#include <net-snmp/library/large_fd_set.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <ctime>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "racktel/driver.h"
#include "snmp_profile.h"
#include "support/backoff.h"
#include "support/config_keys.h"
#include "support/device_keys.h"
#include "support/secret_file.h"
#include "support/single_group.h"

namespace racktel::snmp {
namespace {

// net-snmp's own start-up, once per process: no config files, no persistent
// state (the agent's sandbox has no /var/lib/snmp), no MIB loading.
void init_net_snmp() {
  static std::once_flag once;
  std::call_once(once, [] {
    netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DONT_READ_CONFIGS, 1);
    netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DISABLE_PERSISTENT_LOAD, 1);
    netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DISABLE_PERSISTENT_SAVE, 1);
    netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DONT_PERSIST_STATE, 1);
    netsnmp_ds_set_string(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_MIBDIRS, "");
    netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_MIB_ERRORS, 0);
    netsnmp_ds_set_int(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_MIB_WARNINGS, 0);
    init_snmp("racktel");
    // init_snmp logs to stderr when nothing else is set up; the driver reports what matters itself.
    snmp_disable_log();
  });
}

struct credentials {
  long version = SNMP_VERSION_2c;
  std::string community;
  std::string user;
  const oid* auth_proto = nullptr;
  std::size_t auth_proto_len = 0;
  std::string auth_password;
  const oid* priv_proto = nullptr;
  std::size_t priv_proto_len = 0;
  std::string priv_password;
};

struct device {
  std::string name;
  std::string peer;      // "udp:10.1.2.3:161", "udp6:[fd00::5]:161"
  std::string location;
  credentials cred;
  profile prof;
  std::vector<table_walk> walks;
  std::vector<value> scalar_values;
  std::vector<catalog_sensor> sensors;
  std::uint64_t shape = 0;
  bool cataloged = false;     // sensors reflect at least one complete poll
  void* session = nullptr;    // snmp_sess_open's handle
  drivers::device_backoff backoff;
  std::string last_error;
  unsigned requests_last_poll = 0;

  // This poll's progress; the callback matches answers to `expected_reqid`.
  enum class step : std::uint8_t { scalars, walks, done, failed } now = step::done;
  int expected_reqid = 0;
  std::size_t next_scalar = 0;  // first scalar of the request in flight or the next one
  std::size_t walk = 0;
  std::string error;
  bool timed_out = false;
  unsigned requests = 0;

  ~device() {
    if (session != nullptr) snmp_sess_close(session);
  }
};

struct instance {
  const racktel_host* host = nullptr;
  std::chrono::milliseconds timeout{1000};
  int retries = 1;
  std::uint32_t max_repetitions = 16;
  std::size_t max_rows = 10000;
  std::vector<std::unique_ptr<device>> devices;
  // The instance's catalog: device and index in its sensors, per sensor.
  std::vector<std::pair<device*, std::size_t>> catalog;
  std::uint64_t generation = 0;

  void log(racktel_log_level level, const std::string& m) const { host->log(host->ctx, level, m.c_str()); }

  void rebuild_catalog() {
    catalog.clear();
    for (auto& d : devices) {
      for (std::size_t i = 0; i < d->sensors.size(); ++i) catalog.emplace_back(d.get(), i);
    }
    ++generation;
  }
};

// "host", "host:port", "[v6]" or "[v6]:port" -> net-snmp's peer name.
bool parse_address(const std::string& text, std::string& peer) {
  std::string host;
  std::string port = "161";
  bool v6 = false;
  if (text.starts_with("[")) {
    const auto close = text.find(']');
    if (close == std::string::npos) return false;
    host = text.substr(1, close - 1);
    v6 = true;
    if (close + 1 < text.size()) {
      if (text[close + 1] != ':') return false;
      port = text.substr(close + 2);
    }
  } else if (std::count(text.begin(), text.end(), ':') == 1) {
    host = text.substr(0, text.find(':'));
    port = text.substr(text.find(':') + 1);
  } else if (text.find(':') != std::string::npos) {
    return false;  // a bare IPv6 address needs brackets: "[fd00::5]:161"
  } else {
    host = text;
  }
  if (host.empty() || port.empty() || port.size() > 5 ||
      !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; }) || std::stoi(port) < 1 ||
      std::stoi(port) > 65535) {
    return false;
  }
  if (!std::all_of(host.begin(), host.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == ':' || c == '%';
      })) {
    return false;
  }
  peer = (v6 ? "udp6:[" + host + "]:" : "udp:" + host + ":") + port;
  return true;
}

bool read_credentials(const racktel_host* host, const racktel_config* config, const std::string& prefix,
                      credentials& c) {
  bool ok = true;
  const char* v = nullptr;
  std::string version = "2c";
  if (int got = config->get_string(config->ctx, (prefix + "version").c_str(), &v); got == 1) {
    version = v;
  } else if (got < 0) {
    ok = false;
  }
  const bool strict = RACKTEL_HOST_STRICT_SECURITY(host);
  if (version == "2c") {
    c.version = SNMP_VERSION_2c;
    bool present = false;
    ok = drivers::read_secret(config, prefix, "community", c.community, &present) && ok;
    if (ok && (!present || c.community.empty())) {
      config->error(config->ctx, (prefix + "community_file").c_str(),
                    "SNMP v2c needs \"community_file\" (or \"community\"): the device's read community");
      ok = false;
    }
    if (strict) {
      config->error(config->ctx, (prefix + "version").c_str(),
                    "SNMP v2c sends its community in cleartext; use version = \"3\" with auth and privacy "
                    "([agent] security = \"strict\")");
      ok = false;
    }
    return ok;
  }
  if (version != "3") {
    config->error(config->ctx, (prefix + "version").c_str(), "expected \"2c\" or \"3\"");
    return false;
  }
  c.version = SNMP_VERSION_3;
  if (int got = config->get_string(config->ctx, (prefix + "user").c_str(), &v); got == 1 && *v != '\0') {
    c.user = v;
  } else {
    if (got >= 0) config->error(config->ctx, (prefix + "user").c_str(), "SNMP v3 needs the USM \"user\"");
    ok = false;
  }
  std::string auth = "SHA-256";
  if (int got = config->get_string(config->ctx, (prefix + "auth").c_str(), &v); got == 1) {
    auth = v;
  } else if (got < 0) {
    ok = false;
  }
  struct proto {
    const char* name;
    const oid* id;
    std::size_t len;
  };
  static const proto auths[] = {
      {"SHA", usmHMACSHA1AuthProtocol, OID_LENGTH(usmHMACSHA1AuthProtocol)},
      {"SHA-224", usmHMAC128SHA224AuthProtocol, OID_LENGTH(usmHMAC128SHA224AuthProtocol)},
      {"SHA-256", usmHMAC192SHA256AuthProtocol, OID_LENGTH(usmHMAC192SHA256AuthProtocol)},
      {"SHA-384", usmHMAC256SHA384AuthProtocol, OID_LENGTH(usmHMAC256SHA384AuthProtocol)},
      {"SHA-512", usmHMAC384SHA512AuthProtocol, OID_LENGTH(usmHMAC384SHA512AuthProtocol)},
  };
  static const proto privs[] = {
      {"AES", usmAESPrivProtocol, OID_LENGTH(usmAESPrivProtocol)},
      {"AES-128", usmAESPrivProtocol, OID_LENGTH(usmAESPrivProtocol)},
      {"AES-192", usmAES192PrivProtocol, OID_LENGTH(usmAES192PrivProtocol)},
      {"AES-256", usmAES256PrivProtocol, OID_LENGTH(usmAES256PrivProtocol)},
  };
  if (auth != "none") {
    const auto* a = std::find_if(std::begin(auths), std::end(auths), [&](const proto& p) { return auth == p.name; });
    if (a == std::end(auths)) {
      config->error(config->ctx, (prefix + "auth").c_str(),
                    "expected \"SHA\", \"SHA-224\", \"SHA-256\", \"SHA-384\", \"SHA-512\" or \"none\"");
      ok = false;
    } else {
      c.auth_proto = a->id;
      c.auth_proto_len = a->len;
    }
    bool present = false;
    ok = drivers::read_secret(config, prefix, "auth_password", c.auth_password, &present) && ok;
    if (ok && (!present || c.auth_password.size() < 8)) {
      config->error(config->ctx, (prefix + "auth_password_file").c_str(),
                    "SNMP v3 authentication needs \"auth_password_file\" with a pass phrase of 8 characters or more");
      ok = false;
    }
  }
  std::string privacy = auth == "none" ? "none" : "AES";
  if (int got = config->get_string(config->ctx, (prefix + "privacy").c_str(), &v); got == 1) {
    privacy = v;
  } else if (got < 0) {
    ok = false;
  }
  if (privacy != "none") {
    const auto* p = std::find_if(std::begin(privs), std::end(privs), [&](const proto& x) { return privacy == x.name; });
    if (p == std::end(privs)) {
      config->error(config->ctx, (prefix + "privacy").c_str(), "expected \"AES\", \"AES-192\", \"AES-256\" or \"none\"");
      ok = false;
    } else if (auth == "none") {
      config->error(config->ctx, (prefix + "privacy").c_str(), "privacy needs authentication: set \"auth\"");
      ok = false;
    } else {
      c.priv_proto = p->id;
      c.priv_proto_len = p->len;
    }
    bool present = false;
    ok = drivers::read_secret(config, prefix, "privacy_password", c.priv_password, &present) && ok;
    if (ok && (!present || c.priv_password.size() < 8)) {
      config->error(config->ctx, (prefix + "privacy_password_file").c_str(),
                    "SNMP v3 privacy needs \"privacy_password_file\" with a pass phrase of 8 characters or more");
      ok = false;
    }
  }
  if (strict && (c.auth_proto == nullptr || c.priv_proto == nullptr)) {
    config->error(config->ctx, (prefix + "privacy").c_str(),
                  "without authentication and privacy SNMP travels in cleartext ([agent] security = \"strict\")");
    ok = false;
  }
  return ok;
}

int snmp_open_instance(const racktel_host* host, const racktel_config* config, std::uint32_t flags,
                       void** out) noexcept {
  try {
    auto inst = std::make_unique<instance>();
    inst->host = host;
    bool ok = true;
    ok = drivers::read_duration(config, "timeout", 10, 60000, "a duration from 10ms to 60s", inst->timeout) && ok;
    std::int64_t number = inst->retries;
    ok = drivers::read_int(config, "retries", 0, 5, "0 to 5 retransmissions", number) && ok;
    inst->retries = static_cast<int>(number);
    number = inst->max_repetitions;
    ok = drivers::read_int(config, "max_repetitions", 1, 100, "1 to 100 rows per GETBULK request", number) && ok;
    inst->max_repetitions = static_cast<std::uint32_t>(number);
    number = static_cast<std::int64_t>(inst->max_rows);
    ok = drivers::read_int(config, "max_rows", 1, 100000, "1 to 100000 rows per table", number) && ok;
    inst->max_rows = static_cast<std::size_t>(number);
    const int count = config->array_size(config->ctx, "devices");
    if (count <= 0) {
      config->error(config->ctx, "devices", "expected [[drivers.devices]] tables: name, address, profile");
      return RACKTEL_DRIVER_FAILED;
    }
    for (int i = 0; i < count; ++i) {
      const std::string prefix = "devices[" + std::to_string(i) + "].";
      auto d = std::make_unique<device>();
      const char* v = nullptr;
      drivers::device_keys keys;
      std::vector<std::string> taken;
      for (const auto& other : inst->devices) taken.push_back(other->name);
      ok = drivers::read_device_keys(config, prefix, taken, "/usr/share/racktel/profiles/snmp-apc-rpdu2.toml", keys) &&
           ok;
      d->name = keys.name;
      d->location = keys.location;
      if (config->get_string(config->ctx, (prefix + "address").c_str(), &v) != 1 || !parse_address(v, d->peer)) {
        config->error(config->ctx, (prefix + "address").c_str(),
                      "expected \"host\", \"host:port\" or \"[v6]:port\" such as \"10.1.2.3\" or \"[fd00::5]:161\"");
        ok = false;
      }
      ok = read_credentials(host, config, prefix, d->cred) && ok;
      if (!keys.profile_read) continue;
      profile_result parsed = parse_profile(keys.profile_text, keys.profile_path);
      for (const auto& e : parsed.errors) {
        config->error(config->ctx, (prefix + "profile").c_str(), e.c_str());
        ok = false;
      }
      d->prof = std::move(parsed.p);
      d->walks = walks_for(d->prof, inst->max_rows);
      d->scalar_values.assign(d->prof.scalars.size(), value{});
      // Scalars are known before the device answers; table rows once it has.
      d->sensors = catalog_for(d->prof, d->name, d->location, d->walks);
      inst->devices.push_back(std::move(d));
    }
    if (!ok) return RACKTEL_DRIVER_FAILED;
    if ((flags & RACKTEL_OPEN_VALIDATE_ONLY) == 0) init_net_snmp();
    inst->rebuild_catalog();
    *out = inst.release();
    return RACKTEL_DRIVER_OK;
  } catch (const std::exception& e) {
    host->log(host->ctx, RACKTEL_LOG_ERROR, e.what());
    return RACKTEL_DRIVER_FAILED;
  }
}

void snmp_close_instance(void* p) noexcept { delete static_cast<instance*>(p); }

std::uint32_t snmp_sensor_count(void* p) noexcept {
  return static_cast<std::uint32_t>(static_cast<instance*>(p)->catalog.size());
}

int snmp_sensor_info(void* p, std::uint32_t index, racktel_sensor_info* info) noexcept {
  const auto& catalog = static_cast<instance*>(p)->catalog;
  if (index >= catalog.size()) return RACKTEL_DRIVER_FAILED;
  drivers::describe(catalog[index].first->sensors[catalog[index].second], info);
  return RACKTEL_DRIVER_OK;
}

value value_of(const netsnmp_variable_list* vb) {
  value v;
  switch (vb->type) {
    case ASN_INTEGER:
      v.t = value::type::number;
      v.number = static_cast<double>(*vb->val.integer);
      break;
    case ASN_GAUGE:
    case ASN_COUNTER:
    case ASN_TIMETICKS:
    case ASN_UINTEGER:
      v.t = value::type::number;
      v.number = static_cast<double>(static_cast<std::uint32_t>(*vb->val.integer));
      break;
    case ASN_COUNTER64:
      v.t = value::type::number;
      v.number = static_cast<double>((static_cast<std::uint64_t>(vb->val.counter64->high) << 32U) |
                                     static_cast<std::uint32_t>(vb->val.counter64->low));
      break;
    case ASN_OCTET_STR:
      v.t = value::type::text;
      v.text.assign(reinterpret_cast<const char*>(vb->val.string), std::min<std::size_t>(vb->val_len, 256));
      break;
    case SNMP_NOSUCHOBJECT:
    case SNMP_NOSUCHINSTANCE: v.t = value::type::missing; break;
    case SNMP_ENDOFMIBVIEW: v.t = value::type::end_of_view; break;
    default: v.t = value::type::unusable; break;
  }
  return v;
}

std::vector<varbind> varbinds_of(const netsnmp_pdu* pdu) {
  std::vector<varbind> out;
  for (const netsnmp_variable_list* vb = pdu->variables; vb != nullptr; vb = vb->next_variable) {
    varbind b;
    b.oid.assign(vb->name, vb->name + vb->name_length);
    b.v = value_of(vb);
    out.push_back(std::move(b));
  }
  return out;
}

// net-snmp calls this from snmp_sess_read/snmp_sess_timeout with a device as `magic`.
int on_answer(int operation, netsnmp_session*, int reqid, netsnmp_pdu* pdu, void* magic) {
  auto* d = static_cast<device*>(magic);
  // A v3 report (wrong pass phrase, unknown user) carries no request id when
  // the agent could not decrypt the request: it answers whatever is in flight.
  const bool report = operation == NETSNMP_CALLBACK_OP_RECEIVED_MESSAGE && pdu != nullptr &&
                      pdu->command == SNMP_MSG_REPORT && d->expected_reqid != 0;
  if ((reqid != d->expected_reqid && !report) || (d->now != device::step::scalars && d->now != device::step::walks)) {
    return 1;  // an answer to a request of an earlier read, given up on
  }
  d->expected_reqid = 0;
  if (operation != NETSNMP_CALLBACK_OP_RECEIVED_MESSAGE) {
    d->now = device::step::failed;
    d->timed_out = operation == NETSNMP_CALLBACK_OP_TIMED_OUT;
    d->error = d->timed_out ? "no answer (wrong community or address, or the device is down)" : "cannot send";
    return 1;
  }
  if (pdu->command == SNMP_MSG_REPORT) {
    const int why = snmpv3_get_report_type(pdu);
    d->now = device::step::failed;
    d->error = std::string("refused: ") + snmp_api_errstring(why) + " (check the v3 user and pass phrases)";
    return 1;
  }
  if (pdu->errstat != SNMP_ERR_NOERROR) {
    const std::string why = snmp_errstring(static_cast<int>(pdu->errstat));
    if (d->now == device::step::scalars) {
      // The whole GET failed: its scalars read as errors, the rest goes on.
      const std::size_t end = std::min(d->prof.scalars.size(), d->next_scalar + max_varbinds_per_request);
      for (std::size_t i = d->next_scalar; i < end; ++i) d->scalar_values[i] = value{};
      d->next_scalar = end;
    } else {
      d->walks[d->walk].absorb({});  // ends the walk with what it has
      ++d->walk;
    }
    d->error = "the device answered " + why;  // logged after the read; the device still counts as answering
    return 1;
  }
  const std::vector<varbind> answer = varbinds_of(pdu);
  if (d->now == device::step::scalars) {
    const std::size_t end = std::min(d->prof.scalars.size(), d->next_scalar + max_varbinds_per_request);
    for (std::size_t i = d->next_scalar; i < end; ++i) {
      const std::size_t k = i - d->next_scalar;
      const bool same = k < answer.size() && answer[k].oid == d->prof.scalars[i].oid;
      d->scalar_values[i] = same ? answer[k].v : value{};
    }
    d->next_scalar = end;
  } else {
    d->walks[d->walk].absorb(answer);
    if (d->walks[d->walk].done()) ++d->walk;
  }
  return 1;
}

bool open_session(instance& inst, device& d, std::int64_t budget_ns) {
  netsnmp_session s;
  snmp_sess_init(&s);
  std::string peer = d.peer;
  s.peername = peer.data();
  s.version = d.cred.version;
  // Per attempt; the library's probe of a v3 engine id happens here, bounded alike.
  const std::int64_t per_try = std::min<std::int64_t>(inst.timeout.count() * 1000, budget_ns / 1000 / (inst.retries + 1));
  s.timeout = std::max<long>(static_cast<long>(per_try), 1000);
  s.retries = inst.retries;
  s.callback = on_answer;
  s.callback_magic = &d;
  std::string community = d.cred.community;
  std::string user = d.cred.user;
  if (d.cred.version == SNMP_VERSION_2c) {
    s.community = reinterpret_cast<u_char*>(community.data());
    s.community_len = community.size();
  } else {
    s.securityName = user.data();
    s.securityNameLen = user.size();
    s.securityLevel = d.cred.auth_proto == nullptr   ? SNMP_SEC_LEVEL_NOAUTH
                      : d.cred.priv_proto == nullptr ? SNMP_SEC_LEVEL_AUTHNOPRIV
                                                     : SNMP_SEC_LEVEL_AUTHPRIV;
    if (d.cred.auth_proto != nullptr) {
      s.securityAuthProto = snmp_duplicate_objid(d.cred.auth_proto, d.cred.auth_proto_len);
      s.securityAuthProtoLen = d.cred.auth_proto_len;
      s.securityAuthKeyLen = USM_AUTH_KU_LEN;
      if (generate_Ku(s.securityAuthProto, static_cast<u_int>(s.securityAuthProtoLen),
                      reinterpret_cast<const u_char*>(d.cred.auth_password.data()), d.cred.auth_password.size(),
                      s.securityAuthKey, &s.securityAuthKeyLen) != SNMPERR_SUCCESS) {
        d.error = "cannot derive the authentication key";
        return false;
      }
    }
    if (d.cred.priv_proto != nullptr) {
      s.securityPrivProto = snmp_duplicate_objid(d.cred.priv_proto, d.cred.priv_proto_len);
      s.securityPrivProtoLen = d.cred.priv_proto_len;
      s.securityPrivKeyLen = USM_PRIV_KU_LEN;
      if (generate_Ku(s.securityAuthProto, static_cast<u_int>(s.securityAuthProtoLen),
                      reinterpret_cast<const u_char*>(d.cred.priv_password.data()), d.cred.priv_password.size(),
                      s.securityPrivKey, &s.securityPrivKeyLen) != SNMPERR_SUCCESS) {
        d.error = "cannot derive the privacy key";
        return false;
      }
    }
  }
  d.session = snmp_sess_open(&s);
  std::free(s.securityAuthProto);  // snmp_sess_open copied them
  std::free(s.securityPrivProto);
  if (d.session == nullptr) {
    int liberr = 0, syserr = 0;
    char* text = nullptr;
    snmp_error(&s, &liberr, &syserr, &text);
    d.error = std::string("cannot open a session: ") + (text != nullptr ? text : "unknown error");
    d.timed_out = liberr == SNMPERR_TIMEOUT;
    std::free(text);
    return false;
  }
  return true;
}

// Sends the device's next request; moves it to `done` when there is none.
void send_next(instance& inst, device& d) {
  if (d.now == device::step::scalars && d.next_scalar >= d.prof.scalars.size()) d.now = device::step::walks;
  while (d.now == device::step::walks && d.walk < d.walks.size() && d.walks[d.walk].done()) ++d.walk;
  if (d.now == device::step::walks && d.walk >= d.walks.size()) {
    d.now = device::step::done;
    return;
  }
  netsnmp_pdu* pdu = nullptr;
  std::vector<oid> name;
  const auto add = [&](const oid_path& path) {
    name.assign(path.begin(), path.end());
    snmp_add_null_var(pdu, name.data(), name.size());
  };
  if (d.now == device::step::scalars) {
    pdu = snmp_pdu_create(SNMP_MSG_GET);
    const std::size_t end = std::min(d.prof.scalars.size(), d.next_scalar + max_varbinds_per_request);
    for (std::size_t i = d.next_scalar; i < end; ++i) add(d.prof.scalars[i].oid);
  } else {
    const table_walk& w = d.walks[d.walk];
    pdu = snmp_pdu_create(SNMP_MSG_GETBULK);
    pdu->non_repeaters = 0;
    pdu->max_repetitions = static_cast<long>(w.repetitions(inst.max_repetitions));
    for (const oid_path& at : w.next_request()) add(at);
  }
  d.expected_reqid = snmp_sess_async_send(d.session, pdu, on_answer, &d);
  if (d.expected_reqid == 0) {
    snmp_free_pdu(pdu);
    d.now = device::step::failed;
    d.error = std::string("cannot send: ") + snmp_api_errstring(snmp_sess_session(d.session)->s_snmp_errno);
    return;
  }
  ++d.requests;
}

// Polls every device that is due, all at once, until each is done, failed or the deadline passes.
void poll_devices(instance& inst, const racktel_read_request* request, std::vector<device*>& due) {
  for (device* d : due) {
    d->now = device::step::scalars;
    d->next_scalar = 0;
    d->walk = 0;
    d->error.clear();
    d->timed_out = false;
    d->requests = 0;
    d->expected_reqid = 0;
    for (table_walk& w : d->walks) w.restart();
    if (d->session == nullptr && !open_session(inst, *d, request->deadline_ns - drivers::monotonic_ns())) {
      d->now = device::step::failed;
    }
  }
  netsnmp_large_fd_set fds;
  netsnmp_large_fd_set_init(&fds, FD_SETSIZE);
  for (;;) {
    bool busy = false;
    for (device* d : due) {
      if ((d->now == device::step::scalars || d->now == device::step::walks) && d->expected_reqid == 0) {
        send_next(inst, *d);
      }
      busy = busy || d->now == device::step::scalars || d->now == device::step::walks;
    }
    if (!busy) break;
    const std::int64_t left = request->deadline_ns - drivers::monotonic_ns();
    const bool cancelled = request->cancel != nullptr && *request->cancel != 0;
    if (left <= 0 || cancelled) {
      for (device* d : due) {
        if (d->now == device::step::scalars || d->now == device::step::walks) {
          d->now = device::step::failed;
          d->timed_out = true;
          d->error = "not answered within the read's deadline";
        }
      }
      break;
    }
    int numfds = 0;
    int block = 1;
    timeval tv{left / 1'000'000'000, static_cast<long>((left % 1'000'000'000) / 1000)};
    NETSNMP_LARGE_FD_ZERO(&fds);
    for (device* d : due) {
      if (d->session != nullptr) snmp_sess_select_info2(d->session, &numfds, &fds, &tv, &block);
    }
    // `tv` is now the earliest retransmission, or the deadline.
    const int ready = netsnmp_large_fd_set_select(numfds, &fds, nullptr, nullptr, &tv);
    if (ready < 0 && errno != EINTR) break;
    for (device* d : due) {
      if (d->session == nullptr) continue;
      if (ready > 0) {
        snmp_sess_read2(d->session, &fds);
      } else {
        snmp_sess_timeout(d->session);
      }
    }
  }
  netsnmp_large_fd_set_cleanup(&fds);
}

int snmp_read(void* p, const racktel_read_request* request, std::uint32_t* written) noexcept {
  auto* inst = static_cast<instance*>(p);
  try {
    std::vector<device*> due;
    for (auto& d : inst->devices) {
      if (d->backoff.skip_this_read()) {
        d->now = device::step::failed;
        d->timed_out = false;
      } else {
        due.push_back(d.get());
      }
    }
    poll_devices(*inst, request, due);
    bool changed = false;
    for (device* d : due) {
      if (d->now == device::step::failed) {
        if (d->backoff.failures() == 0 || d->error != d->last_error) {
          inst->log(RACKTEL_LOG_WARN, d->name + " (" + d->peer + "): " + d->error);
        }
        d->last_error = d->error;
        d->backoff.failed();
        if (!d->timed_out && d->session != nullptr) {
          snmp_sess_close(d->session);  // a refused session starts afresh: new keys, new engine probe
          d->session = nullptr;
        }
        continue;
      }
      if (d->backoff.succeeded()) inst->log(RACKTEL_LOG_INFO, d->name + " answers again");
      if (!d->error.empty() && d->error != d->last_error) inst->log(RACKTEL_LOG_WARN, d->name + ": " + d->error);
      d->last_error = d->error;
      const std::uint64_t shape = shape_of(d->prof, d->walks);
      if (!d->cataloged || shape != d->shape) {
        d->sensors = catalog_for(d->prof, d->name, d->location, d->walks);
        d->shape = shape;
        d->cataloged = true;
        changed = true;
        inst->log(RACKTEL_LOG_INFO, d->name + ": " + std::to_string(d->sensors.size()) + " sensors in " +
                                        std::to_string(d->requests) + " requests per read");
      }
      for (const table_walk& w : d->walks) {
        if (w.truncated() && d->requests_last_poll == 0) {
          inst->log(RACKTEL_LOG_WARN, d->name + ": the walk of " + format_oid(w.columns().front()) +
                                          " stopped early (more than max_rows rows, or an agent that loops)");
        }
      }
      d->requests_last_poll = d->requests;
    }
    if (changed) inst->rebuild_catalog();
    const auto n = static_cast<std::uint32_t>(std::min<std::size_t>(inst->catalog.size(), request->capacity));
    for (std::uint32_t i = 0; i < n; ++i) {
      const auto& [d, index] = inst->catalog[i];
      if (d->now == device::step::failed) {
        request->samples[i] = {i, d->timed_out ? RACKTEL_READING_TIMEOUT : RACKTEL_READING_ERROR, 0.0};
        continue;
      }
      const reading r = read_sensor(d->prof, d->sensors[index], d->scalar_values, d->walks);
      request->samples[i] = {i, r.status, r.value};
    }
    *written = n;
    return RACKTEL_DRIVER_OK;
  } catch (const std::exception& e) {
    inst->log(RACKTEL_LOG_ERROR, e.what());
    return RACKTEL_DRIVER_FAILED;
  }
}

std::uint64_t snmp_catalog_generation(void* p) noexcept { return static_cast<instance*>(p)->generation; }

}  // namespace
}  // namespace racktel::snmp

extern "C" const racktel_driver racktel_snmp_driver = {
    sizeof(racktel_driver),
    RACKTEL_DRIVER_ABI_MAJOR,
    RACKTEL_DRIVER_ABI_MINOR,
    "snmp",
    "PDUs, switches and anything with a MIB over SNMP v2c/v3 (net-snmp), scalars, tables and ENTITY-SENSOR-MIB as data",
    RACKTEL_DRIVER_MAY_BLOCK,
    racktel::snmp::snmp_open_instance,
    racktel::snmp::snmp_close_instance,
    racktel::snmp::snmp_sensor_count,
    racktel::snmp::snmp_sensor_info,
    racktel::drivers::single_group_count,
    racktel::drivers::single_group_info,
    racktel::snmp::snmp_read,
    racktel::snmp::snmp_catalog_generation,
    racktel::drivers::single_group_names,
};
