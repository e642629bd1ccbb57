// Splits flow text into logical lines: strips '#' comments, joins lines that end in '\', skips
// blank lines, and maps every position of a logical line back to its physical line and column
// for diagnostics.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "diagnostic.h"

namespace swd::flows {

class source_text {
public:
    source_text(std::string_view text, std::string name) : text_(text), name_(std::move(name)) {}

    struct logical_line {
        std::string_view text; // points into the source or into storage
        int first_line = 0;    // physical line of the first character
        // Only for joined lines: logical offset where each physical piece starts.
        struct piece {
            size_t offset;
            int line;
            size_t column0; // 0-based column of the piece's first character
        };
        std::vector<piece> pieces;
        std::string storage;
    };

    // Next non-blank logical line; false at the end.
    bool next(logical_line& out);

    // A diagnostic for [offset, offset+len) of a logical line.
    diagnostic at(const logical_line& l, size_t offset, size_t len) const;

    const std::string& name() const { return name_; }
    // The text of a physical line (1-based), without its newline.
    std::string line_text(int line) const { return std::string(physical_line(line)); }

private:
    std::string_view physical_line(int line) const;
    std::string_view text_;
    std::string name_;
    size_t pos_ = 0;
    int line_ = 0;
};

} // namespace swd::flows
