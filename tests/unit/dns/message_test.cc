#include "dns/message.h"

#include <gtest/gtest.h>

#include <random>
#include <vector>

namespace berth::dns {
namespace {

std::vector<uint8_t> bytes(std::initializer_list<int> v) {
  std::vector<uint8_t> out;
  for (int b : v) out.push_back(static_cast<uint8_t>(b));
  return out;
}

// dig +noedns www.Example.com A, id 0x1234, RD.
std::vector<uint8_t> goldenQuery() {
  return bytes({0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0,  //
                3, 'w', 'w', 'w', 7, 'E', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0, 0, 1, 0, 1});
}

TEST(DnsMessage, ParsesAGoldenQuery) {
  Query q;
  ASSERT_EQ(parseQuery(goldenQuery(), q), ParseOutcome::kOk);
  EXPECT_EQ(q.id, 0x1234);
  EXPECT_EQ(q.flags & flag::kRd, flag::kRd);
  EXPECT_EQ(q.qtype, rrtype::kA);
  EXPECT_EQ(q.qclass, kClassIn);
  EXPECT_EQ(toDotted(q.name.view()), "www.Example.com.");
  EXPECT_EQ(toDotted(q.lower_name.view()), "www.example.com.");
  EXPECT_FALSE(q.edns);
  EXPECT_EQ(q.udpLimit(), 512u);
}

TEST(DnsMessage, ParsesEdns) {
  auto query = buildQuery(7, "a.b", rrtype::kSrv, 4096);
  ASSERT_TRUE(query);
  Query q;
  ASSERT_EQ(parseQuery(*query, q), ParseOutcome::kOk);
  EXPECT_TRUE(q.edns);
  EXPECT_EQ(q.edns_udp_size, 4096);
  EXPECT_EQ(q.udpLimit(), kEdnsUdpSize);  // capped to ours
  // A tiny advertised size counts as 512.
  (*query)[query->size() - 11 + 3] = 0;
  (*query)[query->size() - 11 + 4] = 100;
  ASSERT_EQ(parseQuery(*query, q), ParseOutcome::kOk);
  EXPECT_EQ(q.udpLimit(), 512u);
}

TEST(DnsMessage, RejectsBadEdns) {
  auto query = buildQuery(7, "a.b", rrtype::kA, 1232);
  ASSERT_TRUE(query);
  auto two = *query;
  two[11] = 2;  // arcount 2, a second OPT
  two.insert(two.end(), query->end() - 11, query->end());
  Query q;
  EXPECT_EQ(parseQuery(two, q), ParseOutcome::kFormErr);
  auto v1 = *query;
  v1[v1.size() - 11 + 6] = 1;  // version 1
  EXPECT_EQ(parseQuery(v1, q), ParseOutcome::kBadVers);
}

TEST(DnsMessage, DropsShortPacketsAndResponses) {
  Query q;
  auto g = goldenQuery();
  for (size_t n = 0; n < kHeaderSize; ++n) EXPECT_EQ(parseQuery({g.data(), n}, q), ParseOutcome::kDrop);
  g[2] |= 0x80;
  EXPECT_EQ(parseQuery(g, q), ParseOutcome::kDrop);
}

TEST(DnsMessage, TruncatedQuestionsAreFormErr) {
  auto g = goldenQuery();
  Query q;
  for (size_t n = kHeaderSize; n < g.size(); ++n) EXPECT_EQ(parseQuery({g.data(), n}, q), ParseOutcome::kFormErr) << n;
}

TEST(DnsMessage, WrongQuestionCountIsFormErr) {
  auto g = goldenQuery();
  g[5] = 0;
  Query q;
  EXPECT_EQ(parseQuery(g, q), ParseOutcome::kFormErr);
  g[5] = 2;
  EXPECT_EQ(parseQuery(g, q), ParseOutcome::kFormErr);
}

TEST(DnsMessage, OtherOpcodesAreNotImp) {
  auto g = goldenQuery();
  g[2] |= 0x28;  // opcode 5 (UPDATE)
  Query q;
  bool has_question = false;
  EXPECT_EQ(parseQuery(g, q, &has_question), ParseOutcome::kNotImp);
  EXPECT_TRUE(has_question);
}

TEST(DnsMessage, CompressionPointerLoopsAreRejected) {
  Query q;
  // The name is a pointer to itself.
  auto self = bytes({0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xC0, 12, 0, 1, 0, 1});
  EXPECT_EQ(parseQuery(self, q), ParseOutcome::kFormErr);
  // A forward pointer (to a label that points back to it).
  auto forward = bytes({0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xC0, 14, 1, 'a', 0xC0, 12, 0, 1, 0, 1});
  EXPECT_EQ(parseQuery(forward, q), ParseOutcome::kFormErr);
  // Out of bounds.
  auto oob = bytes({0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 0, 1, 0, 1});
  EXPECT_EQ(parseQuery(oob, q), ParseOutcome::kFormErr);
  // A long chain of backward pointers (in an answer's rdata), reached from
  // the OPT's owner name, stops at the hop limit.
  std::vector<uint8_t> chain = bytes({0, 1, 0, 0, 0, 1, 0, 1, 0, 0, 0, 1, 1, 'a', 0, 0, 1, 0, 1,  //
                                      0, 0, 99, 0, 1, 0, 0, 0, 0, 0, 0});
  size_t rdlength_at = chain.size() - 2;
  size_t rdata_at = chain.size();
  chain.insert(chain.end(), {1, 'b', 0xC0, 12});
  size_t last = rdata_at;
  for (int i = 0; i < 200; ++i) {
    size_t at = chain.size();
    chain.insert(chain.end(), {static_cast<uint8_t>(0xC0 | last >> 8), static_cast<uint8_t>(last)});
    last = at;
  }
  size_t rdlength = chain.size() - rdata_at;
  chain[rdlength_at] = static_cast<uint8_t>(rdlength >> 8);
  chain[rdlength_at + 1] = static_cast<uint8_t>(rdlength);
  chain.insert(chain.end(), {static_cast<uint8_t>(0xC0 | last >> 8), static_cast<uint8_t>(last), 0, 41, 0x10, 0, 0, 0, 0, 0, 0, 0});
  EXPECT_EQ(parseQuery(chain, q), ParseOutcome::kFormErr);
  EXPECT_FALSE(decodeMessage(chain));
}

TEST(DnsMessage, FollowsBackwardPointers) {
  // Question "a" then an additional OPT whose name is a pointer to the
  // question's root label: legal, owned by the root.
  auto p = bytes({0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 1, 'a', 0, 0, 1, 0, 1,  //
                  0xC0, 14, 0, 41, 0x04, 0xD0, 0, 0, 0, 0, 0, 0});
  Query q;
  EXPECT_EQ(parseQuery(p, q), ParseOutcome::kOk);
  EXPECT_TRUE(q.edns);
  EXPECT_EQ(q.edns_udp_size, 1232);
}

TEST(DnsMessage, RejectsOverlongNames) {
  // 5 labels of 63 bytes: 320 bytes of wire name.
  std::vector<uint8_t> p = bytes({0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0});
  for (int l = 0; l < 5; ++l) {
    p.push_back(63);
    p.insert(p.end(), 63, 'x');
  }
  p.insert(p.end(), {0, 0, 1, 0, 1});
  Query q;
  EXPECT_EQ(parseQuery(p, q), ParseOutcome::kFormErr);
  EXPECT_FALSE(toWire(std::string(64, 'a') + ".com"));
  EXPECT_FALSE(toWire("a..b"));
}

TEST(DnsMessage, GarbageNeverCrashes) {
  std::mt19937 rng(42);
  Query q;
  for (int i = 0; i < 20000; ++i) {
    std::vector<uint8_t> p(rng() % 600);
    for (auto& b : p) b = static_cast<uint8_t>(rng());
    if (p.size() > 3) p[2] &= 0x7F;
    (void)parseQuery(p, q);
    (void)decodeMessage(p);
  }
}

TEST(DnsMessage, WriterCompressesNames) {
  std::vector<uint8_t> buf(512);
  ResponseWriter w(buf, buf.size());
  w.header(1, flag::kQr | flag::kAa);
  auto name = *toWire("backend.dev.local");
  auto target = *toWire("ns1.dev.local");
  ASSERT_TRUE(w.question(name, rrtype::kA, kClassIn));
  ASSERT_TRUE(w.a(Section::kAnswer, name, 60, {10, 0, 0, 1}));
  ASSERT_TRUE(w.ns(Section::kAuthority, *toWire("dev.local"), 60, target));
  size_t n = w.finish();
  // Header 12 + question 19+4; A: pointer 2 + 10 + 4; NS: pointer 2 + 10 + "ns1" 4 + pointer 2.
  EXPECT_EQ(n, 12u + 23 + 16 + 18);
  auto m = decodeMessage({buf.data(), n});
  ASSERT_TRUE(m);
  ASSERT_EQ(m->answers.size(), 1u);
  EXPECT_EQ(m->answers[0].name, "backend.dev.local.");
  EXPECT_EQ(m->answers[0].text, "10.0.0.1");
  ASSERT_EQ(m->authority.size(), 1u);
  EXPECT_EQ(m->authority[0].name, "dev.local.");
  EXPECT_EQ(m->authority[0].text, "ns1.dev.local.");
}

TEST(DnsMessage, CompressionIsCaseInsensitiveAndKeepsTheQuestionsCase) {
  std::vector<uint8_t> buf(512);
  ResponseWriter w(buf, buf.size());
  w.header(1, flag::kQr);
  std::string asked = "\7BaCkEnD\3dev\5local";
  asked.push_back('\0');
  ASSERT_TRUE(w.question(asked, rrtype::kA, kClassIn));
  ASSERT_TRUE(w.a(Section::kAnswer, *toWire("backend.dev.local"), 60, {1, 2, 3, 4}));
  size_t n = w.finish();
  EXPECT_EQ(n, 12u + 23 + 16);
  auto m = decodeMessage({buf.data(), n});
  ASSERT_TRUE(m);
  EXPECT_EQ(m->questions[0].name, "BaCkEnD.dev.local.");
}

// Found by dns_message_fuzz: "x.dev.local.local" compressed its last label
// against the bytes after the first "local", which were not written yet
// (zeroes in a fresh buffer look like the root label).
TEST(DnsMessage, RegressionCompressionNeverMatchesUnwrittenBytes) {
  std::vector<uint8_t> buf(512, 0);
  ResponseWriter w(buf, buf.size());
  w.header(4, flag::kQr);
  ASSERT_TRUE(w.question(*toWire("bac.dev.local.local"), rrtype::kSrv, kClassIn));
  size_t n = w.finish();
  auto m = decodeMessage({buf.data(), n});
  ASSERT_TRUE(m);
  EXPECT_EQ(m->questions[0].name, "bac.dev.local.local.");
}

TEST(DnsMessage, WriterStopsAtTheLimitAndRollsBack) {
  std::vector<uint8_t> buf(512);
  ResponseWriter w(buf, 60);
  w.header(1, flag::kQr);
  auto name = *toWire("backend.dev.local");
  ASSERT_TRUE(w.question(name, rrtype::kA, kClassIn));  // 35 bytes
  ASSERT_TRUE(w.a(Section::kAnswer, name, 60, {1, 1, 1, 1}));  // 51
  EXPECT_FALSE(w.a(Section::kAnswer, name, 60, {2, 2, 2, 2}));  // would be 67
  size_t n = w.finish();
  EXPECT_EQ(n, 51u);
  auto m = decodeMessage({buf.data(), n});
  ASSERT_TRUE(m);
  EXPECT_EQ(m->answers.size(), 1u);
}

TEST(DnsMessage, SrvAndSoaRoundTrip) {
  std::vector<uint8_t> buf(512);
  ResponseWriter w(buf, buf.size());
  w.header(9, flag::kQr);
  auto zone = *toWire("dev.local");
  auto svc = *toWire("backend.dev.local");
  auto target = *toWire("i-1.backend.dev.local");
  ASSERT_TRUE(w.srv(Section::kAnswer, svc, 30, 1, 1, 8000, target));
  ASSERT_TRUE(w.soa(Section::kAuthority, zone, 15,
                    {*toWire("ns1.dev.local"), *toWire("hostmaster.dev.local"), 3, 7200, 900, 1209600, 86400}));
  ASSERT_TRUE(w.opt(1232));
  size_t n = w.finish();
  auto m = decodeMessage({buf.data(), n});
  ASSERT_TRUE(m);
  EXPECT_EQ(m->answers[0].text, "1 1 8000 i-1.backend.dev.local.");
  EXPECT_EQ(m->authority[0].text, "ns1.dev.local. hostmaster.dev.local. 3 7200 900 1209600 86400");
  ASSERT_EQ(m->additional.size(), 1u);
  EXPECT_EQ(m->additional[0].type, rrtype::kOpt);
  EXPECT_EQ(m->additional[0].klass, 1232);
}

TEST(DnsMessage, DottedNamesEscape) {
  std::string wire = "\3a.b\0";
  wire.push_back('\0');
  EXPECT_EQ(toDotted(std::string_view("\3a.b\0", 5)), "a\\.b.");
  EXPECT_EQ(toDotted(std::string_view("\0", 1)), ".");
}

}  // namespace
}  // namespace berth::dns
