#include "source.h"

namespace swd::flows {

namespace {

// One physical line without its comment, and whether it continues on the next line.
std::string_view strip(std::string_view raw, bool& continues) {
    size_t hash = raw.find('#');
    if (hash != std::string_view::npos) {
        raw = raw.substr(0, hash);
    }
    while (!raw.empty() && (raw.back() == ' ' || raw.back() == '\t' || raw.back() == '\r')) {
        raw.remove_suffix(1);
    }
    continues = !raw.empty() && raw.back() == '\\' && hash == std::string_view::npos;
    if (continues) {
        raw.remove_suffix(1);
    }
    return raw;
}

bool blank(std::string_view s) {
    for (char c : s) {
        if (c != ' ' && c != '\t' && c != '\r') {
            return false;
        }
    }
    return true;
}

} // namespace

bool source_text::next(logical_line& out) {
    out.pieces.clear();
    out.storage.clear();
    while (pos_ < text_.size()) {
        size_t nl = text_.find('\n', pos_);
        size_t end = nl == std::string_view::npos ? text_.size() : nl;
        std::string_view raw = text_.substr(pos_, end - pos_);
        pos_ = nl == std::string_view::npos ? text_.size() : nl + 1;
        line_++;
        bool continues = false;
        std::string_view body = strip(raw, continues);
        if (!continues) {
            if (out.pieces.empty()) {
                if (blank(body)) {
                    continue;
                }
                out.text = body;
                out.first_line = line_;
                return true;
            }
            out.pieces.push_back({out.storage.size(), line_, 0});
            out.storage.append(body);
            out.text = out.storage;
            return true;
        }
        if (out.pieces.empty()) {
            out.first_line = line_;
        }
        out.pieces.push_back({out.storage.size(), line_, 0});
        out.storage.append(body);
    }
    if (!out.pieces.empty()) { // a '\' on the last line
        out.text = out.storage;
        return !blank(out.text);
    }
    return false;
}

std::string_view source_text::physical_line(int line) const {
    size_t p = 0;
    for (int l = 1; l < line && p < text_.size(); l++) {
        size_t nl = text_.find('\n', p);
        if (nl == std::string_view::npos) {
            return {};
        }
        p = nl + 1;
    }
    size_t nl = text_.find('\n', p);
    std::string_view s = text_.substr(p, nl == std::string_view::npos ? nl : nl - p);
    if (!s.empty() && s.back() == '\r') {
        s.remove_suffix(1);
    }
    return s;
}

diagnostic source_text::at(const logical_line& l, size_t offset, size_t len) const {
    diagnostic d;
    d.source = name_;
    int line = l.first_line;
    size_t column0 = offset;
    for (const auto& p : l.pieces) {
        if (p.offset <= offset) {
            line = p.line;
            column0 = offset - p.offset + p.column0;
        }
    }
    d.line = line;
    d.column = static_cast<int>(column0) + 1;
    d.length = static_cast<int>(len == 0 ? 1 : len);
    d.line_text = std::string(physical_line(line));
    if (column0 + d.length > d.line_text.size()) {
        d.length = std::max(1, static_cast<int>(d.line_text.size()) - static_cast<int>(column0));
    }
    return d;
}

} // namespace swd::flows
