#include <doctest/doctest.h>

#include <cmath>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "store/catalog.h"
#include "store/shared_text.h"

using namespace racktel;

TEST_CASE("shared_text: reads like a string, copies share one allocation") {
  const shared_text empty;
  CHECK(empty.empty());
  CHECK(empty.heap_bytes() == 0);
  CHECK(std::string(empty.c_str()).empty());

  shared_text id("chip07.hbm3_temp");
  CHECK(id == "chip07.hbm3_temp");
  CHECK(id.size() == 16);
  CHECK(id.rfind('.') == 6);
  CHECK(id.substr(0, 6) == "chip07");
  CHECK(id + "/x" == "chip07.hbm3_temp/x");
  CHECK("rack0/" + id == "rack0/chip07.hbm3_temp");
  CHECK(id + id == "chip07.hbm3_tempchip07.hbm3_temp");
  const std::string as_string = id;
  CHECK(as_string == "chip07.hbm3_temp");

  const shared_text copy = id;
  CHECK(copy.same_block(id));
  id = "other";  // the copy keeps its text
  CHECK(copy == "chip07.hbm3_temp");
  CHECK(id == "other");
  CHECK(shared_text("") .empty());
  CHECK(shared_text(std::string_view("cut\0here", 8)) == "cut");  // a NUL ends it
}

TEST_CASE("shared_text: a pool makes equal texts one") {
  text_pool pool;
  const shared_text a = pool.get("Cel");
  const shared_text b = pool.get(std::string("Cel"));
  const shared_text c = pool.get("W");
  CHECK(a.same_block(b));
  CHECK_FALSE(a.same_block(c));
  CHECK(pool.get("").empty());
}

TEST_CASE("shared_text: slots are reused, texts of every length survive, threads may share") {
  // Every length across the slab sizes and past the largest slot.
  std::vector<shared_text> texts;
  for (std::size_t n = 1; n < 400; ++n) texts.emplace_back(std::string(n, static_cast<char>('a' + n % 26)));
  for (std::size_t n = 1; n < 400; ++n) {
    REQUIRE(texts[n - 1].size() == n);
    CHECK(texts[n - 1] == std::string(n, static_cast<char>('a' + n % 26)));
  }
  const std::size_t held = text_slabs::slab_bytes();
  texts.clear();
  for (int round = 0; round < 3; ++round) {  // freed slots serve the next texts: no new slab
    for (std::size_t n = 1; n < 200; ++n) texts.emplace_back(std::string(n, 'x'));
    texts.clear();
  }
  CHECK(text_slabs::slab_bytes() == held);

  // Copies made and dropped on several threads at once (the lanes describe
  // sensors while the main loop holds the catalog).
  const shared_text shared("rack0");
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&shared] {
      for (int i = 0; i < 20000; ++i) {
        shared_text copy = shared;
        shared_text own(std::to_string(i));
        CHECK_FALSE(copy.empty());
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(shared == "rack0");
}

TEST_CASE("optional_limit: std::optional<double>'s manner in 8 bytes") {
  static_assert(sizeof(optional_limit) == 8);
  optional_limit none;
  CHECK_FALSE(none.has_value());
  CHECK_FALSE(static_cast<bool>(none));
  CHECK(none.value_or(3.0) == 3.0);
  CHECK_THROWS_AS(static_cast<void>(none.value()), std::bad_optional_access);
  CHECK(static_cast<std::optional<double>>(none) == std::nullopt);

  optional_limit set = 95.5;
  CHECK(set.has_value());
  CHECK(*set == 95.5);
  CHECK(static_cast<std::optional<double>>(set) == 95.5);
  CHECK(optional_limit(std::optional<double>(1.5)) == optional_limit(1.5));
  CHECK(optional_limit(std::nullopt) == none);
  CHECK_FALSE(set == none);
  set.reset();
  CHECK(set == none);
  CHECK_FALSE(optional_limit(std::nan("")).has_value());  // NaN is "none": it could never trip
}

TEST_CASE("sensor_meta: location labels and state words are shared by the sensors that have the same") {
  text_pool pool;
  location_labels a = parse_location("tray=1,chip=7");
  location_labels b = parse_location("tray=1,chip=7");
  a.share(pool);
  b.share(pool);
  CHECK(a == b);
  CHECK(a.heap_bytes() == b.heap_bytes());
  CHECK(a.size() == 2);
  CHECK(a.front().first == "tray");
  CHECK(a.front().second == "1");

  location_labels cut;
  cut.emplace_back("ke\x1fy", "va\0lue");  // a separator or a NUL ends a key or value
  CHECK(cut == location_labels{{"ke", "va"}});

  state_names up_down = parse_state_names("0=up,1=down,-1=unknown");
  state_names again = parse_state_names("0=up,1=down,-1=unknown");
  up_down.share(pool);
  again.share(pool);
  CHECK(up_down == again);
  REQUIRE(up_down.size() == 3);
  CHECK(up_down[1] == state_names::value_type{1, "down"});
  CHECK(up_down[2] == state_names::value_type{-1, "unknown"});
  std::vector<state_names::value_type> listed(up_down.begin(), up_down.end());
  CHECK(listed.size() == 3);
  CHECK(state_names(state_names::list{}).empty());
  const state_names cut_word{{7, "wo\x1frd"}};  // a separator ends a word
  CHECK(cut_word[0].second == "wo");
}
