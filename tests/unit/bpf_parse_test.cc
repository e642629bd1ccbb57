// The XDP parser and rewrites (bpf/parse.h, bpf/rewrite.h) against the user-space datapath's
// (extract_key, datapath/rewrite.h). The probe program bpf/parse_probe.bpf.c runs them under
// BPF_PROG_TEST_RUN; for every frame, the key, header offsets and malformed code must equal
// extract_key's, and for every rewrite kind the result, the key and the output frame must equal
// the C++ rewrite's, byte for byte. Frames: hand-built ones of every kind (malformed ones too)
// and every truncation of them, random frames, exhaustive sweeps of rewrite arguments (checksums
// that become 0x0000 or 0xffff), and every packet of the real-world captures.
//
// Each frame of 14 bytes or more also goes through the probe's TC program (swd_parse_skb and
// the skb-helper rewrites of bpf/tc_rewrite.h, as the TC egress program runs them): the same
// comparison with the C++ side. (BPF_PROG_TEST_RUN of a TC program wants an Ethernet header; the
// skb it builds is CHECKSUM_NONE, so the helpers' full-checksum path is what is compared.)
//
// Needs root (BPF). Not root: skipped, unless SWD_REQUIRE_ROOT_TESTS=1 turns that into a failure.

// pcap/bpf.h and linux/bpf.h both define struct bpf_insn: take pcap.h without it.
#define PCAP_DONT_INCLUDE_PCAP_BPF_H
#include <algorithm>
#include <array>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <gtest/gtest.h>
#include <linux/if_link.h>
#include <map>
#include <memory>
#include <pcap/dlt.h>
#include <pcap/pcap.h>
#include <random>
#include <string>
#include <unistd.h>
#include <vector>

#include "datapath/extract.h"
#include "datapath/rewrite.h"
#include "frames.h"
#include "parse_probe.skel.h"
#include "random_frames.h"
#include "root_test.h"

namespace swd::dp {
namespace {

using namespace swd::test;

// swd_rw_dec_ttl returns enum swd_ttl_result (bpf/rewrite.h): ttl_result's values in order.
static_assert(static_cast<int>(ttl_result::ok) == 0 && static_cast<int>(ttl_result::expired) == 1 &&
              static_cast<int>(ttl_result::not_ip) == 2);

// ---- rewrites, as data -------------------------------------------------------------------------

// kind is the enum swd_action_type value the probe dispatches on; 0 is no rewrite.
struct rewrite {
    uint32_t kind = 0;
    std::array<uint8_t, 6> mac{};
    uint32_t addr_be = 0;
    uint16_t port_be = 0;
};

constexpr uint32_t rewrite_kinds[] = {
    SWD_ACT_SET_ETH_SRC, SWD_ACT_SET_ETH_DST, SWD_ACT_SET_IPV4_SRC, SWD_ACT_SET_IPV4_DST,
    SWD_ACT_SET_TP_SRC,  SWD_ACT_SET_TP_DST,  SWD_ACT_DEC_TTL,
};

const char* kind_name(uint32_t kind) {
    switch (kind) {
    case 0:
        return "none";
    case SWD_ACT_SET_ETH_SRC:
        return "eth_src";
    case SWD_ACT_SET_ETH_DST:
        return "eth_dst";
    case SWD_ACT_SET_IPV4_SRC:
        return "ipv4_src";
    case SWD_ACT_SET_IPV4_DST:
        return "ipv4_dst";
    case SWD_ACT_SET_TP_SRC:
        return "tp_src";
    case SWD_ACT_SET_TP_DST:
        return "tp_dst";
    case SWD_ACT_DEC_TTL:
        return "dec_ttl";
    default:
        return "?";
    }
}

uint32_t ip4(const char* s) {
    auto a = v4(s);
    uint32_t x;
    std::memcpy(&x, a.data(), 4);
    return x;
}

// Every rewrite kind with fixed arguments that differ from the frames' fields.
std::vector<rewrite> fixed_rewrites() {
    std::vector<rewrite> rs;
    for (uint32_t kind : rewrite_kinds) {
        rs.push_back({kind,
                      {0x0a, 0x1b, 0x2c, 0x3d, 0x4e, 0x5f},
                      kind == SWD_ACT_SET_IPV4_SRC ? ip4("192.0.2.77") : ip4("198.51.100.200"),
                      be16(kind == SWD_ACT_SET_TP_SRC ? 40000 : 8443)});
    }
    return rs;
}

// Every rewrite kind with random arguments; some are no-ops (the field's value), 0 or 0xffff.
std::vector<rewrite> random_rewrites(std::mt19937_64& rng, const flow_key& key) {
    std::vector<rewrite> rs;
    for (uint32_t kind : rewrite_kinds) {
        rewrite r{kind};
        for (auto& b : r.mac) {
            b = static_cast<uint8_t>(rng());
        }
        r.addr_be = static_cast<uint32_t>(rng());
        if (rng() % 5 == 0) {
            r.addr_be = kind == SWD_ACT_SET_IPV4_SRC ? key.f.nw_src[0] : key.f.nw_dst[0];
        }
        switch (rng() % 8) {
        case 0:
            r.port_be = kind == SWD_ACT_SET_TP_SRC ? key.f.tp_src : key.f.tp_dst;
            break;
        case 1:
            r.port_be = 0;
            break;
        case 2:
            r.port_be = 0xffff;
            break;
        default:
            r.port_be = static_cast<uint16_t>(rng());
            break;
        }
        rs.push_back(r);
    }
    return rs;
}

// ---- what each side gives ----------------------------------------------------------------------

struct outcome {
    int why = -1; // malformed code
    flow_key key;
    header_offsets where;
    int rw = -1; // rewrite result: 1 done, 0 skipped; ttl_result for dec_ttl; 0 for none
    flow_key rw_key;
    bytes frame; // after the rewrite
    std::string error;
};

outcome run_cc(const bytes& f, uint16_t in_port, const rewrite& r) {
    // A buffer of exactly the frame's size, so that AddressSanitizer sees any access past it.
    auto buf = std::make_unique<uint8_t[]>(f.size() ? f.size() : 1);
    std::copy(f.begin(), f.end(), buf.get());
    uint8_t* p = buf.get();
    const auto len = static_cast<uint32_t>(f.size());
    outcome o;
    o.why = static_cast<int>(extract_key(p, len, in_port, o.key, o.where));
    o.rw_key = o.key;
    o.rw = 0;
    switch (r.kind) {
    case SWD_ACT_SET_ETH_SRC:
        o.rw = rewrite_eth_src(p, len, r.mac.data(), o.rw_key);
        break;
    case SWD_ACT_SET_ETH_DST:
        o.rw = rewrite_eth_dst(p, len, r.mac.data(), o.rw_key);
        break;
    case SWD_ACT_SET_IPV4_SRC:
        o.rw = rewrite_ipv4_src(p, o.where, r.addr_be, o.rw_key);
        break;
    case SWD_ACT_SET_IPV4_DST:
        o.rw = rewrite_ipv4_dst(p, o.where, r.addr_be, o.rw_key);
        break;
    case SWD_ACT_SET_TP_SRC:
        o.rw = rewrite_tp_src(p, o.where, r.port_be, o.rw_key);
        break;
    case SWD_ACT_SET_TP_DST:
        o.rw = rewrite_tp_dst(p, o.where, r.port_be, o.rw_key);
        break;
    case SWD_ACT_DEC_TTL:
        o.rw = static_cast<int>(decrement_ttl(p, o.where, o.rw_key));
        break;
    default:
        break;
    }
    o.frame.assign(p, p + len);
    return o;
}

using probe_skel = std::unique_ptr<swd_parse_probe, decltype(&swd_parse_probe__destroy)>;

// The loaded probe program, shared by every test (loaded once, on first use).
class probe {
public:
    static probe& get() {
        static probe p;
        return p;
    }

