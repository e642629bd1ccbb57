// pcap_check: prints one line per IPv4 frame of a capture, with its checksums verified by full
// recomputation, for lab tests to assert on (tests/lab/rewrite_test.sh).
//
//   pcap_check FILE
//
// Output, one line a frame (fields separated by spaces):
//   N ipv4 SRC DST PROTO SPORT DPORT TTL ip=ok|bad l4=ok|partial|bad|none|fragment|short
//   N other ETHERTYPE
// where N counts from 1; SPORT/DPORT are 0 for protocols without ports, `l4=none` is a UDP
// datagram without a checksum, `fragment` a non-first or partial fragment, `short` a segment cut
// by the capture, `partial` a checksum left to the device (CHECKSUM_PARTIAL: the field holds the
// pseudo-header sum of this frame's addresses and length, as a veth passes it on). Exit status 0
// when the file was read, 1 otherwise.
#include <arpa/inet.h>
#include <cstdint>
#include <cstdio>
#include <pcap/pcap.h>

namespace {

uint32_t sum16(const uint8_t* p, size_t n, uint32_t acc = 0) {
    for (size_t i = 0; i + 1 < n; i += 2) {
        acc += static_cast<uint32_t>(p[i] << 8 | p[i + 1]);
    }
    if (n & 1) {
        acc += static_cast<uint32_t>(p[n - 1] << 8);
    }
    return acc;
}

bool folds_to_ones(uint32_t acc) {
    while (acc >> 16) {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    return acc == 0xffff;
}

uint16_t be16(const uint8_t* p) {
    return static_cast<uint16_t>(p[0] << 8 | p[1]);
}

const char* l4_verdict(const uint8_t* ip, size_t ihl, size_t total, size_t have) {
    const uint8_t proto = ip[9];
    const uint16_t frag = be16(ip + 6);
    if ((frag & 0x3fff) != 0) {
        return "fragment";
    }
    if (proto != 6 && proto != 17) {
        return "none";
    }
    const size_t l4_len = total - ihl;
    if (have < total || l4_len < (proto == 6 ? 20u : 8u)) {
        return "short";
    }
    const uint8_t* l4 = ip + ihl;
    if (proto == 17 && be16(l4 + 6) == 0) {
        return "none";
    }
    uint32_t acc = sum16(ip + 12, 8); // source and destination addresses
    acc += proto;
    acc += static_cast<uint32_t>(l4_len);
    const uint32_t pseudo = acc;
    acc = sum16(l4, l4_len, acc);
    if (folds_to_ones(acc)) {
        return "ok";
    }
    // CHECKSUM_PARTIAL, as a veth hands it on when the sender's stack left the checksum to the
    // device: the field holds the folded pseudo-header sum, not complemented, and the rest is
    // computed later from the L4 bytes. Right when it is the sum of these addresses and length.
    uint32_t p = pseudo;
    while (p >> 16) {
        p = (p & 0xffff) + (p >> 16);
    }
    return be16(l4 + (proto == 6 ? 16 : 6)) == p ? "partial" : "bad";
}

void print_frame(unsigned n, const uint8_t* f, size_t len) {
    size_t off = 12;
    if (len < off + 2) {
        std::printf("%u other short\n", n);
        return;
    }
    uint16_t type = be16(f + off);
    while ((type == 0x8100 || type == 0x88a8) && len >= off + 6) {
        off += 4;
        type = be16(f + off);
    }
    off += 2;
    if (type != 0x0800 || len < off + 20) {
        std::printf("%u other 0x%04x\n", n, type);
        return;
    }
    const uint8_t* ip = f + off;
    const size_t ihl = (ip[0] & 0x0f) * 4u;
    const size_t total = be16(ip + 2);
    const size_t have = len - off;
    if (ihl < 20 || ihl > have || total < ihl) {
        std::printf("%u ipv4 malformed\n", n);
        return;
    }
    char src[INET_ADDRSTRLEN], dst[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, ip + 12, src, sizeof src);
    inet_ntop(AF_INET, ip + 16, dst, sizeof dst);
    const uint8_t proto = ip[9];
    uint16_t sport = 0, dport = 0;
    if ((proto == 6 || proto == 17) && have >= ihl + 4 && (be16(ip + 6) & 0x1fff) == 0) {
        sport = be16(ip + ihl);
        dport = be16(ip + ihl + 2);
    }
    std::printf("%u ipv4 %s %s %u %u %u %u ip=%s l4=%s\n", n, src, dst, proto, sport, dport, ip[8],
                folds_to_ones(sum16(ip, ihl)) ? "ok" : "bad", l4_verdict(ip, ihl, total, have));
}

} // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: pcap_check FILE\n");
        return 2;
    }
    char err[PCAP_ERRBUF_SIZE];
    pcap_t* in = pcap_open_offline(argv[1], err);
    if (!in) {
        std::fprintf(stderr, "pcap_check: %s\n", err);
        return 1;
    }
    if (pcap_datalink(in) != DLT_EN10MB) {
        std::fprintf(stderr, "pcap_check: %s: not an Ethernet capture\n", argv[1]);
        pcap_close(in);
        return 1;
    }
    pcap_pkthdr* h;
    const u_char* data;
    unsigned n = 0;
    int rc;
    while ((rc = pcap_next_ex(in, &h, &data)) == 1) {
        print_frame(++n, data, h->caplen);
    }
    if (rc == PCAP_ERROR) {
        std::fprintf(stderr, "pcap_check: %s\n", pcap_geterr(in));
    }
    pcap_close(in);
    return rc == PCAP_ERROR ? 1 : 0;
}
