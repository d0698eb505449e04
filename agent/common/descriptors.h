// Close-on-exec for every descriptor the process holds.
//
// The agent opens its own files and sockets close-on-exec, but libraries do
// not all do so (Paho's broker socket, Asio's sockets). A descriptor that
// reaches a command run by a driver would keep the broker session alive after
// the agent died (so its will never fires), or let the command accept on the
// status socket. The exec driver's child closes everything but its pipes as
// well; this covers any other way a process might be started.
#pragma once

namespace racktel {

// Sets FD_CLOEXEC on every descriptor from 3 up. Cheap: one system call
// (close_range with CLOSE_RANGE_CLOEXEC, Linux 5.11), or a walk of
// /proc/self/fd on older kernels.
void mark_descriptors_close_on_exec();

// Sets FD_CLOEXEC on one descriptor.
void set_close_on_exec(int fd);

}  // namespace racktel
