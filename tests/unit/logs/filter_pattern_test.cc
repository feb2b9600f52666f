// CloudWatch Logs filter patterns: AWS's documented examples for terms,
// regexes, JSON and space-delimited patterns, the errors AWS words, and the
// requiredLiteral() invariant the log store's block scan relies on.
#include "logs/filter_pattern.h"

#include <atomic>
#include <chrono>
#include <random>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace berth::logs {
namespace {

FilterPattern compile(std::string_view text) {
  auto p = FilterPattern::parse(text);
  EXPECT_TRUE(p) << text << ": " << p.error().message;
  return p ? *p : FilterPattern();
}

bool match(std::string_view pattern, std::string_view message) { return compile(pattern).matches(message); }

// The error message parse() gives, checking the error's shape.
std::string parseError(std::string_view text) {
  auto p = FilterPattern::parse(text);
  if (p) {
    ADD_FAILURE() << "accepted: " << text;
    return {};
  }
  EXPECT_EQ(p.error().code, ErrorCode::kInvalidArgument) << text;
  EXPECT_EQ(p.error().aws_type, "InvalidParameterException") << text;
  EXPECT_FALSE(p.error().message.empty()) << text;
  return p.error().message;
}

// ---- Terms ---------------------------------------------------------------------

TEST(FilterPatternTest, EmptyPatternMatchesEverything) {
  for (std::string_view text : {"", "   ", "\t \n"}) {
    FilterPattern p = compile(text);
    EXPECT_EQ(p.kind(), FilterPattern::Kind::kMatchAll);
    EXPECT_TRUE(p.matchesEverything());
    EXPECT_TRUE(p.matches(""));
    EXPECT_TRUE(p.matches("anything at all"));
    EXPECT_EQ(p.requiredLiteral(), "");
  }
  FilterPattern defaulted;
  EXPECT_TRUE(defaulted.matches("x"));
  EXPECT_EQ(defaulted.kind(), FilterPattern::Kind::kMatchAll);
}

TEST(FilterPatternTest, SingleTermIsACaseSensitiveSubstring) {
  EXPECT_TRUE(match("ERROR", "[ERROR] A fatal exception has occurred"));
  EXPECT_TRUE(match("ERROR", "Exiting with ERRORCODE: -1"));
  EXPECT_FALSE(match("ERROR", "error: lower case"));
  EXPECT_FALSE(match("ERROR", ""));
  EXPECT_EQ(compile("ERROR").kind(), FilterPattern::Kind::kTerms);
  EXPECT_FALSE(compile("ERROR").matchesEverything());
}

TEST(FilterPatternTest, AllTermsMustAppear) {
  EXPECT_TRUE(match("ERROR Exception", "[ERROR] Caught IllegalArgumentException"));
  EXPECT_TRUE(match("ERROR Exception", "[ERROR] Unhandled Exception"));
  EXPECT_FALSE(match("ERROR Exception", "[ERROR] Unhandled"));
  EXPECT_TRUE(match("Failed to process the request", "[WARN] the request: Failed to process"));
}

TEST(FilterPatternTest, QuotedPhrases) {
  EXPECT_TRUE(match("\"ERROR 500\"", "got ERROR 500 from upstream"));
  EXPECT_FALSE(match("\"ERROR 500\"", "ERROR  500"));
  EXPECT_TRUE(match("\"Failed to process the request\"", "[WARN] Failed to process the request"));
  EXPECT_FALSE(match("\"Failed to process the request\"", "[WARN] the request: Failed to process"));
  // Punctuation needs quotes; \" and \\ escape inside them.
  EXPECT_TRUE(match("\"user@example.com\" \"a:b\"", "login user@example.com a:b"));
  EXPECT_TRUE(match(R"("say \"hi\"")", R"(they say "hi" twice)"));
  EXPECT_TRUE(match(R"("C:\\temp")", R"(path C:\temp)"));
  EXPECT_TRUE(match(R"("C:\temp")", R"(path C:\temp)"));  // other backslashes stay
  // An empty quoted term is in every message.
  EXPECT_TRUE(match("\"\"", "x"));
}

TEST(FilterPatternTest, ExcludedTerms) {
  EXPECT_TRUE(match("ERROR -WARN", "ERROR message"));
  EXPECT_FALSE(match("ERROR -WARN", "ERROR WARN message"));
  EXPECT_FALSE(match("ERROR -WARN", "WARN message"));
  EXPECT_TRUE(match("-DEBUG", "INFO started"));
  EXPECT_FALSE(match("-DEBUG", "DEBUG details"));
  // AWS's example writes the minus apart from the quoted term.
  EXPECT_TRUE(match("\"ERROR\" - \"Exiting\"", "[ERROR] A fatal exception has occurred"));
  EXPECT_FALSE(match("\"ERROR\" - \"Exiting\"", "Exiting with ERRORCODE: -1"));
  EXPECT_FALSE(match("-\"\"", "anything"));
}

TEST(FilterPatternTest, QuestionMarkTermsAreAlternatives) {
  // AWS's three events and four patterns.
  const std::vector<std::string> events = {"ERROR WARN message", "ERROR message", "WARN message"};
  auto matching = [&](std::string_view pattern) {
    std::vector<int> out;
    FilterPattern p = compile(pattern);
    for (size_t i = 0; i < events.size(); ++i)
      if (p.matches(events[i])) out.push_back(static_cast<int>(i) + 1);
    return out;
  };
  EXPECT_EQ(matching("ERROR"), (std::vector<int>{1, 2}));
  EXPECT_EQ(matching("?ERROR ?WARN"), (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(matching("ERROR WARN"), (std::vector<int>{1}));
  EXPECT_EQ(matching("ERROR -WARN"), (std::vector<int>{2}));
}

TEST(FilterPatternTest, MixedTermsGroupAtEachQuestionMark) {
  // As CDK's anyTermGroup(["ERROR", "MainThread"], ["WARN", "Deadlock"]) renders it.
  FilterPattern p = compile(R"(?"ERROR" "MainThread" ?"WARN" "Deadlock")");
  EXPECT_TRUE(p.matches("ERROR in MainThread"));
  EXPECT_TRUE(p.matches("WARN Deadlock detected"));
  EXPECT_FALSE(p.matches("ERROR Deadlock"));
  EXPECT_FALSE(p.matches("WARN in MainThread"));
  // Plain terms before the first ? form the first group.
  FilterPattern q = compile("ERROR ?WARN -retry");
  EXPECT_TRUE(q.matches("ERROR retry"));
  EXPECT_TRUE(q.matches("WARN once"));
  EXPECT_FALSE(q.matches("WARN retry"));
  EXPECT_FALSE(q.matches("INFO"));
}

TEST(FilterPatternTest, TermErrorsUseAwsWording) {
  EXPECT_EQ(parseError("user@example.com"), "Invalid character(s) in term '@'");
  EXPECT_EQ(parseError("?Status: timeout"), "Invalid character(s) in term ':'");
  EXPECT_EQ(parseError("level\\\":\\\"error"), "Invalid character(s) in term '\\'");
  EXPECT_EQ(parseError("ERROR-500"), "Invalid character(s) in term '-'");
  EXPECT_EQ(parseError("ERROR ?"), "Invalid character(s) in term '?'");
  EXPECT_EQ(parseError("caf\xc3\xa9"), "Invalid character(s) in term '\\xc3\\xa9'");
  EXPECT_NE(parseError("\"unterminated").find("Invalid filter pattern"), std::string::npos);
  EXPECT_NE(parseError("ERROR %foo%").find("Invalid character(s) in term '%'"), std::string::npos);
}

TEST(FilterPatternTest, PatternLengthIsLimited) {
  std::string longest(kMaxFilterPatternBytes, 'a');
  EXPECT_TRUE(FilterPattern::parse(longest));
  EXPECT_NE(parseError(longest + "a").find("less than or equal to 1024"), std::string::npos);
}

TEST(FilterPatternTest, RequiredLiteral) {
  EXPECT_EQ(compile("ERROR").requiredLiteral(), "ERROR");
  EXPECT_EQ(compile("ERROR \"disk full\" -timeout").requiredLiteral(), "disk full");
  EXPECT_EQ(compile("ERROR -\"a much longer excluded term\"").requiredLiteral(), "ERROR");
  EXPECT_EQ(compile("?ERROR").requiredLiteral(), "ERROR");  // one group
  EXPECT_EQ(compile("?ERROR ?WARN").requiredLiteral(), "");
  EXPECT_EQ(compile("ERROR ?WARN").requiredLiteral(), "");
  EXPECT_EQ(compile("-DEBUG").requiredLiteral(), "");
  EXPECT_EQ(compile("%ERROR%").requiredLiteral(), "");
  EXPECT_EQ(compile("{ $.level = \"ERROR\" }").requiredLiteral(), "");
  EXPECT_EQ(compile("[w1=ERROR, w2]").requiredLiteral(), "");
}

// ---- Regular expressions ----------------------------------------------------------

TEST(FilterPatternTest, RegexAwsExamples) {
  EXPECT_EQ(compile("%AUTHORIZED%").kind(), FilterPattern::Kind::kRegex);
  EXPECT_TRUE(match("%AUTHORIZED%", "[ERROR 401] UNAUTHORIZED REQUEST"));
  EXPECT_TRUE(match("%AUTHORIZED%", "[SUCCESS 200] AUTHORIZED REQUEST"));
  EXPECT_TRUE(match("%^[hc]at%", "hat trick"));
  EXPECT_TRUE(match("%^[hc]at%", "cat"));
  EXPECT_FALSE(match("%^[hc]at%", "a cat"));
  EXPECT_TRUE(match("%[hc]at$%", "a hat"));
  EXPECT_FALSE(match("%[hc]at$%", "hats"));
  EXPECT_TRUE(match("%colou?r%", "color"));
  EXPECT_TRUE(match("%colou?r%", "colour"));
  EXPECT_FALSE(match("%colou?r%", "colouur"));
  EXPECT_TRUE(match("%[abcx-z]%", "y"));
  EXPECT_FALSE(match("%[abcx-z]%", "w"));
  EXPECT_TRUE(match("%a{3,5}%", "baaab"));
  EXPECT_FALSE(match("%ba{3,5}b%", "baaaaaab"));
  EXPECT_TRUE(match("%gray|grey%", "grey"));
  EXPECT_TRUE(match("%10\\.10\\.0\\.1%", "from 10.10.0.1:80"));
  EXPECT_FALSE(match("%10\\.10\\.0\\.1%", "from 10x10.0.1"));
  EXPECT_TRUE(match("%\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}%", "client 192.168.1.20 connected"));
  EXPECT_FALSE(match("%\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}%", "client 192.168.1 connected"));
  EXPECT_TRUE(match("%[Ee]rror|[Ff]ail%", "request failed"));
  EXPECT_FALSE(match("%[Ee]rror|[Ff]ail%", "request FAILED"));
}

TEST(FilterPatternTest, RegexOperators) {
  EXPECT_TRUE(match("%a.c%", "abc"));
  EXPECT_FALSE(match("%a.c%", "a\nc"));  // . stops at newlines
  EXPECT_TRUE(match("%[^0-9]%", "12a"));
  EXPECT_FALSE(match("%^[^0-9]+$%", "12a"));
  EXPECT_TRUE(match("%^\\w+=\\d+$%", "retries=3"));
  EXPECT_TRUE(match("%a\\sb%", "a b"));
  EXPECT_TRUE(match("%\\S+@\\S+%", "mail bob@example.com"));
  EXPECT_TRUE(match("%ab+c%", "abbbc"));
  EXPECT_FALSE(match("%ab+c%", "ac"));
  EXPECT_TRUE(match("%ab*c%", "ac"));
  EXPECT_TRUE(match("%^a{2}$%", "aa"));
  EXPECT_FALSE(match("%^a{2}$%", "aaa"));
  EXPECT_TRUE(match("%^a{2,}$%", "aaaaa"));
  EXPECT_TRUE(match("%x{0}y%", "y"));
  EXPECT_TRUE(match("%^a+?$%", "aaa"));  // lazy quantifiers search the same
  EXPECT_TRUE(match("%[\\d_]%", "_"));
  EXPECT_TRUE(match("%\\[x\\]%", "[x]"));
  EXPECT_TRUE(match("%^$%", ""));
  EXPECT_FALSE(match("%^$%", "x"));
  EXPECT_TRUE(match("%a|%", "zzz"));  // an empty alternative matches anywhere
  EXPECT_TRUE(match("%;,:/#=@-%", "x ;,:/#=@- y"));
  // The scan that skips bytes no match can start with must still see the end
  // and alternatives anchored differently.
  EXPECT_TRUE(match("%b*$%", "aaa"));
  EXPECT_TRUE(match("%x$%", "aaax"));
  EXPECT_TRUE(match("%a?b%", "xxxb"));
  EXPECT_TRUE(match("%^a|b%", "cccb"));
  EXPECT_FALSE(match("%^a|^b%", "cab"));
  EXPECT_TRUE(match("%\\d+ms%", "served in 125ms"));
}

TEST(FilterPatternTest, RegexErrors) {
  EXPECT_NE(parseError("%something!%").find("'!' is not supported"), std::string::npos);
  EXPECT_NE(parseError("%(ab)+%").find("'(' is not supported"), std::string::npos);
  EXPECT_NE(parseError("%ERROR 401%").find("' ' is not supported"), std::string::npos);
  EXPECT_NE(parseError("%caf\xc3\xa9%").find("'\\xc3' is not supported"), std::string::npos);
  EXPECT_EQ(parseError("%unclosed"), "If a filter pattern starts with '%' it must end with '%'");
  EXPECT_EQ(parseError("%"), "If a filter pattern starts with '%' it must end with '%'");
  parseError("%%");
  parseError("%[abc%");
  parseError("%[z-a]%");
  parseError("%a{300}%");
  parseError("%a{3,2}%");
  parseError("%a{x}%");
  parseError("%a{2%");
  parseError("%*a%");
  parseError("%a|+%");
  parseError("%^*%");
  parseError("%a**%");
  parseError("%\\q%");
  parseError("%abc\\%");
  // Too many states once {m,n} is expanded.
  parseError("%a{255}b{255}c{255}d{255}e{255}%");
}

TEST(FilterPatternTest, RegexHasNoCatastrophicBacktracking) {
  std::string message(200000, 'a');
  auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(match("%a*a*a*a*a*a*a*a*a*a*b%", message));
  EXPECT_FALSE(match("%^[a-z]*[a-z]*[a-z]*[a-z]*$x%", message));
  EXPECT_TRUE(match("%a{10,20}$%", message));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

// Our NFA against std::regex (ECMAScript) on the operators both read alike.
TEST(FilterPatternTest, RegexAgreesWithStdRegex) {
  std::mt19937 rng(20240611);
  const std::vector<std::string> atoms = {"a", "b", "[ab]", "[^a]", "\\d", "1"};
  const std::vector<std::string> quantifiers = {"", "", "*", "+", "?", "{2}", "{0,2}", "{1,}"};
  auto pick = [&rng](const std::vector<std::string>& from) { return from[rng() % from.size()]; };
  for (int round = 0; round < 400; ++round) {
    std::string body;
    if (rng() % 4 == 0) body += '^';
    int atoms_count = 1 + static_cast<int>(rng() % 4);
    for (int k = 0; k < atoms_count; ++k) {
      body += pick(atoms) + pick(quantifiers);
      if (rng() % 8 == 0) body += '|';
    }
    if (body.back() == '|') body += 'a';
    if (rng() % 4 == 0) body += '$';
    FilterPattern p = compile("%" + body + "%");
    std::regex reference(body, std::regex::ECMAScript);
    for (int m = 0; m < 30; ++m) {
      std::string message;
      int len = static_cast<int>(rng() % 7);
      for (int k = 0; k < len; ++k) message += "ab1"[rng() % 3];
      EXPECT_EQ(p.matches(message), std::regex_search(message, reference)) << "%" << body << "% on '" << message << "'";
    }
  }
}

// ---- JSON --------------------------------------------------------------------------

constexpr std::string_view kTrailEvent = R"({
  "eventType": "UpdateTrail",
  "sourceIPAddress": "111.111.111.111",
  "arrayKey": ["value", "another value"],
  "objectList": [{"name": "a", "id": 1}, {"name": "b", "id": 2}],
  "SomeObject": null,
  "ThisFlag": true
})";

TEST(FilterPatternTest, JsonAwsExamples) {
  EXPECT_EQ(compile("{ $.eventType = \"UpdateTrail\" }").kind(), FilterPattern::Kind::kJson);
  EXPECT_TRUE(match("{ $.eventType = \"UpdateTrail\" }", kTrailEvent));
  EXPECT_TRUE(match("{ $.sourceIPAddress != 123.123.* }", kTrailEvent));
  EXPECT_FALSE(match("{ $.sourceIPAddress != 111.111.* }", kTrailEvent));
  EXPECT_TRUE(match("{ $.arrayKey[0] = \"value\" }", kTrailEvent));
  EXPECT_TRUE(match("{ $.objectList[1].id = 2 }", kTrailEvent));
  EXPECT_FALSE(match("{ $.objectList[2].id = 2 }", kTrailEvent));
  EXPECT_FALSE(match("{ $.eventType[0] = \"UpdateTrail\" }", kTrailEvent));  // not an array
  EXPECT_TRUE(match("{ $.SomeObject IS NULL }", kTrailEvent));
  EXPECT_FALSE(match("{ $.eventType IS NULL }", kTrailEvent));
  EXPECT_FALSE(match("{ $.Missing IS NULL }", kTrailEvent));
  EXPECT_TRUE(match("{ $.SomeOtherObject NOT EXISTS }", kTrailEvent));
  EXPECT_FALSE(match("{ $.SomeObject NOT EXISTS }", kTrailEvent));
  EXPECT_TRUE(match("{ $.objectList[0].name.first NOT EXISTS }", kTrailEvent));
  EXPECT_TRUE(match("{ $.ThisFlag IS TRUE }", kTrailEvent));
  EXPECT_FALSE(match("{ $.ThisFlag IS FALSE }", kTrailEvent));
  EXPECT_FALSE(match("{ $.eventType IS TRUE }", kTrailEvent));
  EXPECT_TRUE(match("{ $.ThisFlag = true }", kTrailEvent));
}

TEST(FilterPatternTest, JsonOrExamples) {
  EXPECT_TRUE(match("{$.foo = bar}", R"({"foo": "bar"})"));
  EXPECT_FALSE(match("{$.foo = baz }", R"({"foo": "bar"})"));
  EXPECT_TRUE(match("{$.foo = bar || $.foo = baz }", R"({"foo": "bar"})"));
  EXPECT_TRUE(match("{$.foo = bar || $.foo = baz }", R"({"foo": "baz"})"));
}

TEST(FilterPatternTest, JsonCompoundConditions) {
  constexpr std::string_view kUsers = R"({
    "user": {"id": 1, "email": "John.Stiles@example.com"},
    "users": [{"id": 2, "email": "John.Doe@example.com"}, {"id": 3, "email": "Jane.Doe@example.com"}],
    "actions": ["GET", "PUT", "DELETE"],
    "coordinates": [[0, 1, 2], [4, 5, 6], [7, 8, 9]]
  })";
  EXPECT_TRUE(match(R"({ ($.user.id = 1) && ($.users[0].email = "John.Doe@example.com") })", kUsers));
  EXPECT_FALSE(match(R"({ ($.user.id = 2 && $.users[0].email = "nonmatch") || $.actions[2] = "GET" })", kUsers));
  EXPECT_TRUE(match(
      R"({ $.user.email = "John.Stiles@example.com" || $.coordinates[0][1] = nonmatch && $.actions[2] = nomatch })",
      kUsers));
  EXPECT_FALSE(match(
      R"({ ($.user.email = "John.Stiles@example.com" || $.coordinates[0][1] = nonmatch) && $.actions[2] = nomatch })",
      kUsers));
  EXPECT_TRUE(match("{ $.coordinates[2][0] = 7 }", kUsers));
  EXPECT_TRUE(match("{ ((($.user.id = 1))) }", kUsers));
}

TEST(FilterPatternTest, JsonSelectorMustNameAValue) {
  // Both = and != fail on an array or object, and on a missing field.
  EXPECT_FALSE(match("{ $.users = 1 }", R"({"users": [1, 2, 3]})"));
  EXPECT_FALSE(match("{ $.users != 1 }", R"({"users": [1, 2, 3]})"));
  EXPECT_FALSE(match("{ $.users != 1 }", R"({"user": {"id": 1}})"));
  EXPECT_FALSE(match("{ $.missing != 1 }", R"({"a": 1})"));
  EXPECT_FALSE(match("{ $.n != 1 }", R"({"n": null})"));
}

TEST(FilterPatternTest, JsonNumericComparisons) {
  constexpr std::string_view kEvent =
      R"({"latency": 750, "numbers": [0.005, 9999], "errorCode": 400, "processes": [0,0,0,0,{"averageRuntime": 55.5}],
          "big": 18446744073709551615, "text": "250"})";
  EXPECT_TRUE(match("{ $.latency >= 500 }", kEvent));
  EXPECT_FALSE(match("{ $.latency < 500 }", kEvent));
  EXPECT_TRUE(match("{ $.numbers[1] < 10e3 }", kEvent));
  EXPECT_TRUE(match("{ $.numbers[0] < 10e-3 }", kEvent));
  EXPECT_TRUE(match("{ $.processes[4].averageRuntime <= 55.5 }", kEvent));
  EXPECT_FALSE(match("{ $.processes[4].averageRuntime < 55.5 }", kEvent));
  EXPECT_TRUE(match("{ $.errorCode = 400 }", kEvent));
  EXPECT_TRUE(match("{ $.errorCode = 400.0 }", kEvent));
  EXPECT_TRUE(match("{ $.errorCode != 500 }", kEvent));
  EXPECT_TRUE(match("{ $.latency > +700 }", kEvent));
  EXPECT_TRUE(match("{ $.latency > -1 }", kEvent));
  EXPECT_TRUE(match("{ $.latency > .5 }", kEvent));
  EXPECT_TRUE(match("{ $.big > 1e19 }", kEvent));
  // A string that reads as a number compares as one; one that doesn't only satisfies !=.
  EXPECT_TRUE(match("{ $.text > 100 }", kEvent));
  EXPECT_FALSE(match("{ $.eventType > 100 }", R"({"eventType": "x"})"));
  EXPECT_TRUE(match("{ $.eventType != 100 }", R"({"eventType": "x"})"));
  // Numbers match string patterns through their text.
  EXPECT_TRUE(match("{ $.errorCode = 4* }", kEvent));
  EXPECT_TRUE(match("{ $.errorCode = \"400\" }", kEvent));
}

