// Close-on-exec for every descriptor the process holds.
//
// The agent opens its own files and sockets close-on-exec, but libraries do
// not all do so (Paho's broker socket, Asio's sockets). A descriptor that
// reaches a command run by a driver would keep the broker session alive after
// the agent died (so its will never fires), or let the command accept on the
// status socket. The exec driver's child closes everything but its pipes as
// well; this covers any other way a process might be started.
#pragma once

#include <string>
#include <vector>

namespace racktel {

// Sets FD_CLOEXEC on every descriptor from 3 up. Cheap: one system call
// (close_range with CLOSE_RANGE_CLOEXEC, Linux 5.11), or a walk of
// /proc/self/fd on older kernels.
void mark_descriptors_close_on_exec();

// Sets FD_CLOEXEC on one descriptor.
void set_close_on_exec(int fd);

// Sets TCP_NODELAY on every TCP socket the process holds. Paho opens its
// broker socket without it and offers no way to set it: a small publish (an
// alarm event) written while the previous segment is unacknowledged then
// waits for the broker's delayed ACK (Nagle), ~40 ms. Returns how many were set.
int disable_nagle_on_tcp_sockets();

// "address:port" of the peer of every connected TCP socket ("127.0.0.1:1883",
// "[::1]:1883"). Paho reports the first URI of a broker list as the one it
// connected to, whichever it was: the socket says which broker it really is.
std::vector<std::string> connected_tcp_peers();

}  // namespace racktel
