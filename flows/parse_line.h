// Internal to the parser: the state shared by the match and action parsers for one logical line.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "diagnostic.h"
#include "parser.h"
#include "source.h"

namespace swd::flows::detail {

// Reports positioned errors for one logical line.
class line_reporter {
public:
    line_reporter(const source_text& src, const source_text::logical_line& line,
                  std::vector<diagnostic>& errors, std::vector<diagnostic>& warnings)
        : src_(src), line_(line), errors_(errors), warnings_(warnings) {}

    void error(size_t pos, size_t len, std::string what, std::string_view found, std::string detail,
               std::string expected) {
        diagnostic d = src_.at(line_, pos, len);
        d.what = std::move(what);
        d.found = std::string(found);
        d.detail = std::move(detail);
        d.expected = std::move(expected);
        errors_.push_back(std::move(d));
        failed_ = true;
    }
    void warning(size_t pos, size_t len, std::string what, std::string_view found,
                 std::string detail) {
        diagnostic d = src_.at(line_, pos, len);
        d.sev = diagnostic::severity::warning;
        d.what = std::move(what);
        d.found = std::string(found);
        d.detail = std::move(detail);
        warnings_.push_back(std::move(d));
    }
    bool failed() const { return failed_; }
    // Where pos is, seen from the token at `from`: "column 12", or "line 4 column 3" when the two
    // lie on different physical lines (a continued rule).
    std::string where(size_t pos, size_t from) const {
        diagnostic here = src_.at(line_, from, 1), there = src_.at(line_, pos, 1);
        return here.line == there.line ? "column " + std::to_string(there.column)
                                       : "line " + std::to_string(there.line) + " column " +
                                             std::to_string(there.column);
    }
    std::string_view text() const { return line_.text; }
    int line_number() const { return line_.first_line; }

private:
    const source_text& src_;
    const source_text::logical_line& line_;
    std::vector<diagnostic>& errors_;
    std::vector<diagnostic>& warnings_;
    bool failed_ = false;
};

// name[=value] at a position of the logical line.
struct token {
    std::string_view name;
    std::string_view value;
    bool has_value = false;
    size_t pos = 0;       // of name
    size_t value_pos = 0; // of value
    std::string_view whole() const {
        return has_value ? std::string_view(name.data(), value.data() + value.size() - name.data())
                         : name;
    }
};

// What the action parser needs to know about the match (prerequisites of set-field actions).
struct match_summary {
    uint16_t dl_type = 0; // host order; 0 when not matched exactly
    uint8_t nw_proto = 0;
    bool nw_proto_exact = false;
};

// Builds a flow_match from match tokens; checks duplicates, conflicts and prerequisites.
class match_parser {
public:
    match_parser(line_reporter& rep, const parse_context& ctx, const std::vector<port_decl>& ports)
        : rep_(rep), ctx_(ctx), ports_(ports) {}

    // Returns false when the token names no match field (the caller then tries properties).
    bool apply(const token& t);
    // Prerequisite checks once every field is known.
    void finish();

    const dp::flow_match& match() const { return m_; }
    match_summary summary() const;

private:
    struct record {
        std::string_view text; // the token that set the bits
        size_t pos;            // of the token in the line
        size_t pos_off;        // first byte in the key
        size_t n;              // bytes
        uint8_t mask[16];
        bool implicit; // set by a shorthand such as 'tcp'
        int field;
        uint8_t prereq; // what the field needs from dl_type/nw_proto
    };

    bool set_field(const token& t, int field, size_t off, const uint8_t* value, const uint8_t* mask,
                   size_t n, bool implicit = false);
    void shorthand(const token& t, uint16_t dl_type, int nw_proto);

    line_reporter& rep_;
    const parse_context& ctx_;
    const std::vector<port_decl>& ports_;
    dp::flow_match m_;
    record records_[48];
    size_t n_records_ = 0;
    uint8_t field_prereq_ = 0; // prerequisite of the field apply() is setting
    uint64_t fields_seen_ = 0; // explicit fields given so far, by id
};

// Resolves a port by number or name; nullptr when unknown.
const port_decl* find_port(const std::vector<port_decl>& local, const parse_context& ctx,
                           std::string_view name_or_number);
// "a port number or name: 1 (eth0), 2 (eth1), or LOCAL" (LOCAL where a rule may name it).
std::string known_ports_text(const std::vector<port_decl>& local, const parse_context& ctx,
                             bool with_local = true);

// Whether a lower-case word names an action, supported or not (port names may not).
bool is_action_name(std::string_view lower);

// Parses the text after "actions=" starting at pos of the line.
// Pools are looked up in `declared` (this text) and then `known` (the running switch).
bool parse_actions(line_reporter& rep, std::string_view text, size_t pos, const parse_context& ctx,
                   const std::vector<port_decl>& ports, const std::vector<lb_pool>& declared,
                   const std::vector<lb_pool>& known, const match_summary& match, uint8_t table,
                   std::vector<swd_action>& out);

} // namespace swd::flows::detail
