// The local status socket: a technician's `racktel status` (and scripts)
// connect, send one command line, and get one JSON document back.
//
// Local users are not all friends: the server holds at most
// `max_connections` clients, drops one that has not finished within
// `session_timeout`, backs off when the process runs out of descriptors, and
// tells the handler who is asking (the peer's credentials from the kernel),
// so that commands that change the agent can be refused.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace boost::asio {
class io_context;
}

namespace racktel {

// Who is on the other end of the socket, as the kernel says (SO_PEERCRED, SO_PEERGROUPS).
struct peer_credentials {
  pid_t pid = 0;
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;  // supplementary groups
};

// Whether `peer` may run commands that change the agent (reload, and later
// maintenance): root, the agent's own user, or a member of one of `control_groups`.
bool may_change_agent(const peer_credentials& peer, uid_t agent_uid, const std::vector<gid_t>& control_groups);

struct status_server_options {
  std::string path;
  std::size_t max_connections = 32;
  std::chrono::milliseconds session_timeout{5000};  // to send the command, and to read the answer once made
  std::chrono::milliseconds answer_timeout{120000}; // for the agent to make the answer (a reload)
  // One line; a commissioning check brings its expectation file inline (see commission_command.h).
  std::size_t max_command_bytes = 256 * 1024;
};

class status_server {
 public:
  // `handle` runs on the io_context's thread with the command ("status"); it
  // calls `reply` (on that thread) with the answer, at once or later.
  using reply_fn = std::function<void(std::string answer)>;
  using handler = std::function<void(const std::string& command, const peer_credentials& peer, reply_fn reply)>;

  // Throws std::system_error naming the path when the socket cannot be made,
  // when the path is something other than a socket (it is never removed), or
  // when another process answers on it.
  status_server(boost::asio::io_context& io, status_server_options options, handler handle);
  ~status_server();

  std::size_t connections() const;

 private:
  struct impl;
  std::shared_ptr<impl> impl_;
};

}  // namespace racktel