    const std::string& error() const { return error_; }
    const std::string& verifier_stats() const { return stats_; }
    // Longest frame BPF_PROG_TEST_RUN hands a program as one buffer (a page minus the XDP
    // headroom and the shared-info tailroom: 3520 bytes with 4 KiB pages).
    size_t max_frame() const { return max_frame_; }

    // Frames shorter than this do not go through the TC program (BPF_PROG_TEST_RUN of an skb
    // program wants an Ethernet header).
    static constexpr size_t tc_min_frame = 14;

    // The TC program (swd_tc_parse_probe) on f, which must be >= tc_min_frame bytes.
    outcome run_tc(const bytes& f, uint16_t in_port, const rewrite& r) {
        auto* b = arm(in_port, r);
        b->probe_pulled = -1;
        b->probe_eth_type = 0;
        bytes in = f;
        bytes out(in.size() + 64);
        auto opts = test_run_opts(in, out);
        outcome o;
        int err = bpf_prog_test_run_opts(tc_fd_, &opts);
        const bool ip_type =
            (in[12] == 0x08 && in[13] == 0x00) || (in[12] == 0x86 && in[13] == 0xdd);
        if (err == -EINVAL && ip_type) {
            // The kernel refuses an IPv4/IPv6 frame whose IP header is cut short: it goes in
            // with an experimental Ethernet type, which the probe replaces by the real one
            // before the parse.
            std::memcpy(&b->probe_eth_type, &in[12], 2);
            in[12] = 0x88;
            in[13] = 0xb5;
            opts.data_size_out = static_cast<uint32_t>(out.size());
            err = bpf_prog_test_run_opts(tc_fd_, &opts);
            tc_type_restored_++;
        }
        if (err != 0) {
            o.error = "BPF_PROG_TEST_RUN (TC): " + std::string(std::strerror(-err));
            return o;
        }
        if (opts.retval != 0 /* TC_ACT_OK */ || b->probe_len != f.size() ||
            opts.data_size_out != in.size() || b->probe_pulled != 0) {
            o.error = "TC probe returned " + std::to_string(opts.retval) + ", saw " +
                      std::to_string(b->probe_len) + " bytes (pulled " +
                      std::to_string(b->probe_pulled) + ") and gave back " +
                      std::to_string(opts.data_size_out) + " for a frame of " +
                      std::to_string(f.size());
            return o;
        }
        collect(o, f, out);
        tc_runs_++;
        return o;
    }

    size_t tc_runs() const { return tc_runs_; }
    size_t tc_type_restored() const { return tc_type_restored_; }

    outcome run(const bytes& f, uint16_t in_port, const rewrite& r) {
        auto* b = arm(in_port, r);

        // BPF_PROG_TEST_RUN wants at least an Ethernet header of data. A shorter frame goes in
        // padded to 14 bytes, with the linear part (xdp_md.data_end) ending where the frame
        // ends: the padding lands in a fragment, which the program (direct packet access only)
        // cannot see, so it sees exactly the frame. probe_len checks that.
        bytes in = f;
        in.resize(std::max<size_t>(f.size(), 14), 0);
        bytes out(in.size() + 64);
        xdp_md ctx{};
        ctx.data_end = static_cast<uint32_t>(f.size());
        auto opts = test_run_opts(in, out);
        if (f.size() < 14) {
            opts.ctx_in = &ctx;
            opts.ctx_size_in = sizeof ctx;
        }
        outcome o;
        const int err = bpf_prog_test_run_opts(fd_, &opts);
        if (err != 0) {
            o.error = "BPF_PROG_TEST_RUN: " + std::string(std::strerror(-err));
            return o;
        }
        if (opts.retval != XDP_TX || (max_frame_ != 0 && b->probe_len != f.size()) ||
            opts.data_size_out != in.size()) {
            o.error = "probe returned " + std::to_string(opts.retval) + ", saw " +
                      std::to_string(b->probe_len) + " bytes and gave back " +
                      std::to_string(opts.data_size_out) + " for a frame of " +
                      std::to_string(f.size());
            return o;
        }
        collect(o, f, out);
        runs_++;
        return o;
    }