TEST(FilterPatternTest, JsonStringWildcards) {
  EXPECT_TRUE(match("{ $.name = *Event }", R"({"name": "PutEvent"})"));
  EXPECT_TRUE(match("{ $.name = Event* }", R"({"name": "EventName"})"));
  EXPECT_FALSE(match("{ $.name = Event* }", R"({"name": "PutEvent"})"));
  EXPECT_TRUE(match("{ $.name = *vent* }", R"({"name": "PutEvents"})"));
  // Only the ends are wildcards.
  EXPECT_FALSE(match("{ $.name = Ev*ent }", R"({"name": "Event"})"));
  EXPECT_TRUE(match("{ $.name = Ev*ent }", R"({"name": "Ev*ent"})"));
  EXPECT_TRUE(match("{ $.name = \"John*\" }", R"({"name": "John.Doe@example.com"})"));
  // A lone * asks for any value.
  EXPECT_TRUE(match("{ $.latency = * }", R"({"latency": 12})"));
  EXPECT_TRUE(match("{ $.latency = * }", R"({"latency": "slow"})"));
  EXPECT_FALSE(match("{ $.latency = * }", R"({"other": 12})"));
  EXPECT_FALSE(match("{ $.latency = * }", R"({"latency": null})"));
  EXPECT_FALSE(match("{ $.eventType = \"updatetrail\" }", kTrailEvent));  // case-sensitive
  EXPECT_TRUE(match("{ $.detail-type = \"Scheduled Event\" }", R"({"detail-type": "Scheduled Event"})"));
  EXPECT_TRUE(match("{ $.e = \"say \\\"hi\\\"\" }", R"({"e": "say \"hi\""})"));
}

