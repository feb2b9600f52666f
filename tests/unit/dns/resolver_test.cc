#include "dns/resolver.h"

#include <gtest/gtest.h>

#include <set>
#include <vector>

namespace berth::dns {
namespace {

using Type = DnsRecordSpec::Type;

DnsInstance instance(std::string id, std::string ip, uint16_t port, bool healthy = true) {
  DnsInstance i;
  i.id = std::move(id);
  i.ipv4 = std::move(ip);
  i.port = port;
  i.healthy = healthy;
  return i;
}

ZoneSnapshot devLocal() {
  ZoneSnapshot s;
  s.serial = 7;
  DnsZone z;
  z.name = "dev.local";
  z.soa_ttl = 15;
  DnsService backend;
  backend.name = "backend";
  backend.records = {{Type::kA, 10}, {Type::kSrv, 20}};
  backend.instances = {instance("t1", "172.31.0.4", 8000), instance("t2", "172.31.0.5", 8000),
                       instance("t3", "172.31.0.6", 8000, false)};
  DnsService frontend;
  frontend.name = "frontend";
  frontend.records = {{Type::kA, 60}, {Type::kAaaa, 60}};
  frontend.instances = {instance("f1", "172.31.0.7", 3000)};
  frontend.instances[0].ipv6 = "fd00::7";
  DnsService empty;  // no instances: no records, the name does not exist
  empty.name = "empty";
  empty.records = {{Type::kA, 10}};
  DnsService sick;
  sick.name = "sick";
  sick.records = {{Type::kA, 10}};
  sick.instances = {instance("s1", "10.0.0.1", 1, false), instance("s2", "10.0.0.2", 1, false)};
  DnsService weighted;
  weighted.name = "weighted";
  weighted.routing = RoutingPolicy::kWeighted;
  weighted.records = {{Type::kA, 10}};
  for (int i = 0; i < 5; ++i) weighted.instances.push_back(instance("w" + std::to_string(i), "10.1.0." + std::to_string(i), 80));
  DnsService many;
  many.name = "many";
  many.records = {{Type::kA, 10}, {Type::kAaaa, 10}, {Type::kSrv, 10}};
  for (int i = 0; i < 20; ++i) {
    many.instances.push_back(instance("m" + std::to_string(i), "10.2.0." + std::to_string(i), 80));
    many.instances.back().ipv6 = "fd00::2:" + std::to_string(i);
  }
  DnsService cname;
  cname.name = "alias";
  cname.routing = RoutingPolicy::kWeighted;
  cname.records = {{Type::kCname, 30}};
  cname.instances = {DnsInstance{"c1", "", "", 0, "backend.dev.local", true}};
  DnsService deep;  // a dotted service name makes "_tcp.dev.local" an empty non-terminal
  deep.name = "_http._tcp";
  deep.records = {{Type::kA, 10}};
  deep.instances = {instance("d1", "10.3.0.1", 80)};
  z.services = {backend, frontend, empty, sick, weighted, many, cname, deep};
  s.zones.push_back(z);
  DnsZone prod;
  prod.name = "prod.local";
  s.zones.push_back(prod);
  return s;
}

class DnsResolverTest : public ::testing::Test {
 protected:
  DnsResolverTest() : source_(devLocal()), resolver_(source_, {}) {}

  Message ask(std::string_view name, uint16_t type, uint16_t edns = 0, Resolver::Action want = Resolver::Action::kRespond,
              bool udp = true) {
    auto q = buildQuery(0xBEEF, name, type, edns);
    EXPECT_TRUE(q);
    resolver_.refresh(scratch_);
    std::vector<uint8_t> out(kMaxTcpMessage);
    size_t size = 0;
    auto action = resolver_.handle(scratch_, *q, udp, out, &size);
    EXPECT_EQ(action, want);
    if (action != Resolver::Action::kRespond) return {};
    last_size_ = size;
    auto m = decodeMessage({out.data(), size});
    EXPECT_TRUE(m);
    EXPECT_EQ(m->id, 0xBEEF);
    return m ? *m : Message{};
  }
  static std::multiset<std::string> texts(const std::vector<Record>& rs, uint16_t type) {
    std::multiset<std::string> out;
    for (const auto& r : rs)
      if (r.type == type) out.insert(r.text);
    return out;
  }