    size_t runs() const { return runs_; }

private:
    // Writes the inputs of one run (either program) and sets the outputs that every run writes
    // to values it never writes, so that a run that skips them shows. Returns the .bss.
    swd_parse_probe::swd_parse_probe__bss* arm(uint16_t in_port, const rewrite& r) {
        auto* b = skel_->bss;
        b->probe_in_port = in_port;
        b->probe_rw = r.kind;
        std::memcpy(b->probe_mac, r.mac.data(), 6);
        b->probe_addr = r.addr_be;
        b->probe_port = r.port_be;
        b->probe_len = UINT32_MAX;
        b->probe_malformed = -1;
        return b;
    }

    // BPF_PROG_TEST_RUN of the frame in, the program's frame to out.
    static bpf_test_run_opts test_run_opts(bytes& in, bytes& out) {
        LIBBPF_OPTS(bpf_test_run_opts, opts);
        opts.data_in = in.data();
        opts.data_size_in = static_cast<uint32_t>(in.size());
        opts.data_out = out.data();
        opts.data_size_out = static_cast<uint32_t>(out.size());
        return opts;
    }

    // What a run that went well reports (either program); the output frame is out's first
    // f.size() bytes.
    void collect(outcome& o, const bytes& f, const bytes& out) const {
        const auto* b = skel_->bss;
        o.why = b->probe_malformed;
        std::memcpy(&o.key.f, &b->probe_key, sizeof o.key.f);
        o.where.l3 = b->probe_l3;
        o.where.l4 = b->probe_l4;
        o.where.l3_end = b->probe_l3_end;
        o.where.ipv4 = b->probe_ipv4 != 0;
        o.where.ipv6 = b->probe_ipv6 != 0;
        o.rw = b->probe_rw_result;
        std::memcpy(&o.rw_key.f, &b->probe_rw_key, sizeof o.rw_key.f);
        o.frame.assign(out.begin(), out.begin() + static_cast<long>(f.size()));
    }

    probe() : skel_(nullptr, &swd_parse_probe__destroy) {
        // Verifier statistics (BPF_LOG_STATS) in our buffer; a failure is loaded again with the
        // full log for the message.
        std::string log(1 << 16, '\0');
        if (!open_and_load(4, log)) {
            std::string full(64 << 20, '\0');
            open_and_load(1, full);
            full.resize(std::strlen(full.c_str()));
            error_ += "\nverifier log (end):\n" +
                      full.substr(full.size() > 8000 ? full.size() - 8000 : 0);
            return;
        }
        stats_ = log.c_str();
        while (!stats_.empty() && stats_.back() == '\n') {
            stats_.pop_back();
        }
        bpf_prog_info info{};
        uint32_t len = sizeof info;
        if (bpf_obj_get_info_by_fd(fd_, &info, &len) == 0) {
            stats_ += "; " + std::to_string(info.xlated_prog_len / 8) + " instructions, " +
                      std::to_string(info.jited_prog_len) + " bytes JITed";
        }
        // The longest single-buffer frame: a longer one is split into fragments, and the
        // program sees only the first part.
        run(bytes(2 * static_cast<size_t>(sysconf(_SC_PAGESIZE)), 0), 0, {});
        max_frame_ = skel_->bss->probe_len;
        runs_ = 0;
    }

    bool open_and_load(uint32_t level, std::string& log) {
        LIBBPF_OPTS(bpf_object_open_opts, opts);
        opts.kernel_log_buf = log.data();
        opts.kernel_log_size = log.size();
        opts.kernel_log_level = level;
        skel_.reset(swd_parse_probe__open_opts(&opts));
        if (!skel_) {
            error_ = "open parse_probe: " + std::string(std::strerror(errno));
            return false;
        }
        if (int err = swd_parse_probe__load(skel_.get()); err != 0) {
            error_ = "load parse_probe: " + std::string(std::strerror(-err));
            skel_.reset();
            return false;
        }
        fd_ = bpf_program__fd(skel_->progs.swd_xdp_parse_probe);
        tc_fd_ = bpf_program__fd(skel_->progs.swd_tc_parse_probe);
        return true;
    }