TEST(FilterPatternTest, JsonRegexValues) {
  EXPECT_TRUE(match("{ $.eventType = %^Update% }", kTrailEvent));
  EXPECT_FALSE(match("{ $.eventType = %^Trail% }", kTrailEvent));
  EXPECT_TRUE(match("{ $.eventType != %^Delete% }", kTrailEvent));
  EXPECT_TRUE(match("{ $.code = %^2\\d{2}$% && $.path = %^/api/% }", R"({"code": 204, "path": "/api/x"})"));
  EXPECT_NE(parseError("{ $.a = %a% || $.b = %b% || $.c = %c% }").find("at most 2"), std::string::npos);
}

TEST(FilterPatternTest, JsonNeedsAJsonObject) {
  EXPECT_FALSE(match("{ $.level = \"error\" }", "level=error"));
  EXPECT_FALSE(match("{ $.level = \"error\" }", "2024-01-01T00:00:00Z INFO {\"level\": \"error\"}"));
  EXPECT_FALSE(match("{ $.level = \"error\" }", "{\"level\": \"error\""));
  EXPECT_FALSE(match("{ $.level = \"error\" }", "[{\"level\": \"error\"}]"));
  EXPECT_FALSE(match("{ $.level = \"error\" }", ""));
  EXPECT_TRUE(match("{ $.level = \"error\" }", "  {\"level\": \"error\"}\n"));
  // Deep nesting is parsed, not rejected.
  std::string deep = std::string(100, '[') + std::string(100, ']');
  EXPECT_TRUE(match("{ $.a NOT EXISTS }", "{\"b\": " + deep + "}"));
}

