// The control protocol: line-delimited JSON over a Unix stream socket (docs/control-protocol.md).
//
// A request is one JSON object on one line: {"id": 1, "cmd": "add-flows", ...}. The answer is one
// line: {"id": 1, "ok": true, "result": {...}} or {"id": 1, "ok": false, "error": {"code": ...,
// "message": ..., "diagnostics": [...]}}. Requests on one connection are answered in order.
//
// Flow text may travel as an attachment instead of a JSON string: a request with
// "attachment": N is followed, right after its newline, by N raw bytes (no escaping; a 100K-rule
// file is 9 MB, and escaping and unescaping it costs more than parsing the rules).
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "datapath/util/result.h"
#include "datapath/util/unique_fd.h"

namespace swd::ctl {

using json = nlohmann::json;

inline constexpr const char* default_socket_path = "/run/swd/swd.sock";
// Largest request or answer line (an add-flows of 1M rules is about 80 MB).
inline constexpr size_t max_line_bytes = size_t{1} << 30;

json ok_response(const json& id, json result);
json error_response(const json& id, const std::string& code, const std::string& message,
                    json diagnostics = json::array());

// Accumulates bytes from a stream and yields complete lines.
class line_buffer {
public:
    void append(const char* data, size_t n) { buf_.append(data, n); }
    // Moves the next complete line (without '\n') into out.
    bool next(std::string& out);
    // Moves the next n bytes into out, when that many have arrived.
    bool take(size_t n, std::string& out);
    size_t pending() const { return buf_.size() - start_; }

private:
    void compact();
    std::string buf_;
    size_t start_ = 0;
};

// A blocking client for swctl and tests.
class client {
public:
    // connect(2) to the socket; fails with the path in the context.
    static result<client> connect(const std::string& path);
    // Sends one request (with raw bytes after it when attachment is not empty), waits for its
    // answer.
    result<json> call(const json& request, std::string_view attachment = {});

private:
    explicit client(unique_fd fd) : fd_(std::move(fd)) {}
    unique_fd fd_;
    line_buffer in_;
    uint64_t next_id_ = 1;
};

} // namespace swd::ctl
