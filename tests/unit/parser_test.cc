// The flow parser: modes, keywords, declarations, and exact diagnostics. (The field-by-field
// corpus with expected normal forms is corpus_test.cc.)
#include <arpa/inet.h>
#include <gtest/gtest.h>

#include "flows/format.h"
#include "flows/parser.h"

namespace swd::flows {
namespace {

parse_context ports_ctx() {
    parse_context c;
    c.ports = {{"eth0", 1}, {"eth1", 2}};
    return c;
}

parse_output parse(const std::string& text, parse_mode mode = parse_mode::config,
                   parse_context ctx = ports_ctx()) {
    return parse_flows(text, "flows.txt", mode, ctx);
}

// The first error as the full compiler-style text.
std::string first_error(const std::string& text, parse_mode mode = parse_mode::config,
                        parse_context ctx = ports_ctx()) {
    auto out = parse(text, mode, ctx);
    return out.errors.empty() ? "(no error)" : out.errors[0].format();
}

std::string headline(const std::string& text, parse_mode mode = parse_mode::config,
                     parse_context ctx = ports_ctx()) {
    auto out = parse(text, mode, ctx);
    return out.errors.empty() ? "(no error)" : out.errors[0].headline();
}

std::string normal(const std::string& text, parse_mode mode = parse_mode::config) {
    auto out = parse(text, mode);
    EXPECT_TRUE(out.ok()) << format_all(out.errors);
    std::string s;
    auto ports = ports_ctx().ports;
    format_names names{&ports, &out.pools};
    for (const auto& m : out.mods) {
        s += format_rule(m.spec, names) + "\n";
    }
    return s;
}

TEST(Parser, ErrorShowsLineAndCaret) {
    EXPECT_EQ(first_error("# firewall\n\npriority=300,ip,nw_src=10.0.0.300,actions=drop\n"),
              "flows.txt:3:24: error: invalid nw_src value '10.0.0.300': octet 300 is out of "
              "range 0-255; expected an IPv4 address a.b.c.d[/prefix|/mask]\n"
              "    3 | priority=300,ip,nw_src=10.0.0.300,actions=drop\n"
              "      |                        ^~~~~~~~~~");
}

TEST(Parser, OvsSilentAcceptancesAreErrors) {
    // OVS reads this as 10.0.0.44.
    EXPECT_EQ(headline("ip,nw_src=10.0.0.300,actions=drop"),
              "flows.txt:1:11: error: invalid nw_src value '10.0.0.300': octet 300 is out of "
              "range 0-255; expected an IPv4 address a.b.c.d[/prefix|/mask]");
    // OVS turns this into a drop-everything rule.
    EXPECT_EQ(headline("nw_src=10.0.0.1,actions=drop"),
              "flows.txt:1:1: error: missing prerequisite for 'nw_src=10.0.0.1': nw_src applies "
              "only to IPv4 and ARP packets; expected 'ip' or 'arp' (dl_type=0x0800 or 0x0806) "
              "in the same rule");
    // OVS masks the ECN bits away silently.
    EXPECT_EQ(headline("ip,nw_tos=5,actions=drop"),
              "flows.txt:1:11: error: invalid nw_tos value '5': the two ECN bits are set (match "
              "them with nw_ecn); expected a multiple of 4, 0-252");
    // OVS keeps the last of two values.
    EXPECT_EQ(headline("ip,nw_src=1.1.1.1,nw_src=2.2.2.2,actions=drop"),
              "flows.txt:1:19: error: duplicate field 'nw_src=2.2.2.2': nw_src is already set by "
              "'nw_src=1.1.1.1' at column 4; expected each field at most once");
}

TEST(Parser, RangeErrors) {
    EXPECT_EQ(headline("tcp,tp_dst=70000,actions=drop"),
              "flows.txt:1:12: error: invalid tp_dst value '70000': 70000 is out of range "
              "0-65535; expected a port number 0-65535, optionally /0xmask");
    EXPECT_EQ(headline("priority=70000,actions=drop"),
              "flows.txt:1:10: error: invalid priority value '70000': 70000 is out of range "
              "0-65535; expected a priority 0-65535");
    EXPECT_EQ(headline("ip,nw_dst=10.0.0.0/33,actions=drop"),
              "flows.txt:1:11: error: invalid nw_dst value '10.0.0.0/33': prefix length 33 is "
              "out of range 0-32; expected an IPv4 address a.b.c.d[/prefix|/mask]");
    EXPECT_EQ(headline("ipv6,ipv6_src=::1/129,actions=drop"),
              "flows.txt:1:15: error: invalid ipv6_src value '::1/129': prefix length 129 is out "
              "of range 0-128; expected an IPv6 address[/prefix|/mask]");
    EXPECT_EQ(headline("table=255,actions=drop"),
              "flows.txt:1:7: error: invalid table value '255': 255 is out of range 0-254; "
              "expected a table number 0-254");
}

TEST(Parser, UnknownNamesGetHints) {
    EXPECT_EQ(headline("ip,nw_dts=1.2.3.4,actions=drop"),
              "flows.txt:1:4: error: unknown field 'nw_dts'; expected a match field, a property "
              "such as priority=, or actions= (did you mean 'nw_dst'?)");
    EXPECT_EQ(headline("tcp,actions=dorp"),
              "flows.txt:1:13: error: unknown action 'dorp'; expected one of output:PORT, "
              "in_port, local, drop, set_queue:N, mod_dl_src:MAC, mod_dl_dst:MAC, mod_nw_src:IP, "
              "mod_nw_dst:IP, mod_tp_src:PORT, mod_tp_dst:PORT, dec_ttl, goto_table:N, lb(POOL), "
              "ct(commit) "
              "(did you mean 'drop'?)");
    EXPECT_EQ(headline("actions=NORMAL"),
              "flows.txt:1:9: error: unsupported action 'NORMAL': swd does not implement OVS's "
              "normal; expected one of output:PORT, in_port, local, drop, set_queue:N, "
              "mod_dl_src:MAC, mod_dl_dst:MAC, mod_nw_src:IP, mod_nw_dst:IP, mod_tp_src:PORT, "
              "mod_tp_dst:PORT, dec_ttl, goto_table:N, lb(POOL), ct(commit)");
}

TEST(Parser, PortsAndPoolsMustExist) {
    EXPECT_EQ(headline("actions=output:eth9"),
              "flows.txt:1:16: error: output to unknown port 'eth9'; expected a port number or "
              "name: 1 (eth0), 2 (eth1), or LOCAL");
    EXPECT_EQ(headline("in_port=7,actions=drop"),
              "flows.txt:1:9: error: unknown port '7'; expected a port number or name: 1 (eth0), "
              "2 (eth1), or LOCAL");
    EXPECT_EQ(headline("tcp,actions=lb(web)"),
              "flows.txt:1:16: error: undeclared pool 'web'; expected a pool declared with "
              "lb_pool=NAME, vip=..., backend=... (none is declared)");
    parse_context none;
    EXPECT_EQ(headline("actions=output:1", parse_mode::config, none),
              "flows.txt:1:16: error: output to unknown port '1'; expected a declared port, but "
              "none is declared (use --port or a port= line)");
}

TEST(Parser, OneBadLineRejectsTheWholeText) {
    auto out = parse("priority=1,actions=drop\npriority=2,tcp,tp_dst=x,actions=drop\n"
                     "priority=3,actions=drop\n");
    EXPECT_FALSE(out.ok());
    EXPECT_TRUE(out.mods.empty());
    ASSERT_EQ(out.errors.size(), 1u);
    EXPECT_EQ(out.errors[0].line, 2);
}

TEST(Parser, ErrorsAreCollectedUpToALimit) {
    std::string text;
    for (int i = 0; i < 50; i++) {
        text += "ip,nw_src=1.2.3.999,actions=drop\n";
    }
    auto out = parse(text);
    EXPECT_EQ(out.errors.size(), max_errors);
    EXPECT_EQ(out.errors[4].line, 5);
}

TEST(Parser, ContinuationLinesPointAtThePhysicalLine) {
    EXPECT_EQ(first_error("priority=1,\\\n  tcp,\\\n  tp_dst=99x,actions=drop\n"),
              "flows.txt:3:10: error: invalid tp_dst value '99x': 'x' is not a decimal digit; "
              "expected a port number 0-65535, optionally /0xmask\n"
              "    3 |   tp_dst=99x,actions=drop\n"
              "      |          ^~~");
    EXPECT_EQ(normal("priority=1,\\\n tcp,\\\n tp_dst=99,actions=drop  # comment\n"),
              "priority=1,tcp,tp_dst=99 actions=drop\n");
}

TEST(Parser, CommentsBlankLinesAndWhitespace) {
    EXPECT_EQ(
        normal("# only a comment\n\n   \n\tpriority=5 , tcp ,tp_dst=80   actions=drop # why\n"),
        "priority=5,tcp,tp_dst=80 actions=drop\n");
    EXPECT_EQ(normal("actions=output:1, output:eth1 ,local"),
              "actions=output:eth0,output:eth1,local\n");
}

TEST(Parser, CommandKeywordsOnlyInAddFlows) {
    auto out = parse("add priority=1,actions=drop\ndelete tcp\nmodify_strict priority=3,udp,"
                     "actions=local\nmodify ip,actions=drop\ndelete_strict priority=4,icmp\n",
                     parse_mode::flow_mods);
    ASSERT_TRUE(out.ok()) << format_all(out.errors);
    ASSERT_EQ(out.mods.size(), 5u);
    EXPECT_EQ(out.mods[1].command, flow_command::del);
    EXPECT_EQ(out.mods[2].command, flow_command::modify_strict);
    EXPECT_EQ(out.mods[3].command, flow_command::modify);
    EXPECT_EQ(out.mods[4].command, flow_command::del_strict);
    EXPECT_EQ(headline("delete tcp\n"),
              "flows.txt:1:1: error: command keyword not allowed here 'delete': a configuration "
              "file only adds rules; expected a rule, or 'add' before it");
    EXPECT_TRUE(parse("add priority=1,actions=drop\n").ok());
}

TEST(Parser, PriorityNeedsStrictForSelection) {
    EXPECT_EQ(headline("priority=5,tcp", parse_mode::match),
              "flows.txt:1:1: error: priority has no effect here 'priority=5': non-strict "
              "del-flows ignores priorities; expected --strict (or delete_strict/modify_strict) "
              "to select by priority");
    parse_context strict = ports_ctx();
    strict.strict = true;
    auto out = parse("priority=5,tcp", parse_mode::match, strict);
    ASSERT_TRUE(out.ok());
    EXPECT_EQ(out.mods[0].command, flow_command::del_strict);
    EXPECT_EQ(out.mods[0].spec.priority, 5);
}

TEST(Parser, MatchModeForbidsActionsAndTakesFilters) {
    EXPECT_EQ(headline("tcp,actions=drop", parse_mode::match),
              "flows.txt:1:5: error: actions not allowed in del-flows 'actions=drop': it selects "
              "rules by their match; expected a match only");
    auto out = parse("table=2,cookie=0x10/0xf0,out_port=eth1,tcp", parse_mode::match);
    ASSERT_TRUE(out.ok()) << format_all(out.errors);
    const flow_mod& fm = out.mods[0];
    EXPECT_TRUE(fm.table_given);
    EXPECT_EQ(fm.spec.table, 2);
    EXPECT_EQ(fm.cookie_filter, 0x10u);
    EXPECT_EQ(fm.cookie_mask, 0xf0u);
    EXPECT_EQ(fm.out_port, 2);
    // An empty match selects everything.
    auto all = parse("", parse_mode::match);
    ASSERT_EQ(all.mods.size(), 1u);
    EXPECT_TRUE(all.mods[0].spec.match.mask.is_zero());
}

TEST(Parser, ModifyNeedsActionsAndRejectsTimeouts) {
    EXPECT_EQ(headline("tcp", parse_mode::modify),
              "flows.txt:1:4: error: missing actions: every rule needs an action list; expected "
              "actions=... at the end (actions=drop to drop)");
    EXPECT_EQ(headline("idle_timeout=5,tcp,actions=drop", parse_mode::modify),
              "flows.txt:1:1: error: idle_timeout has no effect here 'idle_timeout=5': timeouts "
              "are set when a rule is added; expected add-flow (or replace-flows) to change a "
              "timeout");
    EXPECT_EQ(headline("cookie=1/0xff,actions=drop"),
              "flows.txt:1:8: error: cookie mask not allowed when adding '1/0xff': a mask "
              "selects existing rules; expected cookie=VALUE without /MASK (masks go with "
              "del-flows, mod-flows, dump-flows)");
}

TEST(Parser, StatisticsFromDumpFlowsAreIgnored) {
    EXPECT_EQ(normal(" cookie=0x0, duration=1.066s, table=0, n_packets=3, n_bytes=180, "
                     "runs=user, priority=400,tcp,tp_dst=11211 actions=local"),
              "priority=400,tcp,tp_dst=11211 actions=local\n");
}

TEST(Parser, PortDeclarationsNumberPorts) {
    parse_context cli;
    cli.ports = {{"veth9", 0}, {"veth0", 0}}; // from --port, numbered after the file's
    auto out =
        parse("port=veth0\nport=veth1, ofport=1\nactions=output:veth9\n", parse_mode::config, cli);
    ASSERT_TRUE(out.ok()) << format_all(out.errors);
    ASSERT_EQ(out.ports.size(), 3u);
    EXPECT_EQ(format_port(out.ports[0]), "port=veth0, ofport=2");
    EXPECT_EQ(format_port(out.ports[1]), "port=veth1, ofport=1");
    EXPECT_EQ(format_port(out.ports[2]), "port=veth9, ofport=3");
    EXPECT_EQ(out.mods[0].spec.actions[0].arg, 3);

    EXPECT_EQ(headline("port=eth0\nport=eth0\n", parse_mode::config, {}),
              "flows.txt:2:1: error: duplicate port 'port=eth0': eth0 is already declared; "
              "expected each port name and number once");
    EXPECT_EQ(headline("port=local\n", parse_mode::config, {}),
              "flows.txt:1:6: error: invalid port name 'local': it is an action keyword; expected "
              "an interface name of 1-15 characters that is not a number or an action keyword");
    EXPECT_EQ(headline("port=eth0\n", parse_mode::flow_mods, {}),
              "flows.txt:1:1: error: port declaration not allowed here 'port=eth0': ports are "
              "set when swd starts; expected a port= line in the --config file or a --port "
              "option");
    parse_context running = ports_ctx();
    running.ports_fixed = true;
    EXPECT_TRUE(parse("port=eth1, ofport=2\nactions=drop\n", parse_mode::config, running).ok());
    EXPECT_EQ(headline("port=eth7\n", parse_mode::config, running),
              "flows.txt:1:1: error: port not in the running switch 'port=eth7': ports are set "
              "when swd starts; expected a port number or name: 1 (eth0), 2 (eth1)");
}

TEST(Parser, PortQueueModes) {
    auto out =
        parse("port=eth0, queues=0-3, user-queues=2-3, kernel-queues=1\n", parse_mode::config, {});
    ASSERT_TRUE(out.ok()) << format_all(out.errors);
    const port_options& o = out.ports[0].options;
    EXPECT_EQ(o.first_user_queue, 2u);
    EXPECT_EQ(o.n_user_queues, 2u);
    EXPECT_EQ(o.first_kernel_queue, 1u);
    EXPECT_EQ(o.n_kernel_queues, 1u);
    EXPECT_EQ(format_port(out.ports[0]),
              "port=eth0, ofport=1, queues=0-3, user-queues=2-3, kernel-queues=1");
    EXPECT_EQ(headline("port=eth0, user-queues=0-3, kernel-queues=3\n", parse_mode::config, {}),
              "flows.txt:1:43: error: invalid kernel-queues value '3': user-queues and "
              "kernel-queues overlap; expected queues that are not also in the other list");
    EXPECT_EQ(headline("port=eth0, user-queues=3-1\n", parse_mode::config, {}),
              "flows.txt:1:24: error: invalid user-queues value '3-1': the range is backwards; "
              "expected a queue number or range such as 0-3 (queues 0-255)");
}

TEST(Parser, PoolDeclarations) {
    auto out = parse("lb_pool=web, vip=10.0.0.10:80/tcp, backend=10.1.0.1:8080/02:00:00:00:01:01,"
                     " backend=10.1.0.2:8081/02:00:00:00:01:02/weight=3/state=drain\n"
                     "pool=dns6, vip=[2001:db8::53]:53/udp, backend=[2001:db8::1]:53/"
                     "02:00:00:00:00:01\n"
                     "priority=1,tcp,nw_dst=10.0.0.10,tp_dst=80,actions=lb(web),in_port\n"
                     "priority=1,udp6,tp_dst=53,actions=lb(dns6),output:1\n");
    ASSERT_TRUE(out.ok()) << format_all(out.errors);
    ASSERT_EQ(out.pools.size(), 2u);
    EXPECT_EQ(format_pool(out.pools[0]),
              "lb_pool=web, vip=10.0.0.10:80/tcp, backend=10.1.0.1:8080/02:00:00:00:01:01, "
              "backend=10.1.0.2:8081/02:00:00:00:01:02/weight=3/state=drain");
    EXPECT_EQ(format_pool(out.pools[1]), "lb_pool=dns6, vip=[2001:db8::53]:53/udp, "
                                         "backend=[2001:db8::1]:53/02:00:00:00:00:01");
    EXPECT_NE(out.pools[0].id, out.pools[1].id);
    EXPECT_EQ(out.mods[0].spec.actions[0].type, SWD_ACT_LB);
    EXPECT_EQ(out.mods[0].spec.actions[0].arg, out.pools[0].id);

    EXPECT_EQ(headline("lb_pool=web, vip=10.0.0.10:80/sctp\n"),
              "flows.txt:1:18: error: invalid vip '10.0.0.10:80/sctp': the protocol is missing "
              "or unknown; expected ADDR:PORT/tcp or ADDR:PORT/udp");
    EXPECT_EQ(headline("lb_pool=web, vip=10.0.0.10:80/tcp, backend=10.1.0.1:8080\n"),
              "flows.txt:1:44: error: invalid backend '10.1.0.1:8080': the next-hop MAC is "
              "missing; expected backend=ADDR:PORT/MAC[/weight=N][/state=up|drain|down] (IPv6: "
              "[ADDR]:PORT/...)");
    EXPECT_EQ(headline("lb_pool=web, vip=10.0.0.10:80/tcp, backend=[::1]:80/02:00:00:00:00:01\n"),
              "flows.txt:1:1: error: backend family differs from the vip 'web': backend 1 is "
              "IPv6, the vip is IPv4; expected backends of the vip's address family");
    std::string big = "lb_pool=big, vip=10.0.0.10:80/tcp";
    for (int i = 0; i < 656; i++) { // one more than a Maglev table of 65537 entries takes
        big += ", backend=10.2." + std::to_string(i / 256) + "." + std::to_string(i % 256) +
               ":80/02:00:00:00:00:01";
    }
    EXPECT_EQ(headline(big + "\n"),
              "flows.txt:1:1: error: too many backends 'big': 656 backends; expected at most 655 "
              "per pool (the Maglev table's size / 100)");
    EXPECT_EQ(
        headline("lb_pool=web, vip=10.0.0.10:80/udp\nprio=1,tcp,actions=lb(web)\n").substr(0, 40),
        "flows.txt:2:1: error: unknown field 'pri");
    EXPECT_EQ(headline("lb_pool=web, vip=10.0.0.10:80/udp\ntcp,actions=lb(web)\n"),
              "flows.txt:2:13: error: missing prerequisite for action 'lb(web)': pool web "
              "balances UDP/IPv4 traffic; expected 'udp' in the match");
}

TEST(Parser, ConfigTextMustNotRepeatARule) {
    EXPECT_EQ(first_error("priority=1,tcp,actions=drop\npriority=1,tcp,actions=local\n"),
              "flows.txt:2:1: error: duplicate rule: line 1 has the same table, priority and "
              "match; expected each rule once (a later one would replace the earlier)\n"
              "    2 | priority=1,tcp,actions=local\n"
              "      | ^~~~~~~~~~~~~~~~~~~~~~~~~~~~");
    EXPECT_EQ(headline("priority=1,tcp,actions=drop\npriority=2,tcp,actions=drop\n"
                       "priority=1,tcp,actions=local\n"),
              "flows.txt:3:1: error: duplicate rule: line 1 has the same table, priority and "
              "match; expected each rule once (a later one would replace the earlier)");
    // add-flows follows OpenFlow: a later add replaces.
    EXPECT_TRUE(
        parse("priority=1,tcp,actions=drop\npriority=1,tcp,actions=local\n", parse_mode::flow_mods)
            .ok());
}

TEST(Parser, HostBitsOutsideAMaskWarn) {
    auto out = parse("ip,nw_src=10.0.0.1/24,actions=drop");
    ASSERT_TRUE(out.ok());
    ASSERT_EQ(out.warnings.size(), 1u);
    EXPECT_EQ(out.warnings[0].headline(),
              "flows.txt:1:11: warning: address has bits outside its mask '10.0.0.1/24': "
              "matching 10.0.0.0/24");
    EXPECT_EQ(out.mods[0].spec.match.value.f.nw_src[0], htonl(0x0a000000));
}

TEST(Parser, ActionEncoding) {
    auto out = parse("tcp,actions=set_queue:3,mod_dl_src:00:11:22:33:44:55,mod_nw_dst:10.1.2.3,"
                     "mod_tp_dst:8080,dec_ttl,output:eth1,goto_table:4");
    ASSERT_TRUE(out.ok()) << format_all(out.errors);
    const auto& a = out.mods[0].spec.actions;
    ASSERT_EQ(a.size(), 7u);
    EXPECT_EQ(a[0].type, SWD_ACT_SET_QUEUE);
    EXPECT_EQ(a[0].arg, 3);
    EXPECT_EQ(a[1].type, SWD_ACT_SET_ETH_SRC);
    EXPECT_EQ(a[1].val.mac[5], 0x55);
    EXPECT_EQ(a[2].type, SWD_ACT_SET_IPV4_DST);
    EXPECT_EQ(a[2].val.ipv4, htonl(0x0a010203));
    EXPECT_EQ(a[3].type, SWD_ACT_SET_TP_DST);
    EXPECT_EQ(a[3].val.port, htons(8080));
    EXPECT_EQ(a[4].type, SWD_ACT_DEC_TTL);
    EXPECT_EQ(a[5].type, SWD_ACT_OUTPUT);
    EXPECT_EQ(a[5].arg, 2);
    EXPECT_EQ(a[6].type, SWD_ACT_GOTO_TABLE);
    EXPECT_EQ(a[6].arg, 4);
    EXPECT_TRUE(parse("actions=drop").mods[0].spec.actions.empty());
    EXPECT_TRUE(parse("actions=").mods[0].spec.actions.empty());
    std::string many = "actions=";
    for (int i = 0; i < 17; i++) {
        many += i ? ",local" : "local";
    }
    EXPECT_EQ(headline(many),
              "flows.txt:1:105: error: too many actions 'local': a rule has at most 16; expected "
              "fewer actions");
}

TEST(Parser, GotoTableOnlyForward) {
    EXPECT_EQ(headline("table=3,actions=goto_table:2"),
              "flows.txt:1:28: error: invalid argument of goto_table '2': this rule is in table "
              "3; expected a table after the rule's own (OpenFlow pipelines only go forward)");
}

TEST(Parser, ConnectionTracking) {
    EXPECT_EQ(normal("priority=10,tcp,in_port=eth0,actions=ct(commit),output:eth1\n"
                     "priority=10,in_port=eth1,ct_state=+trk+est,actions=output:eth0\n"
                     "priority=9,ct_state=-est+trk,actions=drop\n"
                     "priority=8,ct_state=+rpl-new,actions=drop\n"
                     "priority=7,ct_state=0x22/0x22,actions=drop\n"
                     "priority=6,ip,actions=CT(COMMIT),local\n"),
              "priority=10,tcp,in_port=eth0 actions=ct(commit),output:eth1\n"
              "priority=10,in_port=eth1,ct_state=+est+trk actions=output:eth0\n"
              "priority=9,ct_state=-est+trk actions=drop\n"
              "priority=8,ct_state=-new+rpl actions=drop\n"
              "priority=7,ct_state=+est+trk actions=drop\n"
              "priority=6,ip actions=ct(commit),local\n");
    EXPECT_EQ(headline("ct_state=+trk+rel,actions=drop"),
              "flows.txt:1:14: error: untracked ct_state flag '+rel': swd tracks no related, "
              "invalid or NAT state; expected +FLAG or -FLAG with FLAG one of new, est, rpl, trk");
    EXPECT_EQ(headline("ct_state=+trk+bogus,actions=drop"),
              "flows.txt:1:14: error: unknown ct_state flag '+bogus'; expected +FLAG or -FLAG "
              "with FLAG one of new, est, rpl, trk");
    EXPECT_EQ(headline("ct_state=+est+est,actions=drop"),
              "flows.txt:1:14: error: ct_state flag given twice '+est'; expected each flag at "
              "most once");
    EXPECT_EQ(headline("ct_state=0x04,actions=drop"),
              "flows.txt:1:10: error: untracked ct_state bits '0x04': 0x04 is not new, est, rpl "
              "or trk; expected bits of new 0x01, est 0x02, rpl 0x08, trk 0x20");
    EXPECT_EQ(headline("ip,actions=ct(commit,zone=5)"),
              "flows.txt:1:15: error: unsupported ct() argument 'commit,zone=5': swd tracks every "
              "TCP/UDP packet before table 0; zones, NAT, recirculation and helpers are not "
              "implemented; expected ct(commit)");
    EXPECT_EQ(headline("ip,actions=ct"),
              "flows.txt:1:12: error: unsupported ct() argument 'ct': swd tracks every TCP/UDP "
              "packet before table 0; zones, NAT, recirculation and helpers are not implemented; "
              "expected ct(commit)");
    EXPECT_EQ(headline("arp,actions=ct(commit)"),
              "flows.txt:1:13: error: missing prerequisite for action 'ct(commit)': connection "
              "tracking applies to IPv4 and IPv6; expected 'ip' or 'ipv6' (or tcp, udp, tcp6, "
              "udp6) in the match");
}

TEST(Parser, MalformedInputNeverCrashes) {
    // Odd bytes, unbalanced syntax, huge numbers: each line gets an error, nothing throws.
    const char* bad[] = {"=",
                         "==,",
                         "actions",
                         "actions=output:",
                         "actions=lb(",
                         "tcp,,,actions=,",
                         "cookie=0xffffffffffffffffff,actions=drop",
                         "ip,nw_src=/,actions=drop",
                         "dl_src=zz:zz:zz:zz:zz:zz,actions=drop",
                         "\x01\x02\xff,actions=drop",
                         "lb_pool=",
                         "lb_pool=x, vip=[::1",
                         "port=",
                         "tcp_flags=+,actions=drop",
                         "ipv6,ipv6_src=::1/::,actions=drop,",
                         "actions=mod_dl_src:"};
    for (const char* b : bad) {
        auto out = parse(b);
        EXPECT_FALSE(out.ok()) << b;
        EXPECT_TRUE(out.mods.empty()) << b;
        for (const auto& d : out.errors) {
            EXPECT_FALSE(d.format().empty());
        }
    }
}

} // namespace
} // namespace swd::flows

