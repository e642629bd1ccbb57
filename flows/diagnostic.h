// Positioned messages about flow text, printed like a compiler's:
//
//   flows.txt:3:24: error: invalid nw_src value '10.0.0.300': octet 300 is out of range 0-255;
//   expected an IPv4 address a.b.c.d[/prefix|/mask]
//       3 | priority=300,ip,nw_src=10.0.0.300,actions=drop
//         |                        ^~~~~~~~~~
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace swd::flows {

struct diagnostic {
    enum class severity { error, warning };

    severity sev = severity::error;
    std::string source; // file name, or "<add-flow>" and the like
    int line = 0;       // 1-based physical line
    int column = 0;     // 1-based
    int length = 1;     // characters to underline
    std::string what;   // "invalid nw_src value"
    std::string found;  // the offending text
    std::string detail; // optional reason: "octet 300 is out of range 0-255"
    std::string expected;
    std::string line_text; // the physical line, for the caret display

    // "file:line:col: error: what 'found': detail; expected X"
    std::string headline() const;
    // headline plus the source line and a caret under the spot.
    std::string format() const;
};

std::string format_all(const std::vector<diagnostic>& diags);

} // namespace swd::flows
