#include "asio_event_loop.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/system_timer.hpp>

namespace racktel {
namespace {

template <typename Timer>
class asio_timer final : public timer_handle {
 public:
  explicit asio_timer(boost::asio::io_context& io) : timer_(io) {}
  ~asio_timer() override { cancel(); }
  void cancel() override {
    *alive_ = false;
    timer_.cancel();
  }
  template <typename When>
  void arm(When when, std::function<void()> work) {
    timer_.expires_at(when);
    // `alive` outlives the timer, so a completion racing a cancel is ignored.
    timer_.async_wait([alive = alive_, work = std::move(work)](const boost::system::error_code& ec) {
      if (!ec && *alive) work();
    });
  }

 private:
  Timer timer_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

class asio_event_loop final : public event_loop {
 public:
  explicit asio_event_loop(boost::asio::io_context& io) : io_(io) {}
  void post(std::function<void()> work) override { boost::asio::post(io_, std::move(work)); }
  std::unique_ptr<timer_handle> after(std::chrono::milliseconds delay,
                                      std::function<void()> work) override {
    auto timer = std::make_unique<asio_timer<boost::asio::steady_timer>>(io_);
    timer->arm(std::chrono::steady_clock::now() + delay, std::move(work));
    return timer;
  }
  std::unique_ptr<timer_handle> at(std::chrono::system_clock::time_point when,
                                   std::function<void()> work) override {
    auto timer = std::make_unique<asio_timer<boost::asio::system_timer>>(io_);
    timer->arm(when, std::move(work));
    return timer;
  }

 private:
  boost::asio::io_context& io_;
};

}  // namespace

std::unique_ptr<event_loop> make_asio_event_loop(boost::asio::io_context& io) {
  return std::make_unique<asio_event_loop>(io);
}

}  // namespace racktel