  StaticZoneSource source_;
  Resolver resolver_;
  Resolver::Scratch scratch_;
  size_t last_size_ = 0;
};

TEST_F(DnsResolverTest, MultivalueAnswersTheHealthyInstances) {
  Message m = ask("backend.dev.local", rrtype::kA);
  EXPECT_EQ(m.rcode(), rcode::kNoError);
  EXPECT_TRUE(m.flags & flag::kAa);
  EXPECT_TRUE(m.flags & flag::kQr);
  EXPECT_EQ(texts(m.answers, rrtype::kA), (std::multiset<std::string>{"172.31.0.4", "172.31.0.5"}));
  for (const auto& r : m.answers) EXPECT_EQ(r.ttl, 10u);
}

TEST_F(DnsResolverTest, NamesAreCaseInsensitiveAndTheQuestionKeepsItsCase) {
  Message m = ask("BackEnd.DEV.local.", rrtype::kA);
  EXPECT_EQ(m.answers.size(), 2u);
  EXPECT_EQ(m.questions[0].name, "BackEnd.DEV.local.");
  EXPECT_EQ(m.answers[0].name, "BackEnd.DEV.local.");
}

TEST_F(DnsResolverTest, AllUnhealthyAnswersTheUnhealthy) {
  Message m = ask("sick.dev.local", rrtype::kA);
  EXPECT_EQ(texts(m.answers, rrtype::kA), (std::multiset<std::string>{"10.0.0.1", "10.0.0.2"}));
}

TEST_F(DnsResolverTest, MultivalueAnswersAtMostEightDistinctAtRandom) {
  std::set<std::string> seen;
  for (int i = 0; i < 50; ++i) {
    Message m = ask("many.dev.local", rrtype::kA);
    auto t = texts(m.answers, rrtype::kA);
    EXPECT_EQ(t.size(), 8u);
    EXPECT_EQ(std::set<std::string>(t.begin(), t.end()).size(), 8u);
    seen.insert(t.begin(), t.end());
  }
  EXPECT_EQ(seen.size(), 20u);  // every instance comes up over 50 answers
}

TEST_F(DnsResolverTest, WeightedAnswersOneAtRandom) {
  std::set<std::string> seen;
  for (int i = 0; i < 50; ++i) {
    Message m = ask("weighted.dev.local", rrtype::kA);
    ASSERT_EQ(m.answers.size(), 1u);
    seen.insert(m.answers[0].text);
  }
  EXPECT_GT(seen.size(), 1u);
}

TEST_F(DnsResolverTest, SrvAsCloudMapWritesItWithAdditionalAddresses) {
  Message m = ask("backend.dev.local", rrtype::kSrv);
  EXPECT_EQ(m.rcode(), rcode::kNoError);
  EXPECT_EQ(texts(m.answers, rrtype::kSrv),
            (std::multiset<std::string>{"1 1 8000 t1.backend.dev.local.", "1 1 8000 t2.backend.dev.local."}));
  for (const auto& r : m.answers) EXPECT_EQ(r.ttl, 20u);
  std::set<std::string> extra;
  for (const auto& r : m.additional)
    if (r.type == rrtype::kA) extra.insert(r.name + " " + r.text);
  EXPECT_EQ(extra, (std::set<std::string>{"t1.backend.dev.local. 172.31.0.4", "t2.backend.dev.local. 172.31.0.5"}));
}

TEST_F(DnsResolverTest, InstanceNamesHaveTheirOwnA) {
  Message m = ask("t3.backend.dev.local", rrtype::kA);
  EXPECT_EQ(m.rcode(), rcode::kNoError);
  ASSERT_EQ(m.answers.size(), 1u);
  EXPECT_EQ(m.answers[0].text, "172.31.0.6");
  // frontend has no SRV record: no instance names.
  EXPECT_EQ(ask("f1.frontend.dev.local", rrtype::kA).rcode(), rcode::kNxDomain);
}

TEST_F(DnsResolverTest, Aaaa) {
  Message m = ask("frontend.dev.local", rrtype::kAaaa);
  ASSERT_EQ(m.answers.size(), 1u);
  EXPECT_EQ(m.answers[0].text, "fd00::7");
}

TEST_F(DnsResolverTest, NxDomainVersusNoData) {
  Message nx = ask("nope.dev.local", rrtype::kA);
  EXPECT_EQ(nx.rcode(), rcode::kNxDomain);
  EXPECT_TRUE(nx.answers.empty());
  ASSERT_EQ(nx.authority.size(), 1u);
  EXPECT_EQ(nx.authority[0].type, rrtype::kSoa);
  EXPECT_EQ(nx.authority[0].name, "dev.local.");
  EXPECT_EQ(nx.authority[0].ttl, 15u);
  EXPECT_EQ(ask("empty.dev.local", rrtype::kA).rcode(), rcode::kNxDomain);
  EXPECT_EQ(ask("x.backend.dev.local", rrtype::kA).rcode(), rcode::kNxDomain);

  Message nodata = ask("backend.dev.local", rrtype::kAaaa);
  EXPECT_EQ(nodata.rcode(), rcode::kNoError);
  EXPECT_TRUE(nodata.answers.empty());
  ASSERT_EQ(nodata.authority.size(), 1u);
  EXPECT_EQ(nodata.authority[0].type, rrtype::kSoa);
  EXPECT_EQ(ask("frontend.dev.local", rrtype::kSrv).rcode(), rcode::kNoError);
  EXPECT_EQ(ask("backend.dev.local", rrtype::kTxt).rcode(), rcode::kNoError);
  // An empty non-terminal exists.
  Message ent = ask("_tcp.dev.local", rrtype::kA);
  EXPECT_EQ(ent.rcode(), rcode::kNoError);
  EXPECT_TRUE(ent.answers.empty());
  EXPECT_EQ(ask("_http._tcp.dev.local", rrtype::kA).answers.size(), 1u);
}

TEST_F(DnsResolverTest, SoaAndNsAtTheApex) {
  Message soa = ask("dev.local", rrtype::kSoa);
  ASSERT_EQ(soa.answers.size(), 1u);
  EXPECT_EQ(soa.answers[0].text, "ns1.dev.local. hostmaster.dev.local. 7 7200 900 1209600 86400");
  Message ns = ask("dev.local", rrtype::kNs);
  ASSERT_EQ(ns.answers.size(), 1u);
  EXPECT_EQ(ns.answers[0].text, "ns1.dev.local.");
  ASSERT_EQ(ns.additional.size(), 1u);
  EXPECT_EQ(ns.additional[0].text, "127.0.0.1");
  EXPECT_EQ(ask("ns1.dev.local", rrtype::kA).answers.size(), 1u);
  // A zone without services still has its apex.
  EXPECT_EQ(ask("prod.local", rrtype::kSoa).answers.size(), 1u);
  EXPECT_EQ(ask("backend.prod.local", rrtype::kA).rcode(), rcode::kNxDomain);
  EXPECT_EQ(ask("dev.local", rrtype::kA).rcode(), rcode::kNoError);
}

TEST_F(DnsResolverTest, CnameServices) {
  Message m = ask("alias.dev.local", rrtype::kA);
  ASSERT_EQ(m.answers.size(), 1u);
  EXPECT_EQ(m.answers[0].type, rrtype::kCname);
  EXPECT_EQ(m.answers[0].text, "backend.dev.local.");
  EXPECT_EQ(m.answers[0].ttl, 30u);
}

TEST_F(DnsResolverTest, OutsideTheZonesIsForwarded) {
  ask("example.com", rrtype::kA, 0, Resolver::Action::kForward);
  ask("local", rrtype::kA, 0, Resolver::Action::kForward);
  ask("xdev.local", rrtype::kA, 0, Resolver::Action::kForward);
  StaticZoneSource none;
  Resolver refusing(none, ResolverOptions{"", false});
  Resolver::Scratch scratch;
  refusing.refresh(scratch);
  auto q = buildQuery(1, "example.com", rrtype::kA);
  std::vector<uint8_t> out(512);
  size_t size = 0;
  ASSERT_EQ(refusing.handle(scratch, *q, true, out, &size), Resolver::Action::kRespond);
  EXPECT_EQ(decodeMessage({out.data(), size})->rcode(), rcode::kRefused);
}

TEST_F(DnsResolverTest, EdnsIsAnsweredWithOurOpt) {
  Message m = ask("backend.dev.local", rrtype::kA, 4096);
  ASSERT_FALSE(m.additional.empty());
  EXPECT_EQ(m.additional.back().type, rrtype::kOpt);
  EXPECT_EQ(m.additional.back().klass, kEdnsUdpSize);
  Message plain = ask("backend.dev.local", rrtype::kA);
  EXPECT_TRUE(plain.additional.empty());
}

TEST_F(DnsResolverTest, TruncatesOverUdpOnly) {
  // 8 SRV answers with 8 additional A records do not fit in 512 bytes.
  Message small = ask("many.dev.local", rrtype::kSrv);
  EXPECT_LE(last_size_, 512u);
  if (small.flags & flag::kTc) {
    EXPECT_TRUE(small.answers.empty());
  } else {
    EXPECT_EQ(small.answers.size(), 8u);  // only the optional additional data was cut
  }
  Message any = ask("many.dev.local", rrtype::kAny);  // 8 A + 8 AAAA + 8 SRV
  EXPECT_TRUE(any.flags & flag::kTc);
  EXPECT_TRUE(any.answers.empty());
  EXPECT_LE(last_size_, 512u);
  Message edns = ask("many.dev.local", rrtype::kAny, 1232);
  EXPECT_FALSE(edns.flags & flag::kTc);
  EXPECT_EQ(edns.answers.size(), 24u);
  EXPECT_EQ(edns.additional.back().type, rrtype::kOpt);
  Message tcp = ask("many.dev.local", rrtype::kAny, 0, Resolver::Action::kRespond, false);
  EXPECT_FALSE(tcp.flags & flag::kTc);
  EXPECT_EQ(tcp.answers.size(), 24u);
}

TEST_F(DnsResolverTest, MalformedQueriesGetFormErrOrNothing) {
  resolver_.refresh(scratch_);
  std::vector<uint8_t> out(512);
  size_t size = 0;
  std::vector<uint8_t> short_packet = {1, 2, 3};
  EXPECT_EQ(resolver_.handle(scratch_, short_packet, true, out, &size), Resolver::Action::kDrop);
  std::vector<uint8_t> no_question = {0xAB, 0xCD, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  ASSERT_EQ(resolver_.handle(scratch_, no_question, true, out, &size), Resolver::Action::kRespond);
  auto m = decodeMessage({out.data(), size});
  ASSERT_TRUE(m);
  EXPECT_EQ(m->id, 0xABCD);
  EXPECT_EQ(m->rcode(), rcode::kFormErr);
}

TEST_F(DnsResolverTest, AnswersFollowTheSource) {
  EXPECT_EQ(ask("backend.dev.local", rrtype::kA).answers.size(), 2u);
  ZoneSnapshot next = devLocal();
  next.zones[0].services[0].instances.resize(1);
  source_.set(next);
  EXPECT_EQ(ask("backend.dev.local", rrtype::kA).answers.size(), 1u);
  next.zones[0].services[0].instances.clear();
  source_.set(next);
  EXPECT_EQ(ask("backend.dev.local", rrtype::kA).rcode(), rcode::kNxDomain);
}

TEST_F(DnsResolverTest, RelayRewritesTheIdAndTruncates) {
  auto q = buildQuery(0x1111, "example.com", rrtype::kA);
  Query query;
  ASSERT_EQ(parseQuery(*q, query), ParseOutcome::kOk);
  std::vector<uint8_t> upstream(700, 0);
  {
    ResponseWriter w(upstream, upstream.size());
    w.header(0x2222, flag::kQr | flag::kRa);
    w.question(*toWire("example.com"), rrtype::kA, kClassIn);
    for (int i = 0; i < 40; ++i) w.a(Section::kAnswer, *toWire("example.com"), 5, {1, 1, 1, static_cast<uint8_t>(i)});
    upstream.resize(w.finish());
  }
  ASSERT_GT(upstream.size(), 512u);
  std::vector<uint8_t> out(kMaxTcpMessage);
  size_t n = Resolver::relay(query, upstream, out, 512);
  auto m = decodeMessage({out.data(), n});
  ASSERT_TRUE(m);
  EXPECT_EQ(m->id, 0x1111);
  EXPECT_TRUE(m->flags & flag::kTc);
  n = Resolver::relay(query, upstream, out, kMaxTcpMessage);
  m = decodeMessage({out.data(), n});
  EXPECT_EQ(m->id, 0x1111);
  EXPECT_EQ(m->answers.size(), 40u);
  n = Resolver::servfail(query, out, 512);
  m = decodeMessage({out.data(), n});
  EXPECT_EQ(m->rcode(), rcode::kServFail);
  EXPECT_EQ(m->questions[0].name, "example.com.");
}

}  // namespace
}  // namespace berth::dns