namespace swd::flows {
namespace {

TEST(Parser, MessagesNameTheCommand) {
    parse_context dump = ports_ctx();
    dump.command = "dump-flows";
    EXPECT_EQ(headline("tcp,actions=drop", parse_mode::match, dump),
              "flows.txt:1:5: error: actions not allowed in dump-flows 'actions=drop': it selects "
              "rules by their match; expected a match only");
    dump.strict = true;
    EXPECT_EQ(headline("priority=1,tcp,actions=drop", parse_mode::match, dump),
              "flows.txt:1:16: error: actions not allowed in dump-flows --strict 'actions=drop': "
              "it selects rules by their match; expected a match only");
    EXPECT_EQ(headline("delete tcp", parse_mode::match),
              "flows.txt:1:1: error: command keyword not allowed here 'delete'; expected a match");
    EXPECT_EQ(headline("delete,tcp", parse_mode::match),
              "flows.txt:1:1: error: command keyword not allowed here 'delete'; expected a match");
}

TEST(Parser, NewPoolMayNotTakeARunningPoolsVip) {
    parse_context running = ports_ctx();
    lb_pool a;
    a.name = "a";
    a.vip[0] = htonl(0x0a00000a);
    a.vip_port = 80;
    running.pools = {a};
    EXPECT_EQ(headline("lb_pool=b, vip=10.0.0.10:80/tcp\n", parse_mode::flow_mods, running),
              "flows.txt:1:9: error: vip already in use 'b': the running pool a has the same vip; "
              "expected one pool per address, port and protocol");
}

TEST(Parser, RejectedLinesGiveNoWarnings) {
    auto out = parse("ip,nw_src=10.0.0.1/24,nw_dst=1.2.3.300,actions=drop\n"
                     "ip,nw_src=10.0.0.9/24,actions=drop\n");
    EXPECT_EQ(out.errors.size(), 1u);
    ASSERT_EQ(out.warnings.size(), 1u) << "only the valid line's warning";
    EXPECT_EQ(out.warnings[0].line, 2);
}

TEST(Parser, ErrorCountSaysWhenItStopped) {
    std::string text;
    for (int i = 0; i < 25; i++) {
        text += "ip,nw_src=1.2.3.999,actions=drop\n";
    }
    EXPECT_EQ(parse(text).error_count(), "20 errors (stopped there)");
    EXPECT_EQ(parse("ip,nw_src=1.2.3.999,actions=drop\n").error_count(), "1 error");
}

TEST(Parser, QueueSteeringRequests) {
    EXPECT_EQ(normal("priority=100, udp, nw_dst=10.0.0.20, queue=2, actions=output:eth1"),
              "queue=2, priority=100,udp,nw_dst=10.0.0.20 actions=output:eth1\n");
    auto steer = [](const std::string& text) {
        auto out = parse(text);
        EXPECT_TRUE(out.ok()) << format_all(out.errors);
        const auto q = out.mods.at(0).spec.steering_queue();
        return q ? static_cast<int>(*q) : -1;
    };
    EXPECT_EQ(steer("udp,queue=2,actions=output:eth1"), 2);
    EXPECT_EQ(steer("udp,actions=set_queue:3,output:eth1"), 3) << "set_queue steers in table 0";
    EXPECT_EQ(steer("udp,queue=2,actions=set_queue:3,output:eth1"), 2) << "queue= wins";
    EXPECT_EQ(steer("table=1,udp,actions=set_queue:3,output:eth1"), -1)
        << "packets arrive in table 0";
    EXPECT_EQ(steer("udp,actions=output:eth1"), -1);

    EXPECT_EQ(headline("udp,queue=64,actions=drop"),
              "flows.txt:1:11: error: invalid queue value '64': 64 is out of range 0-63; "
              "expected a receive queue 0-63 (the dispatcher's queues)");
    EXPECT_EQ(headline("udp,queue=2,table=1,actions=drop"),
              "flows.txt:1:5: error: queue has no effect here 'queue=2': packets arrive in table "
              "0, this rule is in table 1; expected queue= on a rule of table 0");
    EXPECT_EQ(headline("udp,placement=xdp,queue=1,actions=drop"),
              "flows.txt:1:19: error: queue conflicts with placement=xdp 'queue=1': a steered "
              "flow goes to the queue's AF_XDP socket: it runs in user space; expected "
              "placement=user or auto with queue=");
    EXPECT_EQ(headline("udp,queue=1,queue=2,actions=drop"),
              "flows.txt:1:13: error: duplicate field 'queue=2': queue is already set; expected "
              "each field at most once");
    EXPECT_EQ(headline("udp,queue=1", parse_mode::match),
              "flows.txt:1:5: error: queue has no effect here 'queue=1': del-flows does not "
              "select rules by their steering; expected a match");
    // dump-flows prints how the steering is in force; fed back, that is ignored.
    EXPECT_EQ(normal(" cookie=0x0, duration=1.0s, table=0, n_packets=3, n_bytes=180, runs=user, "
                     "steering=xdp:eth0/q2, queue=2, priority=100,udp actions=output:eth1"),
              "queue=2, priority=100,udp actions=output:eth1\n");
}

} // namespace
} // namespace swd::flows