    probe_skel skel_;
    int fd_ = -1;
    int tc_fd_ = -1;
    size_t max_frame_ = 0;
    size_t runs_ = 0;
    size_t tc_runs_ = 0;
    size_t tc_type_restored_ = 0;
    std::string error_;
    std::string stats_;
};

// ---- reports -----------------------------------------------------------------------------------

std::string hex_dump(const bytes& f) {
    std::string s;
    char b[32];
    for (size_t i = 0; i < f.size(); i++) {
        if (i % 16 == 0) {
            std::snprintf(b, sizeof b, "%s%04zx:", i ? "\n" : "", i);
            s += b;
        }
        std::snprintf(b, sizeof b, " %02x", f[i]);
        s += b;
    }
    return s;
}

std::string hex_bytes(const void* p, size_t n) {
    std::string s;
    char b[4];
    for (size_t i = 0; i < n; i++) {
        std::snprintf(b, sizeof b, "%02x", static_cast<const uint8_t*>(p)[i]);
        s += b;
    }
    return s;
}

// Both keys field by field, the differing fields marked.
std::string key_table(const flow_key& cc, const flow_key& bpf) {
    struct field {
        const char* name;
        size_t off, len;
    };
    static const field fields[] = {
        {"in_port", offsetof(swd_flow_key, in_port), 2},
        {"vlan_tci", offsetof(swd_flow_key, vlan_tci), 2},
        {"eth_dst", offsetof(swd_flow_key, eth_dst), 6},
        {"eth_src", offsetof(swd_flow_key, eth_src), 6},
        {"eth_type", offsetof(swd_flow_key, eth_type), 2},
        {"nw_proto", offsetof(swd_flow_key, nw_proto), 1},
        {"nw_tos", offsetof(swd_flow_key, nw_tos), 1},
        {"nw_ttl", offsetof(swd_flow_key, nw_ttl), 1},
        {"nw_frag", offsetof(swd_flow_key, nw_frag), 1},
        {"tcp_flags", offsetof(swd_flow_key, tcp_flags), 2},
        {"tp_src", offsetof(swd_flow_key, tp_src), 2},
        {"tp_dst", offsetof(swd_flow_key, tp_dst), 2},
        {"nw_src", offsetof(swd_flow_key, nw_src), 16},
        {"nw_dst", offsetof(swd_flow_key, nw_dst), 16},
        {"ct_state", offsetof(swd_flow_key, ct_state), 1},
        {"pad", offsetof(swd_flow_key, pad), 3},
    };
    std::string s = "    field      C++ (key bytes as stored)         BPF\n";
    const auto* a = reinterpret_cast<const uint8_t*>(&cc.f);
    const auto* b = reinterpret_cast<const uint8_t*>(&bpf.f);
    for (const field& f : fields) {
        const bool differs = std::memcmp(a + f.off, b + f.off, f.len) != 0;
        char line[160];
        std::snprintf(line, sizeof line, "  %s %-10s %-33s %s\n", differs ? "!!" : "  ", f.name,
                      hex_bytes(a + f.off, f.len).c_str(), hex_bytes(b + f.off, f.len).c_str());
        s += line;
    }
    return s;
}

std::string offsets(const header_offsets& w) {
    char b[96];
    std::snprintf(b, sizeof b, "l3 %u l4 %u l3_end %u ipv4 %d ipv6 %d", w.l3, w.l4, w.l3_end,
                  w.ipv4, w.ipv6);
    return b;
}

bool same_offsets(const header_offsets& a, const header_offsets& b) {
    return a.l3 == b.l3 && a.l4 == b.l4 && a.l3_end == b.l3_end && a.ipv4 == b.ipv4 &&
           a.ipv6 == b.ipv6;
}

// Empty when the outcomes agree; otherwise what differs, both keys and the frames.
std::string compare(const outcome& cc, const outcome& bpf, const rewrite& r, const bytes& in) {
    if (!bpf.error.empty()) {
        return bpf.error + "\nframe (" + std::to_string(in.size()) + " bytes):\n" + hex_dump(in);
    }
    std::string s;
    auto malformed_str = [](int m) {
        return std::to_string(m) + " (" + malformed_name(static_cast<malformed>(m)) + ")";
    };
    if (cc.why != bpf.why) {
        s += "malformed: C++ " + malformed_str(cc.why) + ", BPF " + malformed_str(bpf.why) + "\n";
    }
    if (!same_offsets(cc.where, bpf.where)) {
        s += "offsets: C++ " + offsets(cc.where) + ", BPF " + offsets(bpf.where) + "\n";
    }
    if (!(cc.key == bpf.key)) {
        s += "keys after the parse differ:\n" + key_table(cc.key, bpf.key);
    }
    if (r.kind != 0) {
        const std::string what = std::string("rewrite ") + kind_name(r.kind);
        if (cc.rw != bpf.rw) {
            s += what + ": C++ result " + std::to_string(cc.rw) + ", BPF " +
                 std::to_string(bpf.rw) + "\n";
        }
        if (!(cc.rw_key == bpf.rw_key)) {
            s += what + ": keys after the rewrite differ:\n" + key_table(cc.rw_key, bpf.rw_key);
        }
    }
    if (cc.frame != bpf.frame) {
        s += "output frames differ (offset: C++ BPF):";
        for (size_t i = 0; i < std::min(cc.frame.size(), bpf.frame.size()); i++) {
            if (cc.frame[i] != bpf.frame[i]) {
                char b[32];
                std::snprintf(b, sizeof b, " [%zu]: %02x %02x", i, cc.frame[i], bpf.frame[i]);
                s += b;
            }
        }
        s += "\n";
    }
    if (s.empty()) {
        return s;
    }
    char args[96];
    std::snprintf(args, sizeof args, " (mac %s, addr %s, port %s)",
                  hex_bytes(r.mac.data(), 6).c_str(), hex_bytes(&r.addr_be, 4).c_str(),
                  hex_bytes(&r.port_be, 2).c_str());
    return std::string("rewrite ") + kind_name(r.kind) + (r.kind ? args : "") + "\n" + s +
           "frame (" + std::to_string(in.size()) + " bytes):\n" + hex_dump(in);
}

// ---- the comparison driver ---------------------------------------------------------------------

class BpfParse : public test::root_test {
protected:
    void SetUp() override {
        root_test::SetUp();
        if (IsSkipped() || HasFatalFailure()) {
            return;
        }
        p_ = &probe::get();
        ASSERT_TRUE(p_->error().empty()) << p_->error();
        runs_at_start_ = p_->runs();
        tc_runs_at_start_ = p_->tc_runs();
    }

