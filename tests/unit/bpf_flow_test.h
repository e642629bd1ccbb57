// The fixture base of the tests that run swd's BPF programs under BPF_PROG_TEST_RUN on maps
// written from a flow text (tests/unit/egress_test.cc, tests/pcap/replay_test.cc): the root check,
// and text -> rules -> compiled pipeline -> xdp_tables, as swd does it. The tests load their own
// programs on tables_.
//
// Needs root (BPF): see root_test.h.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <gtest/gtest.h>
#include <initializer_list>
#include <memory>
#include <string>
#include <unistd.h>
#include <vector>

#include "flows/placement.h"
#include "flows/text_pipeline.h"
#include "netdev-afxdp/xdp_tables.h"
#include "root_test.h"

namespace swd::test {

class bpf_flow_test : public root_test {
protected:
    // Parses text (config mode) into rules_ (ids 1, 2, ... in text order), compiles them in
    // profile as a new pipeline version (a stale exact-match entry must never match a new
    // pipeline), and writes it to new tables_ of 4096 rules on which each ofport of ports is lo
    // (ifindex 1: a test run looks the port up and sends nothing). A failure is fatal: call it
    // under ASSERT_NO_FATAL_FAILURE.
    // ct, lb: the connection tracker's and the load balancer's maps to use (null: new ones of
    // the default size and idle timeout).
    void load_tables(const std::string& text, flows::profile profile,
                     std::initializer_list<uint16_t> ports,
                     std::shared_ptr<afxdp::ct_map> ct = nullptr,
                     std::shared_ptr<afxdp::lb_maps> lb = nullptr) {
        flows::text_pipeline_options opts;
        opts.version = ++version_;
        opts.placement = profile;
        auto compiled = flows::compile_text(text, "<test>", opts);
        ASSERT_TRUE(compiled) << compiled.err().message();
        rules_ = std::move(compiled->rules);
        pipeline_ = std::move(compiled->pipeline);
        auto t = afxdp::xdp_tables::create(4096, afxdp::xdp_tables::initial_capacity, std::move(lb),
                                           std::move(ct));
        ASSERT_TRUE(t) << t.err().message();
        tables_ = std::move(*t);
        for (uint16_t port : ports) {
            ASSERT_TRUE(tables_->set_port(port, 1));
        }
        auto s = tables_->sync(*pipeline_);
        ASSERT_TRUE(s) << s.err().message();
    }

    std::vector<flows::rule> rules_;
    std::shared_ptr<const dp::pipeline> pipeline_;
    std::unique_ptr<afxdp::xdp_tables> tables_;
    uint64_t version_ = 0;
};

} // namespace swd::test
