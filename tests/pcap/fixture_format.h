// The expected.txt format of the pcap fixtures (tests/pcap/README.md), written by make_fixtures
// and read by replay_test.
//
// One line per packet of input.pcap, in order; `#` starts a comment (whole lines only):
//
//   N in=PORT RESULT...            what the switch must do with packet N (1-based)
//   N in=PORT RESULT... | swd RESULT...
//                                  a known difference: the first results are right (Open vSwitch
//                                  semantics), the second what swd does today; the comment above
//                                  the line says why
//
// RESULT is `drop` (alone: nothing is sent), or one or more sends in order:
//   output:P[,queue=Q] FRAME       out of port P (on queue Q when set_queue gave one)
//   local[,queue=Q] FRAME          to this host's kernel stack
// FRAME is the frame as sent, in lower-case hex, or `=` when it is the input frame unchanged.
#pragma once

#include <cstdint>
#include <cstdio>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace swd::fixtures {

struct send {
    enum kind_t { output, local } kind = output;
    uint16_t port = 0;
    uint16_t queue = 0;
    std::vector<uint8_t> frame;
    friend bool operator==(const send&, const send&) = default;
};

// Everything a packet caused, in order; empty: dropped.
using sends = std::vector<send>;

struct expectation {
    unsigned number = 0;
    uint16_t in_port = 0;
    sends want;
    std::optional<sends> swd_today; // a known difference: what swd does instead
    std::string note;               // the comment lines just before the line
};

inline std::string to_hex(const std::vector<uint8_t>& b) {
    static const char digits[] = "0123456789abcdef";
    std::string s;
    s.reserve(b.size() * 2);
    for (uint8_t x : b) {
        s += digits[x >> 4];
        s += digits[x & 15];
    }
    return s;
}

inline std::optional<std::vector<uint8_t>> from_hex(const std::string& s) {
    if (s.size() % 2 != 0) {
        return std::nullopt;
    }
    std::vector<uint8_t> b;
    for (size_t i = 0; i < s.size(); i += 2) {
        unsigned v;
        if (std::sscanf(s.c_str() + i, "%2x", &v) != 1) {
            return std::nullopt;
        }
        b.push_back(static_cast<uint8_t>(v));
    }
    return b;
}

// "output:2,queue=1" / "local" / "drop", without the frame.
inline std::string dest_name(const send& s) {
    std::string d = s.kind == send::local ? "local" : "output:" + std::to_string(s.port);
    if (s.queue != 0) {
        d += ",queue=" + std::to_string(s.queue);
    }
    return d;
}

inline std::string verdicts(const sends& r) {
    if (r.empty()) {
        return "drop";
    }
    std::string s;
    for (const send& x : r) {
        s += (s.empty() ? "" : " ") + dest_name(x);
    }
    return s;
}

// The results as written in expected.txt; frames equal to input are written `=`.
inline std::string format_sends(const sends& r, const std::vector<uint8_t>& input) {
    if (r.empty()) {
        return "drop";
    }
    std::string s;
    for (const send& x : r) {
        s += (s.empty() ? "" : " ") + dest_name(x) + " " +
             (x.frame == input ? "=" : to_hex(x.frame));
    }
    return s;
}

// Parses the results of one line (tokens from `in` to the end or to `|`); frames `=` are input.
// Returns false on a syntax error, with why.
inline bool parse_sends(std::istringstream& in, const std::vector<uint8_t>& input, sends& out,
                        bool& more, std::string& why) {
    std::string tok;
    more = false;
    out.clear();
    bool dropped = false;
    while (in >> tok) {
        if (tok == "|") {
            more = true;
            break;
        }
        if (tok == "drop") {
            dropped = true;
            continue;
        }
        send s;
        std::string dest = tok, opts;
        if (const size_t comma = tok.find(','); comma != std::string::npos) {
            dest = tok.substr(0, comma);
            opts = tok.substr(comma + 1);
        }
        if (dest == "local") {
            s.kind = send::local;
        } else if (dest.rfind("output:", 0) == 0) {
            s.kind = send::output;
            s.port = static_cast<uint16_t>(std::stoul(dest.substr(7)));
        } else {
            why = "unknown result '" + tok + "'";
            return false;
        }
        if (!opts.empty()) {
            if (opts.rfind("queue=", 0) != 0) {
                why = "unknown option '" + opts + "'";
                return false;
            }
            s.queue = static_cast<uint16_t>(std::stoul(opts.substr(6)));
        }
        std::string frame;
        if (!(in >> frame)) {
            why = "missing frame after '" + tok + "'";
            return false;
        }
        if (frame == "=") {
            s.frame = input;
        } else if (auto b = from_hex(frame)) {
            s.frame = std::move(*b);
        } else {
            why = "bad hex frame after '" + tok + "'";
            return false;
        }
        out.push_back(std::move(s));
    }
    if (dropped && !out.empty()) {
        why = "drop together with sends";
        return false;
    }
    if (!dropped && out.empty()) {
        why = "no result";
        return false;
    }
    return true;
}

} // namespace swd::fixtures
