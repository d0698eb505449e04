// The page's files, built into the binary from agent/http/page/ (see
// embed_page.cmake): nothing is fetched from elsewhere, so the page works in
// an aisle with no network.
#pragma once

#include <string_view>

namespace racktel {

struct page_asset {
  std::string_view content_type;
  std::string_view body;
};

// "/" (or "/index.html"), "/page.js", "/page.css"; null for anything else.
const page_asset* find_page_asset(std::string_view path);

}  // namespace racktel
