#include "commission_command.h"

#include <boost/json.hpp>

namespace racktel {
namespace json = boost::json;

commission_command parse_commission_command(const std::string& line) {
  commission_command c;
  boost::system::error_code ec;
  const json::value v = json::parse(line, ec);
  const json::object* o = ec ? nullptr : v.if_object();
  auto text = [&](const char* key, std::string& out) {
    const json::value* field = o->if_contains(key);
    if (field == nullptr) return true;
    if (!field->is_string()) return false;
    out = std::string(field->as_string());
    return true;
  };
  if (o == nullptr || !text("expect", c.expect) || !text("source", c.source) || !text("by", c.by)) {
    c.error = "\"commission\" expects a JSON object with expect, source and by (strings) and publish (true or false)";
    return c;
  }
  if (const json::value* publish = o->if_contains("publish")) {
    if (!publish->is_bool()) {
      c.error = "\"publish\" must be true or false";
      return c;
    }
    c.publish = publish->as_bool();
  }
  if (c.source.empty()) c.source = "expectations";
  return c;
}

std::string format_commission_command(const commission_command& c) {
  return "commission " +
         json::serialize(json::object{{"expect", c.expect}, {"source", c.source}, {"publish", c.publish}, {"by", c.by}});
}

std::string commission_json(const commission_report& report, bool published,
                            const std::vector<expectation_error>& errors, const std::string& message) {
  json::array checks;
  for (const check_result& c : report.checks) {
    checks.push_back(json::object{{"name", c.name},
                                  {"passed", c.passed},
                                  {"findings", json::array(c.findings.begin(), c.findings.end())}});
  }
  json::array error_lines;
  for (const expectation_error& e : errors) error_lines.push_back(json::string(e.to_string()));
  json::object o{{"passed", errors.empty() && message.empty() && report.passed},
                 {"pending", report.pending},
                 {"published", published},
                 {"checks", std::move(checks)},
                 {"errors", std::move(error_lines)}};
  if (!message.empty()) o["message"] = message;
  return json::serialize(o);
}

}  // namespace racktel
