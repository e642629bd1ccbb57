#include "diagnostic.h"

#include <fmt/format.h>

namespace swd::flows {

std::string diagnostic::headline() const {
    std::string s = fmt::format("{}:{}:{}: {}: {}", source, line, column,
                                sev == severity::error ? "error" : "warning", what);
    if (!found.empty()) {
        s += fmt::format(" '{}'", found);
    }
    if (!detail.empty()) {
        s += ": " + detail;
    }
    if (!expected.empty()) {
        s += "; expected " + expected;
    }
    return s;
}

std::string diagnostic::format() const {
    std::string s = headline();
    if (line_text.empty() && column <= 1) {
        return s;
    }
    std::string num = std::to_string(line);
    std::string pad(num.size(), ' ');
    // Tabs in the source line keep their width in the caret line.
    std::string under;
    for (int i = 0; i + 1 < column && i < static_cast<int>(line_text.size()); i++) {
        under += line_text[i] == '\t' ? '\t' : ' ';
    }
    under += '^';
    for (int i = 1; i < length; i++) {
        under += '~';
    }
    s += fmt::format("\n    {} | {}\n    {} | {}", num, line_text, pad, under);
    return s;
}

std::string format_all(const std::vector<diagnostic>& diags) {
    std::string s;
    for (const auto& d : diags) {
        s += d.format();
        s += '\n';
    }
    return s;
}

} // namespace swd::flows
