// Flow text straight to a compiled pipeline, for tests and tools (exec_cost, xdp_cost, the unit
// and replay tests): parse, give the rules ids in the order of the text, compile the pools the
// text declares and the whole table from scratch, as swd's rule table does for a new table.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "compiler.h"
#include "datapath/datapath.h"
#include "datapath/util/result.h"
#include "parser.h"
#include "pools.h"

namespace swd::flows {

struct text_pipeline {
    std::shared_ptr<const dp::pipeline> pipeline;
    std::vector<rule> rules; // ids first_id, first_id + 1, ... in the order of the text
};

struct text_pipeline_options {
    parse_mode mode = parse_mode::config;
    parse_context ctx;
    uint64_t version = 1;
    profile placement = profile::hybrid;
    uint32_t first_id = 1;
    // Compiles the pools; one kept across calls reuses a pool declared the same way before (its
    // Maglev table, as the running switch does). Null: a fresh one.
    pool_compiler* pools = nullptr;
};

// errc::invalid_input with every error of the text (file:line:column: what was expected).
result<text_pipeline> compile_text(std::string_view text, std::string_view name,
                                   const text_pipeline_options& o = {});

} // namespace swd::flows
