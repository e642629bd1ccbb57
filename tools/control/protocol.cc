#include "protocol.h"

#include <cerrno>
#include <cstring>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace swd::ctl {

json ok_response(const json& id, json result) {
    return json{{"id", id}, {"ok", true}, {"result", std::move(result)}};
}

json error_response(const json& id, const std::string& code, const std::string& message,
                    json diagnostics) {
    return json{
        {"id", id},
        {"ok", false},
        {"error", {{"code", code}, {"message", message}, {"diagnostics", std::move(diagnostics)}}}};
}

void line_buffer::compact() {
    if (start_ == buf_.size()) {
        buf_.clear();
        start_ = 0;
        if (buf_.capacity() > (1u << 20)) {
            buf_.shrink_to_fit(); // do not keep the largest request's buffer forever
        }
    } else if (start_ > (1u << 20) && start_ > buf_.size() / 2) {
        buf_.erase(0, start_);
        start_ = 0;
    }
}

bool line_buffer::next(std::string& out) {
    size_t nl = buf_.find('\n', start_);
    if (nl == std::string::npos) {
        compact();
        return false;
    }
    out.assign(buf_, start_, nl - start_);
    start_ = nl + 1;
    compact();
    return true;
}

bool line_buffer::take(size_t n, std::string& out) {
    if (buf_.size() - start_ < n) {
        return false;
    }
    if (start_ == 0 && n == buf_.size()) {
        out = std::move(buf_); // the common case: the attachment is all that is buffered
        buf_ = std::string();
    } else {
        out.assign(buf_, start_, n);
        start_ += n;
    }
    compact();
    return true;
}

result<client> client::connect(const std::string& path) {
    sockaddr_un addr{};
    if (path.size() >= sizeof addr.sun_path) {
        return fail(errc::invalid_input, "control socket path too long: " + path);
    }
    unique_fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd) {
        return fail(errno_error(errno, "socket"));
    }
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        return fail(errno_error(errno, "connect to " + path));
    }
    return client(std::move(fd));
}

namespace {

result<void> send_all(int fd, std::string_view data) {
    for (size_t off = 0; off < data.size();) {
        ssize_t n = ::send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return fail(errno_error(errno, "send request"));
        }
        off += static_cast<size_t>(n);
    }
    return {};
}

} // namespace

result<json> client::call(const json& request, std::string_view attachment) {
    json req = request;
    req["id"] = next_id_++;
    if (!attachment.empty()) {
        req["attachment"] = attachment.size();
    }
    std::string line = req.dump(-1, ' ', false, json::error_handler_t::replace);
    line += '\n';
    if (auto r = send_all(fd_.get(), line); !r) {
        return fail(std::move(r).err());
    }
    if (auto r = send_all(fd_.get(), attachment); !r) {
        return fail(std::move(r).err());
    }
    std::string answer;
    std::string chunk(1 << 16, '\0');
    while (!in_.next(answer)) {
        ssize_t n = ::recv(fd_.get(), chunk.data(), chunk.size(), 0);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            return fail(errno_error(errno, "receive answer"));
        }
        if (n == 0) {
            return fail(errc::protocol, "swd closed the connection without answering");
        }
        in_.append(chunk.data(), static_cast<size_t>(n));
        if (in_.pending() > max_line_bytes) {
            return fail(errc::protocol, "answer larger than the protocol limit");
        }
    }
    json j = json::parse(answer, nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
        return fail(errc::protocol, "swd sent an answer that is not a JSON object");
    }
    return j;
}

} // namespace swd::ctl
