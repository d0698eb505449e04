#pragma once

#include <memory>

#include "event_loop.h"

namespace boost::asio {
class io_context;
}

namespace racktel {

std::unique_ptr<event_loop> make_asio_event_loop(boost::asio::io_context& io);

}  // namespace racktel