TEST(FilterPatternTest, JsonErrors) {
  EXPECT_EQ(parseError("{ $.a = 1"), "If a filter pattern starts with '{' it must end with '}'");
  EXPECT_EQ(parseError("{"), "If a filter pattern starts with '{' it must end with '}'");
  EXPECT_EQ(parseError("{ $.\"sc-status\" = 5* }"), "Invalid character(s) in term '$.\"'");
  EXPECT_EQ(parseError("{ $.userIdentity.type = 'Root' }"), "Invalid character(s) in term '''");
  EXPECT_EQ(parseError("{ $.email = John@example.com }"), "Invalid character(s) in term '@'");
  EXPECT_EQ(parseError("{ $.a@b = 1 }"), "Invalid character(s) in term '$.a@b'");
  parseError("{}");
  parseError("{ }");
  parseError("{ level = 1 }");
  parseError("{ $ = 1 }");
  parseError("{ $[0] = 1 }");
  parseError("{ $.a[x] = 1 }");
  parseError("{ $.a[1 = 1 }");
  parseError("{ $.a }");
  parseError("{ $.a = }");
  parseError("{ $.a == 1 }");
  parseError("{ $.a > abc }");
  parseError("{ $.a < * }");
  parseError("{ $.a IS MAYBE }");
  parseError("{ $.a = \"open }");
  parseError("{ $.a = %open }");
  parseError("{ ($.a = 1 }");
  parseError("{ $.a = 1 ) }");
  parseError("{ $.a = 1 && }");
  parseError("{ $.a = 1 $.b = 2 }");
  parseError("{ " + std::string(40, '(') + "$.a = 1" + std::string(40, ')') + " }");
}

