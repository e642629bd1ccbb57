// The control socket server: accepts connections on a Unix socket and answers line-delimited
// JSON requests with a service, on the calling (control) thread.
//
// run() multiplexes with poll(2): the listening socket, every client, a signalfd (SIGTERM and
// SIGINT stop the loop, SIGHUP reloads the configuration) and a 1 s timerfd for rule expiry.
// Clients are non-blocking; a slow reader only delays its own answers.
#pragma once

#include <string>

#include "datapath/util/result.h"
#include "datapath/util/unique_fd.h"
#include "service.h"

namespace swd::ctl {

class server {
public:
    // Creates the socket's directory if needed, refuses to start when another swd answers on
    // the path, removes a stale socket file, binds, sets mode 0600 and listens.
    static result<server> open(const std::string& path);

    server(server&&) = default;
    ~server(); // removes the socket file

    // Serves until SIGTERM or SIGINT. The signals must be blocked in every thread beforehand
    // (block_control_signals()).
    result<void> run(service& svc);

    const std::string& path() const { return path_; }

private:
    server(unique_fd fd, std::string path) : listen_(std::move(fd)), path_(std::move(path)) {}
    unique_fd listen_;
    std::string path_;
};

// Blocks SIGTERM, SIGINT and SIGHUP (delivered through the server's signalfd) and ignores
// SIGPIPE. Call before starting any thread.
void block_control_signals();

} // namespace swd::ctl
