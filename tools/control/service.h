// The switch's control service: owns the rule table and the datapath, and answers control
// requests (docs/control-protocol.md). Transport-free, so tests drive it directly; the socket
// server (server.h) feeds it one request at a time from the control thread.
//
// Every change is validated completely (parsed, checked against ports and pools, against limits)
// before the table changes; the new table version is compiled while the old one keeps serving,
// then published to the datapath in one step. A rejected request changes nothing.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "adaptive_mover.h"
#include "datapath/datapath.h"
#include "flows/adaptive.h"
#include "flows/parser.h"
#include "flows/placement.h"
#include "flows/rule_table.h"
#include "protocol.h"

namespace swd::ctl {

struct service_options {
    std::string config_path;             // for show and reload; may be empty
    std::vector<flows::port_decl> ports; // resolved: every port has its ofport
    size_t max_rules = 16u << 20;
    flows::profile profile = flows::profile::hybrid;
    flows::adaptive_options adaptive; // the adaptive profile's thresholds and budget
    double calibrate_after_s = 0;     // run swctl calibrate's measurement once this long after
                                      // start (0: never)
    double calibrate_sample_s = 1;    // the live sample of a calibration
};

class service {
public:
    service(service_options opts, std::unique_ptr<dp::datapath> datapath);

    // Installs the initial configuration (already parsed and valid).
    result<flows::change_summary> load(flows::parse_output config);

    // Answers one request; attachment holds the raw bytes that followed it (protocol.h). Never
    // throws; malformed requests get an error answer.
    json handle(const json& request, std::string_view attachment = {});

    // Periodic work (rule expiry, the adaptive profile's moves); call about once a second.
    void tick(flows::clock::time_point now);

    // Re-reads the configuration file as replace-flows (SIGHUP).
    result<flows::change_summary> reload();

    const flows::rule_table& table() const { return table_; }

private:
    json cmd_add_flows(const json& req);
    json cmd_replace_flows(const json& req);
    json cmd_del_flows(const json& req);
    json cmd_mod_flows(const json& req);
    json cmd_dump_flows(const json& req);
    json cmd_show(const json& req);
    json cmd_dump_ports(const json& req);
    // add-backend, del-backend, set-backend: one backend of one pool (rule_table::set_pool).
    json cmd_backend(const json& req);
    json cmd_dump_pools(const json& req);
    json cmd_dump_conntrack(const json& req);
    json cmd_flush_conntrack(const json& req);
    json cmd_set(const json& req);
    json cmd_calibrate(const json& req);
    // Measures (datapath::measure_costs), decides (flows/calibration.h) and keeps the result;
    // publishes when the calibrated profile is in force.
    result<const flows::calibration*> calibrate(double sample_s);
    json change(const json& req, std::string_view text, const std::string& source,
                flows::parse_mode mode, bool strict);

    flows::parse_context context(const char* command, bool strict = false) const;
    std::string placement_why(const flows::rule& r) const;
    void published(); // hand the current version to the datapath, reclaim ids
    // The answer to a text with errors; change says whether the request would have changed the
    // table (its message then says that nothing was).
    json rejected(const json& id, const flows::parse_output& out, const std::string& source,
                  bool change = true);
    // The flow text of add-flows/replace-flows: the attachment, or the "text" field.
    bool flow_text(const json& req, std::string_view& text, std::string& source, std::string& err);
    void after_change(size_t rules_touched);

    service_options opts_;
    std::unique_ptr<dp::datapath> datapath_;
    flows::rule_table table_;
    adaptive_mover adaptive_;
    flows::clock::time_point started_;
    bool calibrated_at_start_ = false;
    std::string_view attachment_; // of the request being handled
    std::string text_storage_;
};

// Reads a whole file; errors name the path.
result<std::string> read_file(const std::string& path);

json diagnostics_json(const std::vector<flows::diagnostic>& diags);

} // namespace swd::ctl