// ---- Space-delimited ---------------------------------------------------------------------

constexpr std::string_view kApache200 =
    R"(127.0.0.1 - frank [10/Oct/2000:13:25:15 -0700] "GET /apache_pb.gif HTTP/1.0" 200 1534)";
constexpr std::string_view kApache500 =
    R"(127.0.0.1 - frank [10/Oct/2000:13:35:22 -0700] "GET /apache_pb.gif HTTP/1.0" 500 5324)";
constexpr std::string_view kApache404 =
    R"(127.0.0.1 - frank [10/Oct/2000:13:25:15 -0700] "GET /index.html HTTP/1.0" 404 1534)";

TEST(FilterPatternTest, DelimitedFieldsAndEllipsis) {
  EXPECT_EQ(compile("[ip, user, username, timestamp, request, status_code, bytes]").kind(),
            FilterPattern::Kind::kDelimited);
  EXPECT_TRUE(match("[ip, user, username, timestamp, request, status_code, bytes]", kApache200));
  EXPECT_FALSE(match("[ip, user, username, timestamp, request, status_code]", kApache200));
  EXPECT_FALSE(match("[ip, user, username, timestamp, request, status_code, bytes, extra]", kApache200));
  EXPECT_TRUE(match("[..., status_code, bytes]", kApache200));
  EXPECT_TRUE(match("[ip, user, ..., status_code, bytes]", kApache200));
  EXPECT_TRUE(match("[ip, user, ...]", kApache200));
  EXPECT_TRUE(match("[...]", ""));
  EXPECT_FALSE(match("[a, b, ..., c, d, e, f, g, h]", kApache200));  // needs 8 fields
  EXPECT_TRUE(match("[a, b, ..., c, d, e, f, g]", kApache200));      // ... may be empty
}

