// Parser for ovs-ofctl flow text (docs/flow-syntax.md is its grammar).
//
// One entry point for every use: a configuration file (rules, lb_pool and port declarations), an
// add-flows file (lines may start with add/modify/delete/modify_strict/delete_strict), or the
// single match/rule argument of del-flows, mod-flows and dump-flows. Errors are collected for the
// whole text and positioned (file:line:column, found, expected); one error rejects the whole text,
// so callers apply nothing unless errors is empty. Pure function of its inputs: no I/O, no global
// state, safe to call from any thread.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "diagnostic.h"
#include "rule.h"

namespace swd::flows {

enum class parse_mode {
    config,    // swd --config, replace-flows: rules (add), lb_pool and port declarations; the text
               // is complete: lb() refers only to pools it declares
    flow_mods, // add-flows: rules with an optional command keyword, lb_pool declarations
    match,     // del-flows / dump-flows argument: one match, no actions
    modify,    // mod-flows argument: one match with actions
};

struct parse_context {
    std::vector<port_decl> ports; // ports already known (command line, running switch)
    std::vector<lb_pool> pools;   // pools already known (running switch)
    bool strict = false;          // --strict for match/modify
    // The switch is running: port= lines must repeat its ports (ports are set at start).
    bool ports_fixed = false;
    // The command the text belongs to, for messages ("dump-flows", "a configuration"); empty:
    // named after the mode.
    std::string command;
};

struct parse_output {
    std::vector<flow_mod> mods;
    std::vector<lb_pool> pools;     // declared in this text
    std::vector<port_decl> ports;   // declared in this text
    std::vector<diagnostic> errors; // empty means success
    std::vector<diagnostic> warnings;
    bool more_errors = false; // parsing stopped at max_errors with text left

    bool ok() const { return errors.empty(); }
    // "1 error", "3 errors", or "20 errors (stopped there)".
    std::string error_count() const;
};

parse_output parse_flows(std::string_view text, std::string_view source_name, parse_mode mode,
                         const parse_context& ctx);

// The backend argument of swctl add-backend, del-backend and set-backend (one line), parsed with
// the code of an lb_pool's backend= so that errors read the same, positioned in text under
// source_name ("<add-backend>" and the like):
//   full     [backend=]ADDR:PORT/MAC[/weight=N][/state=up|drain|down]
//   address  ADDR:PORT
//   update   ADDR:PORT followed by weight=N and/or state=up|drain|down (at least one)
// Pure, like parse_flows. Whether the backend fits a pool is the rule table's check.
enum class backend_arg { full, address, update };

struct backend_parse {
    backend b; // the address; the MAC and the options as given, else their defaults
    bool weight_given = false;
    bool state_given = false;
    std::vector<diagnostic> errors; // empty means success

    bool ok() const { return errors.empty(); }
};

backend_parse parse_backend(std::string_view text, std::string_view source_name, backend_arg form);

// Why name cannot be a port name ("" when it can): it must not read as a number or an action
// keyword, nor contain flow syntax. Shared by port= lines and swd --port.
std::string check_port_name(std::string_view name);
inline constexpr const char* port_name_expected =
    "an interface name of 1-15 characters that is not a number or an action keyword";

// Stop after this many errors in one text.
inline constexpr size_t max_errors = 20;

} // namespace swd::flows
