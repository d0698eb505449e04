// `racktel commission` over the status socket, one line per request:
//   commission {"expect":"<the expectation file's text>","source":"ironwood.toml","publish":false,"by":"alice"}
// The agent parses the file (errors name source:line:column), checks the
// rack as it is now and answers with the report; with "publish": true it
// also sends the report retained to .../commission. Pure: parsing and JSON.
#pragma once

#include <string>
#include <vector>

#include "commission/commission.h"

namespace racktel {

struct commission_command {
  std::string expect;   // the expectation file's text
  std::string source;   // its name, for errors and the published report
  bool publish = false;
  std::string by;
  std::string error;    // a malformed request
};
// `line` without the leading "commission".
commission_command parse_commission_command(const std::string& line);
std::string format_commission_command(const commission_command& command);

// {"passed":..., "pending":N, "published":..., "checks":[{"name","passed","findings"}], "errors":[...]}
std::string commission_json(const commission_report& report, bool published,
                            const std::vector<expectation_error>& errors, const std::string& message = {});

}  // namespace racktel