TEST(FilterPatternTest, DelimitedConditions) {
  EXPECT_TRUE(match("[ip, user, username, timestamp, request, status_code, bytes > 1000]", kApache200));
  EXPECT_FALSE(match("[ip, user, username, timestamp, request, status_code, bytes > 2000]", kApache200));
  EXPECT_TRUE(match("[ip, user, username, timestamp, request, status_code = 200, bytes]", kApache200));
  EXPECT_FALSE(match("[ip, user, username, timestamp, request, status_code = 200, bytes]", kApache500));
  EXPECT_TRUE(match("[ip, user, username, timestamp, request, status_code = 4*, bytes]", kApache404));
  EXPECT_FALSE(match("[ip, user, username, timestamp, request, status_code = 4*, bytes]", kApache500));
  EXPECT_TRUE(match("[ip, user, username, timestamp, request = *html*, status_code = 4*, bytes]", kApache404));
  EXPECT_FALSE(match("[ip, user, username, timestamp, request = *html*, status_code = 4*, bytes]", kApache200));
  // Quotes and brackets group a field and are dropped.
  EXPECT_TRUE(match("[ip, ..., timestamp = \"10/Oct/2000:13:25:15 -0700\", request, status, bytes]", kApache200));
  EXPECT_TRUE(match("[..., request = \"GET /index.html HTTP/1.0\", status, bytes]", kApache404));
  // && and || inside a field; conditions may name other fields.
  EXPECT_TRUE(
      match("[ip, user, username, timestamp, request, status_code = 4* && status_code != 403, bytes]", kApache404));
  EXPECT_TRUE(
      match("[ip, user, username, timestamp, request, status_code = 403 || status_code = 404, bytes]", kApache404));
  EXPECT_TRUE(match("[ip, user, username, timestamp, request, status_code = 4* && bytes > 1000, bytes]", kApache404));
  EXPECT_FALSE(match("[ip, user, username, timestamp, request, status_code = 4* && bytes > 9000, bytes]", kApache404));
  // The documented example with a trailing empty field.
  EXPECT_TRUE(match("[..., request=*.html*, status_code=4*,]", kApache404));
  EXPECT_FALSE(match("[..., request=*.html*, status_code=4*,]", kApache200));
  // Regex on a field.
  EXPECT_TRUE(match("[ip = %^127\\.%, ...]", kApache200));
  EXPECT_FALSE(match("[ip = %^10\\.%, ...]", kApache200));
  // A non-numeric field fails numeric comparisons but passes !=.
  EXPECT_FALSE(match("[a, b > 1]", "x y"));
  EXPECT_TRUE(match("[a, b != 1]", "x y"));
}

