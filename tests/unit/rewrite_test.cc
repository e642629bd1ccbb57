// Packet rewrites (set-field actions and dec_ttl) and the incremental checksum updates behind
// them, checked against a full recomputation of every checksum: on hand-built frames of each
// kind, on edge cases found by search (checksums that become 0x0000 or 0xffff), and on thousands
// of random frames with random rewrites.
#include <algorithm>
#include <arpa/inet.h>
#include <array>
#include <cstdio>
#include <cstring>
#include <functional>
#include <gtest/gtest.h>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "datapath/checksum.h"
#include "datapath/extract.h"
#include "datapath/rewrite.h"
#include "frames.h"
#include "random_frames.h"

namespace swd::dp {
namespace {

using namespace swd::test;

constexpr uint8_t proto_icmp = 1;
constexpr uint8_t proto_tcp = 6;
constexpr uint8_t proto_udp = 17;
constexpr uint8_t proto_icmp6 = 58;

struct parsed {
    flow_key key;
    header_offsets where;
    malformed why;
};

// Copies the frame into a buffer of exactly its size, so that AddressSanitizer sees any access
// past the end.
parsed parse(const bytes& f) {
    auto buf = std::make_unique<uint8_t[]>(f.size() ? f.size() : 1);
    std::copy(f.begin(), f.end(), buf.get());
    parsed p;
    p.why = extract_key(buf.get(), static_cast<uint32_t>(f.size()), 1, p.key, p.where);
    return p;
}

uint16_t get16(const bytes& f, size_t at) {
    return static_cast<uint16_t>(f[at] << 8 | f[at + 1]);
}

uint32_t ip4(const char* s) {
    auto a = v4(s);
    uint32_t x;
    std::memcpy(&x, a.data(), 4);
    return x;
}

std::string hex(const bytes& f) {
    std::string s;
    char b[4];
    for (size_t i = 0; i < f.size(); i++) {
        std::snprintf(b, sizeof b, "%02x", f[i]);
        s += b;
        if (i + 1 < f.size()) {
            s += (i % 16 == 15) ? '\n' : ' ';
        }
    }
    return s;
}

// Every offset where the frames differ, as "offset: expected -> got".
std::string diff(const bytes& want, const bytes& got) {
    std::string s;
    char b[64];
    if (want.size() != got.size()) {
        std::snprintf(b, sizeof b, "size %zu -> %zu\n", want.size(), got.size());
        s += b;
    }
    for (size_t i = 0; i < std::min(want.size(), got.size()); i++) {
        if (want[i] != got[i]) {
            std::snprintf(b, sizeof b, "  [%zu]: %02x -> %02x\n", i, want[i], got[i]);
            s += b;
        }
    }
    return s;
}

// ---- full recomputation: the reference for every incremental update ---------------------------

size_t l4_csum_at(uint8_t proto) {
    switch (proto) {
    case proto_tcp:
        return 16;
    case proto_udp:
        return 6;
    case proto_icmp:
    case proto_icmp6:
        return 2;
    default:
        return SIZE_MAX;
    }
}

// Sum of the IPv4 or IPv6 pseudo-header for an upper-layer segment of `len` bytes.
uint32_t pseudo_sum(const bytes& f, const header_offsets& w, uint8_t proto, uint32_t len) {
    uint32_t acc = w.ipv4 ? sum16(f.data() + w.l3 + 12, 8) : sum16(f.data() + w.l3 + 8, 32);
    return acc + proto + len; // len < 2^16 words fold like the two words of a 32-bit length
}

// The L4 checksum computed from scratch over [l4, l3_end), the checksum field taken as zero,
// before UDP's 0 -> 0xffff. The pseudo-header is included for TCP, UDP and ICMPv6.
uint16_t full_l4_csum(const bytes& f, const header_offsets& w, uint8_t proto) {
    bytes seg(f.begin() + w.l4, f.begin() + w.l3_end);
    const size_t at = l4_csum_at(proto);
    if (at == SIZE_MAX || at + 2 > seg.size()) {
        ADD_FAILURE() << "no checksum to compute for protocol " << int{proto};
        return 0;
    }
    seg[at] = seg[at + 1] = 0;
    const uint32_t acc =
        proto == proto_icmp ? 0 : pseudo_sum(f, w, proto, static_cast<uint32_t>(seg.size()));
    return fold(sum16(seg.data(), seg.size(), acc));
}

uint16_t full_ipv4_csum(const bytes& f, const header_offsets& w) {
    const size_t ihl = (f[w.l3] & 0x0f) * 4u;
    bytes h(f.begin() + w.l3, f.begin() + w.l3 + ihl);
    h[10] = h[11] = 0;
    return fold(sum16(h.data(), h.size()));
}

// Writes every checksum of the frame from scratch, with the rules of rewrite.h: a zero UDP
// checksum stays zero (over IPv4 and IPv6), a computed UDP checksum of 0 is sent as 0xffff.
void recompute(bytes& f, const header_offsets& w, uint8_t proto) {
    if (w.ipv4) {
        put16(f, w.l3 + 10, full_ipv4_csum(f, w));
    }
    const size_t at = l4_csum_at(proto);
    if (w.l4 == 0 || at == SIZE_MAX) {
        return;
    }
    if (proto == proto_udp && get16(f, w.l4 + at) == 0) {
        return;
    }
    const uint16_t c = full_l4_csum(f, w, proto);
    put16(f, w.l4 + at, proto == proto_udp && c == 0 ? 0xffff : c);
}

// Verifies (rather than recomputes) every checksum: the sum over the data including the
// checksum must fold to zero. Uses frames.h's ipv4_checksums_ok where it applies.
bool checksums_ok(const bytes& f, const header_offsets& w, uint8_t proto) {
    if (w.ipv4) {
        const size_t ihl = (f[w.l3] & 0x0f) * 4u;
        if (fold(sum16(f.data() + w.l3, ihl)) != 0) {
            return false;
        }
    }
    const size_t at = l4_csum_at(proto);
    if (w.l4 == 0 || at == SIZE_MAX) {
        return true;
    }
    if (w.ipv4 && !ipv4_checksums_ok(f, w.l3)) {
        return false;
    }
    if (proto == proto_udp && get16(f, w.l4 + at) == 0) {
        return true; // "no checksum" (IPv4; IPv6 tunnels, RFC 6935)
    }
    const uint32_t len = w.l3_end - w.l4;
    const uint32_t acc = proto == proto_icmp ? 0 : pseudo_sum(f, w, proto, len);
    return fold(sum16(f.data() + w.l4, len, acc)) == 0;
}

// ---- the rewrites, as data ---------------------------------------------------------------------

enum class op { eth_src, eth_dst, ipv4_src, ipv4_dst, tp_src, tp_dst, dec_ttl, count_ };

const char* op_name(op o) {
    static const char* const names[] = {"eth_src", "eth_dst", "ipv4_src", "ipv4_dst",
                                        "tp_src",  "tp_dst",  "dec_ttl"};
    return names[static_cast<int>(o)];
}

struct rewrite {
    op kind;
    std::array<uint8_t, 6> mac{};
    uint32_t addr_be = 0;
    uint16_t port_be = 0;
};

rewrite set_mac(op kind, std::array<uint8_t, 6> mac) {
    return {kind, mac};
}
rewrite set_addr(op kind, const char* addr) {
    return {kind, {}, ip4(addr)};
}
rewrite set_port(op kind, uint16_t port) {
    return {kind, {}, 0, be16(port)};
}
rewrite dec_ttl() {
    return {op::dec_ttl};
}

// The result every rewrite gives, in one type: ok, not_ip for "false", expired.
ttl_result run(bytes& f, flow_key& key, const header_offsets& w, const rewrite& r) {
    auto buf = std::make_unique<uint8_t[]>(f.size() ? f.size() : 1);
    std::copy(f.begin(), f.end(), buf.get());
    uint8_t* p = buf.get();
    const auto len = static_cast<uint32_t>(f.size());
    auto res = [](bool ok) { return ok ? ttl_result::ok : ttl_result::not_ip; };
    ttl_result out = ttl_result::not_ip;
    switch (r.kind) {
    case op::eth_src:
        out = res(rewrite_eth_src(p, len, r.mac.data(), key));
        break;
    case op::eth_dst:
        out = res(rewrite_eth_dst(p, len, r.mac.data(), key));
        break;
    case op::ipv4_src:
        out = res(rewrite_ipv4_src(p, w, r.addr_be, key));
        break;
    case op::ipv4_dst:
        out = res(rewrite_ipv4_dst(p, w, r.addr_be, key));
        break;
    case op::tp_src:
        out = res(rewrite_tp_src(p, w, r.port_be, key));
        break;
    case op::tp_dst:
        out = res(rewrite_tp_dst(p, w, r.port_be, key));
        break;
    case op::dec_ttl:
        out = decrement_ttl(p, w, key);
        break;
    case op::count_:
        break;
    }
    std::copy(p, p + f.size(), f.begin());
    return out;
}

// What the rewrite must do, from the rules in rewrite.h (not from its code).
ttl_result model_result(const bytes& f, const parsed& p, const rewrite& r) {
    const uint8_t proto = p.key.f.nw_proto;
    switch (r.kind) {
    case op::eth_src:
    case op::eth_dst:
        return f.size() >= 14 ? ttl_result::ok : ttl_result::not_ip;
    case op::ipv4_src:
    case op::ipv4_dst:
        return p.where.ipv4 ? ttl_result::ok : ttl_result::not_ip;
    case op::tp_src:
    case op::tp_dst:
        return p.where.l4 != 0 && (proto == proto_tcp || proto == proto_udp) ? ttl_result::ok
                                                                             : ttl_result::not_ip;
    case op::dec_ttl:
        if (!p.where.ipv4 && !p.where.ipv6) {
            return ttl_result::not_ip;
        }
        return f[p.where.l3 + (p.where.ipv4 ? 8 : 7)] <= 1 ? ttl_result::expired : ttl_result::ok;
    case op::count_:
        break;
    }
    return ttl_result::not_ip;
}

// The frame after a successful rewrite: the field written, then every checksum recomputed.
bytes model_frame(bytes f, const parsed& p, const rewrite& r) {
    const header_offsets& w = p.where;
    auto put = [&](size_t at, const void* v, size_t n) { std::memcpy(f.data() + at, v, n); };
    switch (r.kind) {
    case op::eth_src:
        put(6, r.mac.data(), 6);
        break;
    case op::eth_dst:
        put(0, r.mac.data(), 6);
        break;
    case op::ipv4_src:
        put(w.l3 + 12, &r.addr_be, 4);
        break;
    case op::ipv4_dst:
        put(w.l3 + 16, &r.addr_be, 4);
        break;
    case op::tp_src:
        put(w.l4, &r.port_be, 2);
        break;
    case op::tp_dst:
        put(w.l4 + 2, &r.port_be, 2);
        break;
    case op::dec_ttl:
        f[w.l3 + (w.ipv4 ? 8 : 7)]--;
        break;
    case op::count_:
        break;
    }
    recompute(f, w, p.key.f.nw_proto);
    return f;
}

// The only bytes a rewrite may change.
std::set<size_t> allowed_changes(const parsed& p, const rewrite& r) {
    const header_offsets& w = p.where;
    std::set<size_t> s;
    auto add = [&](size_t at, size_t n) {
        for (size_t i = 0; i < n; i++) {
            s.insert(at + i);
        }
    };
    const size_t l4c = l4_csum_at(p.key.f.nw_proto);
    const bool l4_csum =
        w.l4 != 0 && (p.key.f.nw_proto == proto_tcp || p.key.f.nw_proto == proto_udp);
    switch (r.kind) {
    case op::eth_src:
        add(6, 6);
        break;
    case op::eth_dst:
        add(0, 6);
        break;
    case op::ipv4_src:
    case op::ipv4_dst:
        add(w.l3 + 10, 2);
        add(w.l3 + (r.kind == op::ipv4_src ? 12 : 16), 4);
        if (l4_csum) {
            add(w.l4 + l4c, 2);
        }
        break;
    case op::tp_src:
    case op::tp_dst:
        add(w.l4 + (r.kind == op::tp_src ? 0 : 2), 2);
        add(w.l4 + l4c, 2);
        break;
    case op::dec_ttl:
        if (w.ipv4) {
            add(w.l3 + 8, 1);
            add(w.l3 + 10, 2);
        } else {
            add(w.l3 + 7, 1);
        }
        break;
    case op::count_:
        break;
    }
    return s;
}

// Applies r to f and key (the key as the datapath carries it from earlier rewrites) and checks
// everything: the result against the rules, an unchanged frame and key on refusal, otherwise the
// frame byte for byte against the model (field written, checksums recomputed from scratch), the
// changed bytes against the allowed set, the checksums by verification, and the key against
// extract_key of the rewritten frame.
ttl_result check(bytes& f, flow_key& key, const rewrite& r) {
    SCOPED_TRACE(std::string("rewrite ") + op_name(r.kind) + " on\n" + hex(f));
    const parsed p = parse(f);
    EXPECT_EQ(key, p.key) << "the key carried in does not describe the frame";
    const bytes before = f;
    const flow_key key_before = key;

    const ttl_result got = run(f, key, p.where, r);
    const ttl_result want = model_result(before, p, r);
    EXPECT_EQ(got, want);
    if (got != ttl_result::ok) {
        EXPECT_EQ(f, before) << diff(before, f);
        EXPECT_EQ(key, key_before);
        return got;
    }

    const bytes want_f = model_frame(before, p, r);
    EXPECT_EQ(f, want_f) << "expected -> got:\n" << diff(want_f, f);
    const std::set<size_t> allowed = allowed_changes(p, r);
    for (size_t i = 0; i < f.size(); i++) {
        if (f[i] != before[i]) {
            EXPECT_TRUE(allowed.count(i)) << "byte " << i << " changed";
        }
    }
    EXPECT_TRUE(checksums_ok(f, p.where, p.key.f.nw_proto));

    const parsed q = parse(f);
    EXPECT_EQ(q.why, p.why);
    EXPECT_EQ(key, q.key);
    EXPECT_EQ(q.where.l3, p.where.l3);
    EXPECT_EQ(q.where.l4, p.where.l4);
    EXPECT_EQ(q.where.l3_end, p.where.l3_end);
    return got;
}

ttl_result check(bytes& f, const rewrite& r) {
    flow_key key = parse(f).key;
    return check(f, key, r);
}

constexpr std::array<uint8_t, 6> mac_a = {0x0a, 0x1b, 0x2c, 0x3d, 0x4e, 0x5f};

// Every rewrite with values that differ from the frame's.
std::vector<rewrite> all_rewrites() {
    return {set_mac(op::eth_src, mac_a),
            set_mac(op::eth_dst, mac_a),
            set_addr(op::ipv4_src, "192.0.2.77"),
            set_addr(op::ipv4_dst, "198.51.100.200"),
            set_port(op::tp_src, 40000),
            set_port(op::tp_dst, 8443),
            dec_ttl()};
}

bytes udp4_no_csum(ipv4_opts o = {}) {
    bytes f = ipv4_frame(udp(5353, 53, 13), o);
    const size_t l4 = 14 + 20 + o.options;
    put16(f, l4 + 6, 0);
    return f;
}

// Runs every rewrite on a copy of f; each must give the listed result.
void check_all(const bytes& f, std::initializer_list<ttl_result> want) {
    const std::vector<rewrite> rs = all_rewrites();
    ASSERT_EQ(want.size(), rs.size());
    auto it = want.begin();
    for (const rewrite& r : rs) {
        bytes g = f;
        EXPECT_EQ(check(g, r), *it++) << op_name(r.kind);
    }
}

constexpr ttl_result ok = ttl_result::ok;
constexpr ttl_result no = ttl_result::not_ip;
constexpr ttl_result expired = ttl_result::expired;

// ---- csum_replace16/32 -------------------------------------------------------------------------

TEST(Checksum, Rfc1624Example) {
    // RFC 1624 section 4: HC = 0xdd2f, m = 0x5555 -> m' = 0x3285. Eqn. 2 gives 0xffff; a full
    // recomputation and eqn. 3 give 0x0000.
    uint8_t c[2] = {0xdd, 0x2f};
    csum_replace16(c, be16(0x5555), be16(0x3285));
    EXPECT_EQ(c[0], 0x00);
    EXPECT_EQ(c[1], 0x00);
}

TEST(Checksum, Unaligned) {
    alignas(4) uint8_t buf[8] = {0, 0x12, 0x34, 0, 0, 0, 0, 0};
    // data {0x1234} and checksum 0xedcb; replace 0x1234 with 0x0001.
    uint8_t* c = buf + 1;
    c[0] = 0xed;
    c[1] = 0xcb;
    csum_replace16(c, be16(0x1234), be16(0x0001));
    EXPECT_EQ(get16(bytes(c, c + 2), 0), 0xfffe);
    c = buf + 3;
    c[0] = 0xed;
    c[1] = 0xcb;
    csum_replace32(c, be32(0x00001234), be32(0x00010000));
    EXPECT_EQ(get16(bytes(c, c + 2), 0), 0xfffe);
}

TEST(Checksum, ZeroRepresentations) {
    // Data whose sum is 0xffff (ones'-complement -0) has the checksum 0x0000.
    uint8_t c[2] = {0x00, 0x00}; // data {0xff00, 0x00ff}
    csum_replace16(c, be16(0x00ff), be16(0x00fe));
    EXPECT_EQ(get16(bytes(c, c + 2), 0), 0x0001); // ~(0xff00 + 0x00fe)
    // ...and back: the sum is 0xffff again, and eqn. 3 gives 0x0000 as a recomputation does.
    csum_replace16(c, be16(0x00fe), be16(0x00ff));
    EXPECT_EQ(get16(bytes(c, c + 2), 0), 0x0000);
    // A no-op update keeps any checksum but 0xffff.
    for (uint32_t hc : {0x0000u, 0x0001u, 0x8000u, 0xfffeu}) {
        uint8_t d[2] = {static_cast<uint8_t>(hc >> 8), static_cast<uint8_t>(hc)};
        csum_replace16(d, be16(0x1234), be16(0x1234));
        EXPECT_EQ(get16(bytes(d, d + 2), 0), hc);
        csum_replace32(d, 0xdeadbeef, 0xdeadbeef);
        EXPECT_EQ(get16(bytes(d, d + 2), 0), hc);
    }
    // 0xffff is the checksum of all-zero data only (a recomputation never gives it otherwise);
    // setting a field of that data to m' gives ~m', as a recomputation does.
    uint8_t z[2] = {0xff, 0xff};
    csum_replace16(z, 0, be16(0x0102));
    EXPECT_EQ(get16(bytes(z, z + 2), 0), 0xfefd);
    // Making data all zero gives 0x0000 where a recomputation gives 0xffff: both are zero in
    // ones'-complement, but no incremental update can tell that the rest of the data is zero.
    // IP, TCP and UDP data never is (version, protocol), so rewrites never meet this case.
    uint8_t y[2] = {0xfe, 0xfd}; // data {0x0102}
    csum_replace16(y, be16(0x0102), 0);
    EXPECT_EQ(get16(bytes(y, y + 2), 0), 0x0000);
}

// A random checksummed buffer: `words` 16-bit words, the checksum at word `at`.
struct csum_buffer {
    bytes data;
    size_t at;

