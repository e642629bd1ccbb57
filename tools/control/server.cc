#include "server.h"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <list>
#include <poll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <unistd.h>
#include <vector>

#include "datapath/util/log.h"

namespace swd::ctl {

namespace {

sigset_t control_signals() {
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGTERM);
    sigaddset(&s, SIGINT);
    sigaddset(&s, SIGHUP);
    return s;
}

result<void> make_parent_dir(const std::string& path) {
    size_t slash = path.rfind('/');
    if (slash == std::string::npos || slash == 0) {
        return {};
    }
    std::string dir = path.substr(0, slash);
    if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
        return fail(errno_error(errno, "create directory " + dir));
    }
    return {};
}

struct connection {
    unique_fd fd;
    line_buffer in;
    json waiting;          // a request whose attachment has not fully arrived
    size_t attachment = 0; // its size
    std::string out;
    size_t out_off = 0;
    bool closing = false; // close once out is flushed
};

// Writes what the socket takes now.
void flush(connection& c) {
    while (c.out_off < c.out.size()) {
        ssize_t n = ::send(c.fd.get(), c.out.data() + c.out_off, c.out.size() - c.out_off,
                           MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            if (errno != EAGAIN) {
                c.closing = true;
                c.out.clear();
                c.out_off = 0;
            }
            return;
        }
        c.out_off += static_cast<size_t>(n);
    }
    c.out.clear();
    c.out_off = 0;
}

void answer(connection& c, const json& resp) {
    c.out += resp.dump(-1, ' ', false, json::error_handler_t::replace);
    c.out += '\n';
}

} // namespace

void block_control_signals() {
    sigset_t s = control_signals();
    pthread_sigmask(SIG_BLOCK, &s, nullptr);
    std::signal(SIGPIPE, SIG_IGN);
}

result<server> server::open(const std::string& path) {
    sockaddr_un addr{};
    if (path.empty() || path.size() >= sizeof addr.sun_path) {
        return fail(errc::invalid_input, "control socket path must be 1-107 bytes: " + path);
    }
    if (auto r = make_parent_dir(path); !r) {
        return fail(std::move(r).err());
    }
    struct stat st {};
    if (::lstat(path.c_str(), &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) {
            return fail(errc::exists, path + " exists and is not a socket");
        }
        if (auto c = client::connect(path); c) {
            return fail(errc::exists, "another swd is answering on " + path);
        }
        ::unlink(path.c_str()); // stale: its swd is gone
    }
    unique_fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd) {
        return fail(errno_error(errno, "socket"));
    }
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    // Create the socket file with mode 0600 from the start.
    mode_t old = ::umask(0177);
    int rc = ::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    int bind_errno = errno;
    ::umask(old);
    if (rc != 0) {
        return fail(errno_error(bind_errno, "bind " + path));
    }
    if (::chmod(path.c_str(), 0600) != 0 || ::listen(fd.get(), 64) != 0) {
        int e = errno;
        ::unlink(path.c_str());
        return fail(errno_error(e, "listen on " + path));
    }
    return server(std::move(fd), path);
}

server::~server() {
    if (listen_) {
        ::unlink(path_.c_str());
    }
}