TEST(FilterPatternTest, DelimitedOrExamples) {
  EXPECT_TRUE(match("[w1=ERROR, w2]", "ERROR message"));
  EXPECT_FALSE(match("[w1=ERROR, w2]", "WARN message"));
  EXPECT_FALSE(match("[w1=ERROR, w2]", "ERROR WARN message"));
  EXPECT_TRUE(match("[w1=ERROR || w1=WARN, w2]", "ERROR message"));
  EXPECT_TRUE(match("[w1=ERROR || w1=WARN, w2]", "WARN message"));
  EXPECT_FALSE(match("[w1=ERROR || w1=WARN, w2]", "INFO message"));
  EXPECT_TRUE(match("[w1!=ERROR&&w1!=WARN, w2]", "INFO message"));
  EXPECT_FALSE(match("[w1!=ERROR&&w1!=WARN, w2]", "WARN message"));
  // Runs of spaces separate like one.
  EXPECT_TRUE(match("[w1=ERROR, w2]", "  ERROR    message  "));
}

TEST(FilterPatternTest, DelimitedErrors) {
  EXPECT_EQ(parseError("[time, level=ERROR, msg"), "If a filter pattern starts with '[' it must end with ']'");
  EXPECT_EQ(parseError("[a, path=/index.html]"), "Invalid character(s) in term '/'");
  EXPECT_EQ(parseError("[a:b]"), "Invalid character(s) in term 'a:b'");
  parseError("[]");
  parseError("[ ]");
  parseError("[..., a, ...]");
  parseError("[a b]");
  parseError("[a IS NULL]");
  parseError("[a = ]");
  parseError("[a > x]");
  parseError("[...x]");
  parseError("[$.a = 1]");
  parseError("[a = %x%, b = %y%, c = %z%]");
}