    // Runs f through both sides without a rewrite and with each of rs; every difference is a
    // failure (the first few with a full report). Returns the C++ outcome of the parse.
    outcome check(const std::string& name, const bytes& f, uint16_t in_port,
                  const std::vector<rewrite>& rs) {
        frames_++;
        const outcome base = run_cc(f, in_port, rewrite{});
        auto one = [&](const rewrite& r) {
            const outcome cc = r.kind == 0 ? base : run_cc(f, in_port, r);
            auto report_of = [&](const char* prog, const std::string& report) {
                if (report.empty()) {
                    return;
                }
                mismatches_++;
                if (mismatches_ <= 10) {
                    ADD_FAILURE() << name << ": BPF (" << prog << ") and C++ differ\n" << report;
                } else if (mismatches_ == 11) {
                    ADD_FAILURE() << "more mismatches; reporting only their count";
                }
            };
            report_of("XDP", compare(cc, p_->run(f, in_port, r), r, f));
            if (f.size() >= probe::tc_min_frame && f.size() <= p_->max_frame()) {
                report_of("TC", compare(cc, p_->run_tc(f, in_port, r), r, f));
            }
            if (r.kind != 0 && cc.rw == (r.kind == SWD_ACT_DEC_TTL ? 0 : 1)) {
                rewrites_done_++;
            }
        };
        one(rewrite{});
        for (const rewrite& r : rs) {
            one(r);
        }
        malformed_seen_[base.why]++;
        return base;
    }

    void summary(const char* what) {
        std::string m;
        for (const auto& [code, n] : malformed_seen_) {
            m += std::string(" ") + malformed_name(static_cast<malformed>(code)) + "=" +
                 std::to_string(n);
        }
        std::printf("[ bpf_parse ] %s: %zu frames, %zu XDP and %zu TC runs compared (%zu rewrites "
                    "applied), %zu mismatches; malformed:%s; TC runs with the Ethernet type "
                    "restored by the probe so far: %zu\n",
                    what, frames_, p_->runs() - runs_at_start_, p_->tc_runs() - tc_runs_at_start_,
                    rewrites_done_, mismatches_, m.c_str(), p_->tc_type_restored());
        EXPECT_GT(p_->tc_runs(), tc_runs_at_start_) << "the TC program ran on no frame";
        EXPECT_EQ(mismatches_, 0u);
    }