    uint16_t full() const {
        bytes d = data;
        d[2 * at] = d[2 * at + 1] = 0;
        return fold(sum16(d.data(), d.size()));
    }
    bool rest_zero() const {
        for (size_t i = 0; i < data.size(); i++) {
            if (i / 2 != at && data[i] != 0) {
                return false;
            }
        }
        return true;
    }
    uint16_t stored() const { return get16(data, 2 * at); }
};

uint16_t random_word(std::mt19937_64& rng, int mode) {
    static constexpr uint16_t edges[] = {0x0000, 0x0001, 0x00ff, 0xff00, 0xfffe, 0xffff};
    switch (mode) {
    case 0:
        return static_cast<uint16_t>(rng());
    case 1: // sparse: mostly zero, so that sums of 0 and 0xffff occur
        return rng() % 8 ? 0 : static_cast<uint16_t>(rng());
    default:
        return edges[rng() % 6];
    }
}

bool ones_equal(uint16_t a, uint16_t b) {
    return a == b || (a == 0 && b == 0xffff) || (a == 0xffff && b == 0);
}

// Checks one update against a recomputation; `canonical` when the checksum before the update was
// the recomputed one (not the other representation of zero).
void check_update(const csum_buffer& before, const csum_buffer& after, uint16_t got,
                  bool canonical) {
    const uint16_t full = after.full();
    SCOPED_TRACE(hex(after.data));
    EXPECT_TRUE(ones_equal(got, full)) << std::hex << got << " vs " << full;
    if (!after.rest_zero()) {
        // Data that is not all zero: the checksum verifies, and it is the recomputed one.
        bytes d = after.data;
        put16(d, 2 * after.at, got);
        EXPECT_EQ(fold(sum16(d.data(), d.size())), 0);
        if (canonical) {
            EXPECT_EQ(got, full) << std::hex << "before " << before.stored();
        }
    }
}

void random_csum_test(size_t field_words) {
    std::mt19937_64 rng(field_words * 7919);
    for (int iter = 0; iter < 200000; iter++) {
        const int mode = static_cast<int>(rng() % 3);
        const size_t n = 2 * field_words + rng() % 24; // room for the field beside the checksum
        csum_buffer b{bytes(2 * n), rng() % n};
        for (size_t i = 0; i < n; i++) {
            put16(b.data, 2 * i, i == b.at ? 0 : random_word(rng, mode));
        }
        bool canonical = true;
        put16(b.data, 2 * b.at, b.full());
        if (b.stored() == 0 && rng() % 2) {
            put16(b.data, 2 * b.at, 0xffff); // the other zero, as UDP stores it
            canonical = false;
        }
        // The field: field_words words, none of them the checksum.
        size_t f;
        do {
            f = rng() % (n - field_words + 1);
        } while (b.at >= f && b.at < f + field_words);
        csum_buffer a = b;
        for (size_t i = 0; i < field_words; i++) {
            const int m = static_cast<int>(rng() % 4);
            const uint16_t v = m == 3 ? get16(b.data, 2 * (f + i)) : random_word(rng, m);
            put16(a.data, 2 * (f + i), v);
        }
        uint8_t c[2] = {b.data[2 * b.at], b.data[2 * b.at + 1]};
        if (field_words == 1) {
            uint16_t o, v;
            std::memcpy(&o, b.data.data() + 2 * f, 2);
            std::memcpy(&v, a.data.data() + 2 * f, 2);
            csum_replace16(c, o, v);
        } else {
            uint32_t o, v;
            std::memcpy(&o, b.data.data() + 2 * f, 4);
            std::memcpy(&v, a.data.data() + 2 * f, 4);
            csum_replace32(c, o, v);
        }
        check_update(b, a, static_cast<uint16_t>(c[0] << 8 | c[1]), canonical);
        if (::testing::Test::HasFailure()) {
            return;
        }
    }
}

TEST(Checksum, Replace16MatchesRecomputation) {
    random_csum_test(1);
}

TEST(Checksum, Replace32MatchesRecomputation) {
    random_csum_test(2);
}

// ---- each rewrite on each kind of frame --------------------------------------------------------

TEST(Rewrite, Ipv4Tcp) {
    bytes f = ipv4_frame(tcp(1234, 80, 0x018, 33), {.src = "10.1.2.3", .dst = "10.9.8.7"});
    check_all(f, {ok, ok, ok, ok, ok, ok, ok});
    bytes g = f;
    flow_key key = parse(g).key;
    ASSERT_EQ(check(g, key, set_addr(op::ipv4_src, "172.16.5.4")), ok);
    EXPECT_EQ(key.f.nw_src[0], ip4("172.16.5.4"));
    EXPECT_EQ(std::vector<uint8_t>(g.begin() + 26, g.begin() + 30),
              (std::vector<uint8_t>{172, 16, 5, 4}));
    ASSERT_EQ(check(g, key, set_port(op::tp_dst, 8080)), ok);
    EXPECT_EQ(key.f.tp_dst, be16(8080));
    EXPECT_EQ(get16(g, 36), 8080);
    ASSERT_EQ(check(g, key, dec_ttl()), ok);
    EXPECT_EQ(key.f.nw_ttl, 63);
    EXPECT_EQ(g[22], 63);
}

TEST(Rewrite, Ipv4Udp) {
    check_all(ipv4_frame(udp(5353, 53, 21)), {ok, ok, ok, ok, ok, ok, ok});
    bytes f = ipv4_frame(udp(5353, 53, 21));
    ASSERT_NE(get16(f, 40), 0);
    ASSERT_EQ(check(f, set_port(op::tp_src, 1)), ok);
    EXPECT_NE(get16(f, 40), 0);
}

TEST(Rewrite, Ipv4UdpWithoutChecksumKeepsNone) {
    bytes f = udp4_no_csum();
    check_all(f, {ok, ok, ok, ok, ok, ok, ok});
    flow_key key = parse(f).key;
    ASSERT_EQ(check(f, key, set_addr(op::ipv4_dst, "203.0.113.9")), ok);
    ASSERT_EQ(check(f, key, set_port(op::tp_src, 7)), ok);
    ASSERT_EQ(check(f, key, set_port(op::tp_dst, 0xffff)), ok);
    EXPECT_EQ(get16(f, 40), 0);
    EXPECT_TRUE(ipv4_checksums_ok(f));
}

TEST(Rewrite, Ipv6UdpWithoutChecksumKeepsNone) {
    // Zero-checksum UDP over IPv6 (tunnels, RFC 6935): an update from 0 would make a wrong
    // checksum, so 0 stays 0, as in Open vSwitch.
    bytes f = ipv6_frame(udp(1000, 53, 30));
    put16(f, 14 + 40 + 6, 0);
    flow_key key = parse(f).key;
    ASSERT_EQ(check(f, key, set_port(op::tp_src, 1)), ok);
    ASSERT_EQ(check(f, key, set_port(op::tp_dst, 0xffff)), ok);
    EXPECT_EQ(get16(f, 14 + 40 + 6), 0);
    EXPECT_EQ(get16(f, 14 + 40), 1);
}

TEST(Rewrite, Ipv4IcmpHasNoPseudoHeader) {
    bytes f = ipv4_frame(icmp(8, 0));
    check_all(f, {ok, ok, ok, ok, no, no, ok});
    const uint16_t icmp_csum = get16(f, 36);
    ASSERT_EQ(check(f, set_addr(op::ipv4_src, "1.2.3.4")), ok);
    EXPECT_EQ(get16(f, 36), icmp_csum);
}

TEST(Rewrite, Ipv4OptionsAndVlan) {
    bytes f = ipv4_frame(tcp(33000, 443, 0x010, 100, 8), {.ttl = 2, .options = 24}, {0x2064});
    const parsed p = parse(f);
    ASSERT_EQ(p.where.l3, 18u);
    ASSERT_EQ(p.where.l4, 18u + 44u);
    check_all(f, {ok, ok, ok, ok, ok, ok, ok});
    check_all(ipv4_frame(udp(1, 2, 3), {.options = 40}, {0xe00f}), {ok, ok, ok, ok, ok, ok, ok});
    check_all(pad(udp4_no_csum({.options = 4}), 9), {ok, ok, ok, ok, ok, ok, ok});
    // TTL 2 -> 1 -> expired.
    flow_key key = p.key;
    ASSERT_EQ(check(f, key, dec_ttl()), ok);
    EXPECT_EQ(f[18 + 8], 1);
    EXPECT_EQ(check(f, key, dec_ttl()), expired);
}

TEST(Rewrite, EthernetPaddingIsNotPayload) {
    // Padding after the IP payload is neither summed nor changed.
    for (bytes f : {pad(ipv4_frame(udp(1, 2, 0)), 18, 0xee), pad(ipv4_frame(tcp(1, 2)), 6, 0x11),
                    pad(ipv6_frame(udp(1, 2, 0)), 10, 0x77)}) {
        ASSERT_GT(f.size(), parse(f).where.l3_end);
        const bytes tail(f.begin() + parse(f).where.l3_end, f.end());
        flow_key key = parse(f).key;
        for (const rewrite& r : all_rewrites()) {
            check(f, key, r);
        }
        EXPECT_EQ(bytes(f.begin() + parse(f).where.l3_end, f.end()), tail);
    }
}

TEST(Rewrite, Ipv4FirstFragment) {
    bytes f = ipv4_frame(udp(7, 9, 40), {.frag = 0x2000});
    ASSERT_EQ(parse(f).key.f.nw_frag, SWD_FRAG_ANY);
    ASSERT_NE(parse(f).where.l4, 0u);
    check_all(f, {ok, ok, ok, ok, ok, ok, ok});
    check_all(ipv4_frame(tcp(7, 9, 0x002, 64), {.frag = 0x6000}), {ok, ok, ok, ok, ok, ok, ok});
}

TEST(Rewrite, Ipv4LaterFragment) {
    // No L4 header: addresses and TTL change with the IP checksum only; ports are refused.
    for (uint8_t proto : {proto_tcp, proto_udp, proto_icmp}) {
        l4 seg = proto == proto_tcp ? tcp(7, 9) : proto == proto_udp ? udp(7, 9) : icmp(8, 0);
        bytes f = ipv4_frame(seg, {.frag = static_cast<uint16_t>(0x2000 | 185)});
        const parsed p = parse(f);
        ASSERT_EQ(p.key.f.nw_frag, SWD_FRAG_ANY | SWD_FRAG_LATER);
        ASSERT_EQ(p.where.l4, 0u);
        check_all(f, {ok, ok, ok, ok, no, no, ok});
        const bytes payload(f.begin() + 34, f.end());
        flow_key key = p.key;
        ASSERT_EQ(check(f, key, set_addr(op::ipv4_src, "9.9.9.9")), ok);
        ASSERT_EQ(check(f, key, set_addr(op::ipv4_dst, "8.8.8.8")), ok);
        EXPECT_EQ(bytes(f.begin() + 34, f.end()), payload);
    }
}

TEST(Rewrite, Ipv6TcpUdp) {
    check_all(ipv6_frame(tcp(1000, 22, 0x012, 17)), {ok, ok, no, no, ok, ok, ok});
    check_all(ipv6_frame(udp(1000, 53, 30)), {ok, ok, no, no, ok, ok, ok});
    check_all(add_vlan(ipv6_frame(udp(1000, 53, 30), {hop_by_hop(2)}), 0x0123),
              {ok, ok, no, no, ok, ok, ok});
    check_all(ipv6_frame(tcp(1000, 22), {fragment(0, true)}), {ok, ok, no, no, ok, ok, ok});
    bytes f = ipv6_frame(udp(1000, 53, 30), {}, 0, 255);
    flow_key key = parse(f).key;
    ASSERT_EQ(check(f, key, set_port(op::tp_src, 2000)), ok);
    ASSERT_EQ(check(f, key, dec_ttl()), ok);
    EXPECT_EQ(key.f.nw_ttl, 254);
    EXPECT_EQ(get16(f, 54), 2000);
}

// IPv6 addresses (the load balancer's rewrites): against the address written and every checksum
// recomputed from scratch; the key must describe the new frame.
TEST(Rewrite, Ipv6Addresses) {
    bytes udp_none = ipv6_frame(udp(1000, 53, 30));
    put16(udp_none, 14 + 40 + 6, 0);
    const std::vector<bytes> frames = {
        ipv6_frame(tcp(1000, 22, 0x012, 17)),
        ipv6_frame(udp(1000, 53, 31)),
        udp_none,
        ipv6_frame(icmp(128, 0, true)),
        ipv6_frame(udp(1, 2), {fragment(100, false)}),
        add_vlan(ipv6_frame(tcp(1, 2, 0x010, 5), {hop_by_hop(2)}), 0x0123),
    };
    uint32_t addr[4];
    inet_pton(AF_INET6, "2001:db8:ffff::1:2", addr);
    for (size_t i = 0; i < frames.size(); i++) {
        for (bool dst : {false, true}) {
            SCOPED_TRACE("frame " + std::to_string(i) + (dst ? ", dst" : ", src"));
            const parsed p = parse(frames[i]);
            bytes got = frames[i];
            flow_key key = p.key;
            ASSERT_TRUE(dst ? rewrite_ipv6_dst(got.data(), p.where, addr, key)
                            : rewrite_ipv6_src(got.data(), p.where, addr, key));
            bytes want = frames[i];
            std::memcpy(want.data() + p.where.l3 + (dst ? 24 : 8), addr, 16);
            recompute(want, p.where, p.key.f.nw_proto);
            EXPECT_EQ(got, want) << diff(want, got);
            EXPECT_TRUE(checksums_ok(got, p.where, p.key.f.nw_proto));
            EXPECT_EQ(key, parse(got).key);
        }
    }
    bytes v4 = ipv4_frame(udp(1, 2));
    const parsed p = parse(v4);
    flow_key key = p.key;
    EXPECT_FALSE(rewrite_ipv6_src(v4.data(), p.where, addr, key));
    EXPECT_EQ(v4, ipv4_frame(udp(1, 2)));
}

TEST(Rewrite, Ipv6NoPorts) {
    check_all(ipv6_frame(icmp(128, 0, true)), {ok, ok, no, no, no, no, ok});
    check_all(ipv6_frame(udp(1, 2), {fragment(100, false)}), {ok, ok, no, no, no, no, ok});
    check_all(ipv6_frame(tcp(1, 2), {fragment(1, true)}), {ok, ok, no, no, no, no, ok});
    check_all(ipv6_frame(l4{59, {}, SIZE_MAX}), {ok, ok, no, no, no, no, ok});
}

TEST(Rewrite, NotIp) {
    check_all(arp_frame(1, "10.0.0.1", "10.0.0.2"), {ok, ok, no, no, no, no, no});
    bytes lldp = eth(0x88cc);
    lldp.resize(60, 0x42);
    check_all(lldp, {ok, ok, no, no, no, no, no});
    check_all(ipv4_frame(l4{47, bytes(24, 0x33), SIZE_MAX}), {ok, ok, ok, ok, no, no, ok});
    // Truncated or inconsistent headers give offsets that stop before them.
    // A TCP header cut short: no L4 offset, so no port rewrite and no TCP checksum update.
    bytes trunc = ipv4_frame(tcp(1, 2));
    trunc.resize(14 + 20 + 10);
    put16(trunc, 16, 30);
    put16(trunc, 24, 0);
    put16(trunc, 24, fold(sum16(trunc.data() + 14, 20)));
    ASSERT_EQ(parse(trunc).why, malformed::l4);
    check_all(trunc, {ok, ok, ok, ok, no, no, ok});
    bytes bad_ip = ipv4_frame(udp(1, 2));
    bad_ip[14] = 0x45 ^ 0x10; // version 5
    check_all(bad_ip, {ok, ok, no, no, no, no, no});
}

TEST(Rewrite, EthernetNeedsFullHeader) {
    for (size_t n : {0, 1, 6, 12, 13}) {
        bytes f(n, 0xcc);
        check_all(f, {no, no, no, no, no, no, no});
    }
    bytes f = eth(0x0800); // 14 bytes, then a missing IPv4 header
    ASSERT_EQ(parse(f).why, malformed::ipv4_header);
    flow_key key = parse(f).key;
    ASSERT_EQ(check(f, key, set_mac(op::eth_dst, mac_a)), ok);
    EXPECT_EQ(bytes(f.begin(), f.begin() + 6), bytes(mac_a.begin(), mac_a.end()));
    EXPECT_EQ(std::memcmp(key.f.eth_dst, mac_a.data(), 6), 0);
}

TEST(Rewrite, DecTtlAllValues) {
    for (int ttl = 0; ttl < 256; ttl++) {
        SCOPED_TRACE(ttl);
        const auto t = static_cast<uint8_t>(ttl);
        const ttl_result want = ttl <= 1 ? expired : ok;
        bytes f4 = ipv4_frame(udp(1, 2), {.tos = static_cast<uint8_t>(ttl * 7), .ttl = t});
        EXPECT_EQ(check(f4, dec_ttl()), want);
        bytes f6 = ipv6_frame(tcp(1, 2), {}, 0, t);
        EXPECT_EQ(check(f6, dec_ttl()), want);
        if (ttl > 1) {
            EXPECT_EQ(f4[22], ttl - 1);
            EXPECT_EQ(f6[21], ttl - 1);
        }
    }
}

// ---- edge cases found by search: checksums that become 0x0000 or 0xffff ------------------------

// The first value in [0, 65536) for which pred holds on the frame with that value set by set.
std::optional<uint16_t> search(const bytes& f, const std::function<void(bytes&, uint16_t)>& set,
                               const std::function<bool(const bytes&)>& pred) {
    for (uint32_t v = 0; v < 0x10000; v++) {
        bytes g = f;
        set(g, static_cast<uint16_t>(v));
        if (pred(g)) {
            return static_cast<uint16_t>(v);
        }
    }
    return std::nullopt;
}

auto at16(size_t at) {
    return [at](bytes& g, uint16_t v) { put16(g, at, v); };
}

auto l4_full_is(uint16_t want) {
    return [want](const bytes& g) {
        const parsed p = parse(g);
        return full_l4_csum(g, p.where, p.key.f.nw_proto) == want;
    };
}

TEST(RewriteEdges, UdpChecksumThatBecomesZeroIsSentAsFfff) {
    // IPv4 port, IPv4 address (low half), IPv6 port.
    struct edge {
        bytes frame;
        size_t field;
        rewrite (*make)(uint16_t);
        size_t csum;
    };
    const edge edges[] = {
        {ipv4_frame(udp(1000, 2000, 12)), 34,
         [](uint16_t v) {
             return rewrite{op::tp_src, {}, 0, be16(v)};
         },
         40},
        {ipv4_frame(udp(1000, 2000, 12), {.options = 8}, {5}), 18 + 16 + 2,
         [](uint16_t v) {
             return rewrite{op::ipv4_dst, {}, be32(0x0a000000u | v)};
         },
         18 + 28 + 6},
        {ipv6_frame(udp(1000, 2000, 12)), 54 + 2,
         [](uint16_t v) {
             return rewrite{op::tp_dst, {}, 0, be16(v)};
         },
         54 + 6},
    };
    for (const edge& e : edges) {
        bytes f = e.frame; // the IPv4 destination is 10.0.0.2: 10.0.x.x covers its low half
        auto v = search(f, at16(e.field), l4_full_is(0));
        ASSERT_TRUE(v.has_value());
        ASSERT_EQ(check(f, e.make(*v)), ok);
        EXPECT_EQ(get16(f, e.csum), 0xffff) << hex(f);
        // And from 0xffff to something else, and a no-op that keeps 0xffff.
        bytes g = f;
        ASSERT_EQ(check(g, e.make(static_cast<uint16_t>(*v + 1))), ok);
        EXPECT_NE(get16(g, e.csum), 0xffff);
        ASSERT_EQ(check(f, e.make(*v)), ok);
        EXPECT_EQ(get16(f, e.csum), 0xffff);
    }
}

TEST(RewriteEdges, TcpAndIpv4ChecksumsThatBecomeZero) {
    // A recomputation gives 0x0000 (never 0xffff) for TCP and the IPv4 header; so must eqn. 3.
    bytes f = ipv4_frame(tcp(1000, 2000, 0x010, 5));
    auto v = search(f, at16(36), l4_full_is(0));
    ASSERT_TRUE(v.has_value());
    ASSERT_EQ(check(f, set_port(op::tp_dst, *v)), ok);
    EXPECT_EQ(get16(f, 50), 0x0000);
    ASSERT_EQ(check(f, set_port(op::tp_dst, *v)), ok); // no-op keeps 0x0000
    EXPECT_EQ(get16(f, 50), 0x0000);

    bytes h = ipv4_frame(udp(1, 2), {.dst = "10.0.0.0"});
    auto w =
        search(h, at16(32), [](const bytes& g) { return full_ipv4_csum(g, parse(g).where) == 0; });
    ASSERT_TRUE(w.has_value());
    ASSERT_EQ(check(h, rewrite{op::ipv4_dst, {}, be32(0x0a000000u | *w)}), ok);
    EXPECT_EQ(get16(h, 24), 0x0000);
    ASSERT_EQ(check(h, dec_ttl()), ok);
    EXPECT_NE(get16(h, 24), 0x0000);

    // A UDP checksum that starts at 0xffff (computed 0): every rewrite from there.
    bytes u = ipv4_frame(udp(1, 2, 10));
    auto s = search(u, at16(34), [](const bytes& g) {
        bytes r = g;
        recompute(r, parse(r).where, proto_udp);
        return get16(r, 40) == 0xffff;
    });
    ASSERT_TRUE(s.has_value());
    put16(u, 34, *s);
    recompute(u, parse(u).where, proto_udp);
    ASSERT_EQ(get16(u, 40), 0xffff);
    check_all(u, {ok, ok, ok, ok, ok, ok, ok});
}

// ---- random frames, random rewrites ------------------------------------------------------------

// Random frames (random_frames.h) and random rewrites for them.
struct frame_gen : random_frames {
    rewrite next(const flow_key& key) {
        rewrite r{static_cast<op>(pick(static_cast<uint64_t>(op::count_)))};
        for (auto& b : r.mac) {
            b = byte();
        }
        r.addr_be = static_cast<uint32_t>(rng());
        if (pick(5) == 0) {
            r.addr_be = r.kind == op::ipv4_src ? key.f.nw_src[0] : key.f.nw_dst[0]; // no-op
        }
        switch (pick(8)) {
        case 0:
            r.port_be = r.kind == op::tp_src ? key.f.tp_src : key.f.tp_dst; // no-op
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
        return r;
    }
};

TEST(RewriteRandom, FramesAndRewritesAgainstRecomputation) {
    frame_gen gen{{std::mt19937_64(20240601)}};
    size_t applied[static_cast<int>(op::count_)] = {};
    size_t refused = 0, expired_n = 0, l4_updates = 0;
    for (int iter = 0; iter < 20000; iter++) {
        bytes f = gen.frame();
        SCOPED_TRACE("frame " + std::to_string(iter));
        const parsed p = parse(f);
        ASSERT_TRUE(p.where.l4 == 0 || checksums_ok(f, p.where, p.key.f.nw_proto)) << hex(f);
        flow_key key = p.key;
        const size_t n = 1 + gen.pick(5);
        for (size_t i = 0; i < n; i++) {
            const rewrite r = gen.next(key);
            switch (check(f, key, r)) {
            case ttl_result::ok:
                applied[static_cast<int>(r.kind)]++;
                if (p.where.l4 != 0 && r.kind >= op::ipv4_src && r.kind <= op::tp_dst &&
                    (p.key.f.nw_proto == proto_tcp || p.key.f.nw_proto == proto_udp)) {
                    l4_updates++;
                }
                break;
            case ttl_result::expired:
                expired_n++;
                break;
            case ttl_result::not_ip:
                refused++;
                break;
            }
            if (HasFailure()) {
                return;
            }
        }
    }
    // The generator reaches every case.
    for (int o = 0; o < static_cast<int>(op::count_); o++) {
        EXPECT_GT(applied[o], 1000u) << op_name(static_cast<op>(o));
    }
    EXPECT_GT(refused, 1000u);
    EXPECT_GT(expired_n, 100u);
    EXPECT_GT(l4_updates, 5000u);
}

} // namespace
} // namespace swd::dp