// ---- Sharing and the requiredLiteral invariant -----------------------------------------

TEST(FilterPatternTest, CopiesShareAndMatchConcurrently) {
  FilterPattern p = compile("[w1=ERROR || w1=WARN, w2]");
  FilterPattern copy = p;
  EXPECT_EQ(copy.text(), "[w1=ERROR || w1=WARN, w2]");
  std::vector<std::thread> threads;
  std::atomic<int> matched{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&copy, &matched, t] {
      for (int i = 0; i < 1000; ++i)
        if (copy.matches(t % 2 ? "ERROR now" : "INFO now please")) ++matched;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(matched.load(), 2000);
}

// Every message that matches contains requiredLiteral(), over generated term
// patterns and messages (and the other kinds, whose literal is empty).
TEST(FilterPatternTest, RequiredLiteralIsInEveryMatch) {
  std::mt19937 rng(7);
  const std::vector<std::string> words = {"a", "b", "ab", "ba", "ERROR", "ERR", "WARN", "x_1", "1", "aab"};
  const std::vector<std::string> phrases = {"a b", "ERROR 500", "b:a", "", "\\\"q\\\"", "ab ba"};
  auto pick = [&rng](const std::vector<std::string>& from) -> const std::string& { return from[rng() % from.size()]; };
  std::vector<std::string> patterns = {"%a+b%", "{ $.a = 1 }", "[w1=ERROR, ...]", "", "?a ?b", "-a"};
  for (int i = 0; i < 300; ++i) {
    std::string pattern;
    int terms = 1 + static_cast<int>(rng() % 4);
    for (int k = 0; k < terms; ++k) {
      if (k) pattern += ' ';
      int prefix = static_cast<int>(rng() % 6);
      if (prefix == 0) pattern += '?';
      if (prefix == 1) pattern += '-';
      if (rng() % 3 == 0)
        pattern += "\"" + pick(phrases) + "\"";
      else
        pattern += pick(words);
    }
    patterns.push_back(pattern);
  }
  std::vector<std::string> messages = {"", "{\"a\": 1}", "ERROR ab", "\"q\""};
  const std::vector<std::string> pieces = {"a", "b", " ", "ERROR", "500", ":", "WARN", "x_1", "\"q\"", "1"};
  for (int i = 0; i < 300; ++i) {
    std::string message;
    int len = static_cast<int>(rng() % 8);
    for (int k = 0; k < len; ++k) message += pick(pieces);
    messages.push_back(message);
  }
  size_t checked = 0;
  for (const std::string& text : patterns) {
    FilterPattern p = compile(text);
    std::string literal = p.requiredLiteral();
    for (const std::string& m : messages) {
      if (!p.matches(m)) continue;
      ++checked;
      EXPECT_NE(m.find(literal), std::string::npos)
          << "pattern " << text << " matched '" << m << "' without its literal '" << literal << "'";
    }
  }
  EXPECT_GT(checked, 1000u);
}

}  // namespace
}  // namespace berth::logs