    probe* p_ = nullptr;
    size_t frames_ = 0;
    size_t mismatches_ = 0;
    size_t rewrites_done_ = 0;
    size_t runs_at_start_ = 0;
    size_t tc_runs_at_start_ = 0;
    std::map<int, size_t> malformed_seen_;
};

TEST_F(BpfParse, ProbeLoads) {
    std::printf("[ bpf_parse ] verifier: %s\n", p_->verifier_stats().c_str());
    EXPECT_NE(p_->verifier_stats().find("processed"), std::string::npos);
}

// ---- hand-built frames -------------------------------------------------------------------------

struct named {
    std::string name;
    bytes frame;
};

std::vector<named> hand_built() {
    std::vector<named> v;
    auto add = [&](std::string name, bytes f) { v.push_back({std::move(name), std::move(f)}); };

    // IPv4
    add("udp4", ipv4_frame(udp(1234, 53, 20), {.tos = 0xb8, .ttl = 17}));
    add("tcp4 flags, options, IP options",
        ipv4_frame(tcp(40000, 443, 0x1d2, 10, 8), {.ttl = 1, .options = 12}));
    add("tcp4 all flags", ipv4_frame(tcp(1, 2, 0xfff, 3), {.ttl = 0}));
    add("icmp4", ipv4_frame(icmp(8, 3)));
    add("ip options 40", ipv4_frame(udp(7, 7, 5), {.options = 40}));
    add("icmpv6 over ipv4", ipv4_frame(l4{58, bytes(8, 0x80), SIZE_MAX}));
    add("gre4", ipv4_frame(l4{47, bytes(24, 0x33), SIZE_MAX}));
    add("udp4 no checksum", [] {
        bytes f = ipv4_frame(udp(5353, 53, 13));
        put16(f, 14 + 20 + 6, 0);
        return f;
    }());
    add("udp4 first fragment", ipv4_frame(udp(1, 2, 30), {.frag = 0x2000}));
    add("udp4 later fragment", ipv4_frame(udp(1, 2, 30), {.frag = 0x0010}));
    add("tcp4 later fragment, MF", ipv4_frame(tcp(1, 2), {.frag = 0x2001}));
    add("udp4 DF", ipv4_frame(udp(1, 2), {.frag = 0x4000}));
    add("udp4 evil bit + offset", ipv4_frame(udp(1, 2), {.frag = 0x9fff}));
    add("udp4 padded", pad(ipv4_frame(udp(1, 2, 0)), 18, 0xee));
    add("tcp4 padded", pad(ipv4_frame(tcp(1, 2)), 6, 0x11));
    add("udp4 3000 bytes", ipv4_frame(udp(9, 9, 3000)));

    // VLAN
    add("udp4 802.1Q", ipv4_frame(udp(1, 2), {}, {0x6005}));
    add("tcp4 802.1Q VID 0", ipv4_frame(tcp(1, 2), {}, {0}));
    add("udp4 802.1ad", add_vlan(ipv4_frame(udp(1, 2)), 0xe123, 0x88a8));
    add("QinQ 802.1ad + 802.1Q", add_vlan(ipv4_frame(udp(1, 2), {}, {0x0064}), 0x00c8, 0x88a8));
    add("QinQ 802.1Q + 802.1Q", ipv4_frame(udp(1, 2), {}, {0x0001, 0x0002}));
    add("udp6 802.1Q", add_vlan(ipv6_frame(udp(1000, 53, 30), {hop_by_hop(2)}), 0x0123));
    add("arp 802.1Q", add_vlan(arp_frame(1, "10.0.0.1", "10.0.0.2"), 7));

    // IPv6
    add("tcp6", ipv6_frame(tcp(5, 6, 0x010, 7), {}, 0xa4, 9));
    add("udp6", ipv6_frame(udp(7, 8, 11), {}, 0x3c, 1));
    add("icmpv6", ipv6_frame(icmp(135, 0, true)));
    add("icmp over ipv6", ipv6_frame(icmp(8, 0, false)));
    add("ipv6 no next header", ipv6_frame(l4{59, {}, SIZE_MAX}));
    add("udp6 hop-by-hop", ipv6_frame(udp(7, 8), {hop_by_hop(1)}));
    add("tcp6 routing", ipv6_frame(tcp(7, 8), {ext_header(43, 2)}));
    add("udp6 destination options", ipv6_frame(udp(7, 8), {ext_header(60, 0)}));
    add("tcp6 AH", ipv6_frame(tcp(7, 8), {ext_header(51, 4)}));
    add("udp6 AH odd length", ipv6_frame(udp(7, 8), {ext_header(51, 1)}));
    add("udp6 first fragment", ipv6_frame(udp(7, 8), {hop_by_hop(), fragment(0, true)}));
    add("udp6 later fragment", ipv6_frame(udp(7, 8), {fragment(100, false)}));
    add("later fragment then options",
        ipv6_frame(udp(7, 8), {fragment(3, true), ext_header(60, 0)}));
    add("two fragment headers", ipv6_frame(udp(7, 8), {fragment(0, true), fragment(5, false)}));
    add("fragment header with reserved bits", [] {
        bytes f = ipv6_frame(udp(7, 8), {fragment(0, true)});
        f[14 + 40 + 1] = 0xff; // reserved byte: not a length
        f[14 + 40 + 3] |= 0x06;
        return f;
    }());
    {
        std::vector<ext> eight;
        const uint8_t types[] = {0, 60, 43, 51, 60, 43, 44, 60};
        for (size_t i = 0; i < 8; i++) {
            eight.push_back(types[i] == 44 ? fragment(0, true) : ext_header(types[i], i % 3));
        }
        add("eight extension headers", ipv6_frame(tcp(1, 2), eight));
        add("nine extension headers", ipv6_frame(tcp(1, 2), std::vector<ext>(9, hop_by_hop())));
        eight.push_back(fragment(7, false));
        add("later fragment as the ninth header", ipv6_frame(udp(1, 2), eight));
    }
    add("udp6 padded", pad(ipv6_frame(udp(1, 2, 0)), 10, 0x77));

    // ARP and other EtherTypes
    add("arp request", arp_frame(1, "10.0.0.5", "10.0.0.9"));
    add("arp reply padded", pad(arp_frame(2, "10.0.0.5", "10.0.0.9"), 18, 0));
    add("arp opcode 0x0101", [] {
        bytes f = arp_frame(1, "1.1.1.1", "2.2.2.2");
        put16(f, 14 + 6, 0x0101);
        return f;
    }());
    for (size_t at : {0, 1, 2, 3, 4, 5}) {
        bytes f = arp_frame(1, "1.1.1.1", "2.2.2.2");
        f[14 + at] ^= 0x40;
        add("arp header byte " + std::to_string(at) + " wrong", f);
    }
    add("lldp", pad(eth(0x88cc), 46, 0x55));
    add("ethernet header only, ipv4", eth(0x0800));
    add("ethernet header only, ipv6", eth(0x86dd));
    add("ethernet header only, arp", eth(0x0806));
    add("ethernet header only, vlan", eth(0x8100));
    add("802.3 length field", pad(eth(0x002e), 46, 0x42));

    // Malformed
    const bytes u4 = ipv4_frame(udp(1, 2));
    auto mutate = [&](const char* name, bytes f, auto fn) {
        fn(f);
        add(name, f);
    };
    mutate("ipv4 IHL 4", u4, [](bytes& f) { f[14] = 0x44; });
    mutate("ipv4 version 6", u4, [](bytes& f) { f[14] = 0x65; });
    mutate("ipv4 IHL 15 past the end", u4, [](bytes& f) { f[14] = 0x4f; });
    mutate("ipv4 total length 1500", u4, [](bytes& f) { put16(f, 16, 1500); });
    mutate("ipv4 total length 19", u4, [](bytes& f) { put16(f, 16, 19); });
    mutate("ipv4 total length 0", u4, [](bytes& f) { put16(f, 16, 0); });
    mutate("ipv4 UDP cut to 4 bytes by length", u4, [](bytes& f) { put16(f, 16, 24); });
    mutate("tcp4 data offset 4", ipv4_frame(tcp(1, 2)), [](bytes& f) { f[14 + 20 + 12] = 0x40; });
    mutate("tcp4 data offset 15 past the end", ipv4_frame(tcp(1, 2)),
           [](bytes& f) { f[14 + 20 + 12] = 0xf0; });
    mutate("tcp4 data offset 0", ipv4_frame(tcp(1, 2, 0x3f)),
           [](bytes& f) { f[14 + 20 + 12] = 0; });
    mutate("icmp4 cut to 3 bytes by length", ipv4_frame(icmp(3, 1)),
           [](bytes& f) { put16(f, 16, 23); });
    mutate("ipv6 payload length 4000", ipv6_frame(udp(1, 2)), [](bytes& f) { put16(f, 18, 4000); });
    mutate("ipv6 version 4", ipv6_frame(udp(1, 2)), [](bytes& f) { f[14] = 0x40; });
    mutate("ipv6 extension longer than the payload", ipv6_frame(udp(1, 2), {hop_by_hop(3)}),
           [](bytes& f) { f[14 + 40 + 1] = 200; });
    mutate("ipv6 payload ends inside an extension", ipv6_frame(udp(1, 2), {hop_by_hop(3)}),
           [](bytes& f) { put16(f, 18, 4); });
    mutate("udp6 cut by payload length", ipv6_frame(udp(1, 2)), [](bytes& f) { put16(f, 18, 7); });
    mutate("tcp6 cut by payload length, padded", pad(ipv6_frame(tcp(1, 2)), 20),
           [](bytes& f) { put16(f, 18, 19); });
    return v;
}

TEST_F(BpfParse, HandBuiltFramesAndEveryTruncation) {
    const std::vector<rewrite> rs = fixed_rewrites();
    const std::vector<named> frames = hand_built();
    size_t prefixes = 0;
    for (const named& n : frames) {
        ASSERT_LE(n.frame.size(), p_->max_frame()) << n.name;
        check(n.name, n.frame, 3, rs);
        for (size_t len = 0; len < n.frame.size(); len++) {
            const bytes cut(n.frame.begin(), n.frame.begin() + static_cast<long>(len));
            check(n.name + ", first " + std::to_string(len) + " bytes", cut, 0xfffe, rs);
            prefixes++;
        }
    }
    std::printf("[ bpf_parse ] %zu hand-built frames and %zu truncations\n", frames.size(),
                prefixes);
    summary("hand-built");
    // Every malformed code occurs.
    for (int m = 0; m < SWD_MALFORMED_COUNT; m++) {
        EXPECT_GT(malformed_seen_[m], 0u) << malformed_name(static_cast<malformed>(m));
    }
}

// ---- random frames -----------------------------------------------------------------------------

TEST_F(BpfParse, RandomFrames) {
    random_frames gen{std::mt19937_64(20250601)};
    std::mt19937_64 rng(7);
    for (int i = 0; i < 20000; i++) {
        const bytes f = gen.frame();
        const auto in_port = static_cast<uint16_t>(rng());
        const std::vector<rewrite> rs = random_rewrites(rng, run_cc(f, 1, {}).key);
        check("random frame " + std::to_string(i), f, in_port, rs);
    }
    // IPv6 with random extension header chains (0 to 10 headers of every kind, random lengths,
    // fragment offsets and flags), sometimes with a payload length that lies, or cut short.
    for (int i = 0; i < 20000; i++) {
        std::vector<ext> exts;
        const uint8_t kinds[] = {0, 43, 44, 51, 60};
        for (size_t n = rng() % 11; n > 0; n--) {
            const uint8_t type = kinds[rng() % 5];
            exts.push_back(type == 44
                               ? fragment(static_cast<uint16_t>(rng() % 4 ? 0 : rng()), rng() % 2)
                               : ext_header(type, rng() % 4));
            for (size_t b = 2; b < exts.back().body.size(); b++) {
                exts.back().body[b] = static_cast<uint8_t>(rng());
            }
        }
        const l4 seg = rng() % 3 == 0   ? tcp(static_cast<uint16_t>(rng()), 80, 0x012, rng() % 9)
                       : rng() % 2 == 0 ? udp(53, static_cast<uint16_t>(rng()), rng() % 9)
                                        : icmp(128, 0, true);
        bytes f = ipv6_frame(seg, exts, static_cast<uint8_t>(rng()), static_cast<uint8_t>(rng()));
        if (rng() % 8 == 0) {
            put16(f, 18, static_cast<uint16_t>(rng() % (f.size() - 40)));
        }
        if (rng() % 8 == 0) {
            f.resize(14 + rng() % (f.size() - 13));
        }
        if (rng() % 4 == 0) {
            f = add_vlan(f, static_cast<uint16_t>(rng()), rng() % 2 ? 0x8100 : 0x88a8);
        }
        const auto in_port = static_cast<uint16_t>(rng());
        const std::vector<rewrite> rs = random_rewrites(rng, run_cc(f, 1, {}).key);
        check("random ipv6 chain " + std::to_string(i), f, in_port, rs);
    }
    // Random bytes, half of them steered into the IPv4/IPv6 parsers.
    for (int i = 0; i < 20000; i++) {
        bytes f(rng() % 200);
        for (auto& b : f) {
            b = static_cast<uint8_t>(rng());
        }
        if (f.size() > 14 && rng() % 2) {
            f[12] = rng() % 2 ? 0x08 : 0x86;
            f[13] = f[12] == 0x08 ? 0x00 : 0xdd;
            f[14] = static_cast<uint8_t>((f[12] == 0x08 ? 0x40 : 0x60) | (f[14] & 0x0f));
        }
        const auto in_port = static_cast<uint16_t>(rng());
        const std::vector<rewrite> rs = random_rewrites(rng, run_cc(f, 1, {}).key);
        check("random bytes " + std::to_string(i), f, in_port, rs);
    }
    summary("random");
}

// ---- exhaustive argument sweeps: every checksum outcome, including 0x0000 and 0xffff -----------

TEST_F(BpfParse, RewriteArgumentSweeps) {
    bytes udp4_nocsum = ipv4_frame(udp(5353, 53, 13));
    put16(udp4_nocsum, 14 + 20 + 6, 0);
    bytes udp6_zero = ipv6_frame(udp(1000, 53, 30));
    put16(udp6_zero, 14 + 40 + 6, 0);
    const std::vector<named> port_frames = {
        {"udp4", ipv4_frame(udp(1000, 2000, 12))},
        {"udp4 no checksum", udp4_nocsum},
        {"udp4 options vlan", ipv4_frame(udp(1000, 2000, 12), {.options = 8}, {5})},
        {"udp6", ipv6_frame(udp(1000, 2000, 12))},
        {"udp6 zero checksum", udp6_zero},
        {"tcp4", ipv4_frame(tcp(1000, 2000, 0x010, 5))},
        {"tcp6 routing", ipv6_frame(tcp(1000, 2000, 0x018, 3), {ext_header(43, 1)})},
    };
    size_t runs = 0, udp_ffff = 0;
    auto sweep = [&](const named& n, uint32_t kind) {
        const outcome base = run_cc(n.frame, 1, {});
        for (uint32_t v = 0; v < 0x10000; v++) {
            rewrite r{kind};
            r.port_be = be16(static_cast<uint16_t>(v));
            // addresses: the low half of 10.0.x.x, which covers the frames' 10.0.0.x
            r.addr_be = be32(0x0a000000u | v);
            const outcome cc = run_cc(n.frame, 1, r);
            for (bool tc : {false, true}) {
                const outcome bpf = tc ? p_->run_tc(n.frame, 1, r) : p_->run(n.frame, 1, r);
                runs++;
                const std::string report = compare(cc, bpf, r, n.frame);
                if (!report.empty()) {
                    mismatches_++;
                    if (mismatches_ <= 10) {
                        ADD_FAILURE() << n.name << ", " << kind_name(kind) << " " << v
                                      << (tc ? " (TC)" : " (XDP)") << ":\n"
                                      << report;
                    }
                }
            }
            if (base.where.l4 != 0 && base.key.f.nw_proto == 17 && cc.rw == 1 &&
                cc.frame[base.where.l4 + 6] == 0xff && cc.frame[base.where.l4 + 7] == 0xff) {
                udp_ffff++;
            }
        }
    };
    for (const named& n : port_frames) {
        sweep(n, SWD_ACT_SET_TP_SRC);
        sweep(n, SWD_ACT_SET_TP_DST);
        if (n.name.find("udp4") == 0 || n.name.find("tcp4") == 0) {
            sweep(n, SWD_ACT_SET_IPV4_SRC);
            sweep(n, SWD_ACT_SET_IPV4_DST);
        }
    }
    // dec_ttl at every TTL, IPv4 (checksum word with the protocol) and IPv6.
    for (int ttl = 0; ttl < 256; ttl++) {
        const auto t = static_cast<uint8_t>(ttl);
        const std::vector<rewrite> dec = {rewrite{SWD_ACT_DEC_TTL}};
        check("ipv4 ttl " + std::to_string(ttl),
              ipv4_frame(udp(1, 2), {.tos = static_cast<uint8_t>(ttl * 7), .ttl = t}), 1, dec);
        check("ipv6 hop limit " + std::to_string(ttl), ipv6_frame(tcp(1, 2), {}, 0, t), 1, dec);
    }
    std::printf("[ bpf_parse ] argument sweeps: %zu runs compared, %zu of them with a UDP "
                "checksum that became 0 and was stored as 0xffff\n",
                runs, udp_ffff);
    EXPECT_GT(udp_ffff, 0u) << "the sweeps must reach a UDP checksum that becomes 0";
    summary("sweeps and dec_ttl at every TTL");
}

// ---- the real-world captures -------------------------------------------------------------------

#ifndef SWD_SOURCE_DIR
#define SWD_SOURCE_DIR "."
#endif

// ../shared/pcaps/real-world beside the source tree, else the lab's copy; empty when neither
// exists.
std::string capture_dir() {
    std::vector<std::string> candidates;
    if (const char* root = std::getenv("SWD_SOURCE_ROOT"); root != nullptr) {
        candidates.push_back(std::string(root) + "/../shared/pcaps/real-world");
    }
    candidates.push_back(SWD_SOURCE_DIR "/../shared/pcaps/real-world");
    candidates.push_back("/work/shared/pcaps/real-world");
    for (const std::string& d : candidates) {
        if (std::filesystem::is_directory(d)) {
            return d;
        }
    }
    return "";
}

TEST_F(BpfParse, RealWorldCaptures) {
    const std::string dir = capture_dir();
    ASSERT_FALSE(dir.empty()) << "no real-world captures: neither " SWD_SOURCE_DIR
                                 "/../shared/pcaps/real-world nor /work/shared/pcaps/real-world";
    std::vector<std::filesystem::path> files;
    for (const auto& e : std::filesystem::directory_iterator(dir)) {
        const std::string ext = e.path().extension().string();
        if (e.is_regular_file() && (ext == ".pcap" || ext == ".pcapng" || ext == ".cap")) {
            files.push_back(e.path());
        }
    }
    std::sort(files.begin(), files.end());
    ASSERT_FALSE(files.empty()) << dir << " holds no captures";

    size_t captures = 0, not_ethernet = 0, packets = 0, cut = 0;
    for (const auto& path : files) {
        char err[PCAP_ERRBUF_SIZE];
        pcap_t* pc = pcap_open_offline(path.c_str(), err);
        if (pc == nullptr) {
            ADD_FAILURE() << path << ": " << err;
            continue;
        }
        std::unique_ptr<pcap_t, decltype(&pcap_close)> closer(pc, &pcap_close);
        if (pcap_datalink(pc) != DLT_EN10MB) {
            not_ethernet++;
            continue;
        }
        captures++;
        std::mt19937_64 rng(std::hash<std::string>{}(path.filename().string()));
        pcap_pkthdr* h;
        const u_char* data;
        int rc;
        for (size_t n = 1; (rc = pcap_next_ex(pc, &h, &data)) == 1; n++) {
            bytes f(data, data + h->caplen);
            // A frame longer than one XDP buffer cannot reach a single-buffer program: both
            // sides get the part that fits.
            if (f.size() > p_->max_frame()) {
                f.resize(p_->max_frame());
                cut++;
            }
            const flow_key key = run_cc(f, 1, {}).key;
            const auto in_port = static_cast<uint16_t>(1 + n % SWD_MAX_OFPORT);
            check(path.filename().string() + " packet " + std::to_string(n), f, in_port,
                  random_rewrites(rng, key));
            packets++;
        }
        EXPECT_EQ(rc, PCAP_ERROR_BREAK) << path << ": " << pcap_geterr(pc);
    }
    std::printf("[ bpf_parse ] %s: %zu Ethernet captures, %zu packets (%zu cut to the %zu-byte "
                "single-buffer maximum); %zu captures skipped (not Ethernet)\n",
                dir.c_str(), captures, packets, cut, p_->max_frame(), not_ethernet);
    summary("real-world captures");
    EXPECT_GT(packets, 0u);
}

} // namespace
} // namespace swd::dp