result<void> server::run(service& svc) {
    sigset_t sigs = control_signals();
    unique_fd sigfd(::signalfd(-1, &sigs, SFD_NONBLOCK | SFD_CLOEXEC));
    if (!sigfd) {
        return fail(errno_error(errno, "signalfd"));
    }
    unique_fd timer(::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC));
    itimerspec its{{1, 0}, {1, 0}};
    if (!timer || ::timerfd_settime(timer.get(), 0, &its, nullptr) != 0) {
        return fail(errno_error(errno, "timerfd"));
    }

    std::list<connection> conns;
    std::vector<pollfd> pfds;
    std::vector<connection*> order;
    std::string line, attachment;
    std::vector<char> chunk(1 << 16);
    constexpr size_t max_clients = 256;

    while (true) {
        pfds.clear();
        order.clear();
        pfds.push_back({listen_.get(), POLLIN, 0});
        pfds.push_back({sigfd.get(), POLLIN, 0});
        pfds.push_back({timer.get(), POLLIN, 0});
        for (auto& c : conns) {
            short ev = c.closing ? 0 : POLLIN;
            if (!c.out.empty()) {
                ev |= POLLOUT;
            }
            pfds.push_back({c.fd.get(), ev, 0});
            order.push_back(&c);
        }
        if (::poll(pfds.data(), pfds.size(), -1) < 0) {
            if (errno == EINTR) {
                continue;
            }
            return fail(errno_error(errno, "poll"));
        }
        if (pfds[1].revents & POLLIN) {
            signalfd_siginfo si{};
            while (::read(sigfd.get(), &si, sizeof si) == sizeof si) {
                if (si.ssi_signo == SIGHUP) {
                    auto r = svc.reload();
                    if (r) {
                        log::info("reloaded configuration: added {}, modified {}, deleted {}",
                                  r->added, r->modified, r->deleted);
                    } else {
                        log::error("reload failed: {}", r.err().message());
                    }
                } else {
                    log::info("signal {}: stopping", strsignal(static_cast<int>(si.ssi_signo)));
                    return {};
                }
            }
        }
        if (pfds[2].revents & POLLIN) {
            uint64_t ticks = 0;
            if (::read(timer.get(), &ticks, sizeof ticks) == sizeof ticks) {
                svc.tick(flows::clock::now());
            }
        }
        if (pfds[0].revents & POLLIN) {
            while (true) {
                int cfd = ::accept4(listen_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
                if (cfd < 0) {
                    break;
                }
                if (conns.size() >= max_clients) {
                    ::close(cfd);
                    log::warn("control socket: too many clients, refusing one");
                    continue;
                }
                conns.emplace_back();
                conns.back().fd.reset(cfd);
            }
        }
        for (size_t i = 0; i < order.size(); i++) {
            connection& c = *order[i];
            const short re = pfds[3 + i].revents;
            if (re & (POLLIN | POLLHUP | POLLERR)) {
                while (!c.closing) {
                    ssize_t n = ::recv(c.fd.get(), chunk.data(), chunk.size(), MSG_DONTWAIT);
                    if (n > 0) {
                        c.in.append(chunk.data(), static_cast<size_t>(n));
                        continue;
                    }
                    if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
                        break;
                    }
                    c.closing = true; // EOF or error: answer what is complete, then close
                }
                while (true) {
                    if (!c.waiting.is_null()) {
                        if (!c.in.take(c.attachment, attachment)) {
                            break;
                        }
                        answer(c, svc.handle(c.waiting, attachment));
                        c.waiting = json();
                        attachment = std::string();
                        continue;
                    }
                    if (!c.in.next(line)) {
                        break;
                    }
                    json req = json::parse(line, nullptr, false);
                    if (req.is_discarded()) {
                        answer(c,
                               error_response(json(), "protocol", "the request is not valid JSON"));
                        continue;
                    }
                    size_t n = 0;
                    if (req.is_object() && req.contains("attachment")) {
                        const json& a = req["attachment"];
                        if (!a.is_number_unsigned() || a.get<uint64_t>() > max_line_bytes) {
                            // The stream cannot be resynchronised: answer and close.
                            answer(c,
                                   error_response(req.value("id", json()), "protocol",
                                                  "attachment must be a byte count up to 1 GiB"));
                            c.closing = true;
                            break;
                        }
                        n = a.get<size_t>();
                    }
                    if (n > 0) {
                        c.waiting = std::move(req);
                        c.attachment = n;
                        continue;
                    }
                    answer(c, svc.handle(req));
                }
                if (c.in.pending() > max_line_bytes) {
                    if (c.waiting.is_null()) {
                        answer(c, error_response(json(), "protocol", "request line too long"));
                        c.closing = true;
                    }
                }
            }
            if (!c.out.empty()) {
                flush(c);
            }
        }
        conns.remove_if([](const connection& c) { return c.closing && c.out.empty(); });
    }
}

} // namespace swd::ctl
