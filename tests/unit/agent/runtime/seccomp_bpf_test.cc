#include "agent/runtime/seccomp_bpf.h"

#include <linux/audit.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <string>

#include <gtest/gtest.h>

#include "agent/runtime/spec.h"

namespace berth::agent::runtime {
namespace {

constexpr uint32_t kX32Bit = 0x40000000;

std::vector<sock_filter> compileDefault() {
  auto prog = compileDenyList(deniedSyscalls(), EPERM);
  EXPECT_TRUE(prog.has_value()) << (prog ? "" : prog.error().message);
  return prog.value_or(std::vector<sock_filter>{});
}

// Checks what the kernel's verifier (and more) would: every jump lands inside
// the program and strictly forward, and the last instruction returns.
void expectWellFormed(const std::vector<sock_filter>& prog) {
  ASSERT_FALSE(prog.empty());
  ASSERT_LE(prog.size(), size_t{BPF_MAXINSNS});
  for (size_t i = 0; i < prog.size(); ++i) {
    const sock_filter& f = prog[i];
    if (BPF_CLASS(f.code) != BPF_JMP) continue;
    if (BPF_OP(f.code) == BPF_JA) {
      EXPECT_LT(i + 1 + f.k, prog.size()) << "JA at " << i;
    } else {
      EXPECT_LT(i + 1 + f.jt, prog.size()) << "jt at " << i;
      EXPECT_LT(i + 1 + f.jf, prog.size()) << "jf at " << i;
    }
  }
  EXPECT_EQ(BPF_CLASS(prog.back().code), BPF_RET);
}

// A classic-BPF interpreter for the instructions the compiler emits.
uint32_t run(const std::vector<sock_filter>& prog, uint32_t arch, uint32_t nr) {
  seccomp_data data{};
  data.nr = static_cast<int>(nr);
  data.arch = arch;
  uint32_t a = 0;
  for (size_t pc = 0; pc < prog.size(); ++pc) {
    const sock_filter& f = prog[pc];
    switch (f.code) {
      case BPF_LD | BPF_W | BPF_ABS:
        std::memcpy(&a, reinterpret_cast<const char*>(&data) + f.k, sizeof a);
        break;
      case BPF_JMP | BPF_JA | BPF_K:
        pc += f.k;
        break;
      case BPF_JMP | BPF_JEQ | BPF_K:
        pc += a == f.k ? f.jt : f.jf;
        break;
      case BPF_JMP | BPF_JGE | BPF_K:
        pc += a >= f.k ? f.jt : f.jf;
        break;
      case BPF_RET | BPF_K:
        return f.k;
      default:
        ADD_FAILURE() << "unexpected opcode " << f.code << " at " << pc;
        return 0xdeadbeef;
    }
  }
  ADD_FAILURE() << "ran off the end of the program";
  return 0xdeadbeef;
}

std::set<uint32_t> deniedNumbers(SeccompArch arch) {
  std::set<uint32_t> out;
  for (const auto& name : deniedSyscalls())
    if (auto nr = syscallNumber(name, arch)) out.insert(*nr);
  return out;
}

TEST(SeccompBpfTest, DefaultProfileIsWellFormedAndSmall) {
  auto prog = compileDefault();
  expectWellFormed(prog);
  // ~50 names on three architectures: a JEQ per number plus the JGE splits.
  EXPECT_LT(prog.size(), 250u);
  std::printf("default seccomp profile: %zu names -> %zu BPF instructions\n", deniedSyscalls().size(), prog.size());
}

TEST(SeccompBpfTest, DefaultProfileDecidesEverySyscallNumberAsTheDenyListSays) {
  auto prog = compileDefault();
  const uint32_t deny = SECCOMP_RET_ERRNO | EPERM;
  struct Case {
    SeccompArch arch;
    uint32_t audit_arch, base;
  };
  for (auto [arch, audit_arch, base] :
       {Case{SeccompArch::kX86_64, AUDIT_ARCH_X86_64, 0}, Case{SeccompArch::kX32, AUDIT_ARCH_X86_64, kX32Bit},
        Case{SeccompArch::kX86, AUDIT_ARCH_I386, 0}}) {
    auto denied = deniedNumbers(arch);
    EXPECT_GT(denied.size(), 40u);
    for (uint32_t nr = base; nr < base + 1024; ++nr)
      EXPECT_EQ(run(prog, audit_arch, nr), denied.contains(nr) ? deny : SECCOMP_RET_ALLOW)
          << "arch " << static_cast<int>(arch) << " nr " << (nr - base);
  }
  // x86_64 numbers of denied calls are not denied as x32 calls, nor the
  // reverse, unless the same number means a denied call on both.
  EXPECT_EQ(run(prog, AUDIT_ARCH_X86_64, *syscallNumber("acct", SeccompArch::kX86_64)), deny);
  EXPECT_EQ(run(prog, AUDIT_ARCH_X86_64, *syscallNumber("acct", SeccompArch::kX32)), deny);
  EXPECT_EQ(run(prog, AUDIT_ARCH_I386, *syscallNumber("acct", SeccompArch::kX86)), deny);
  EXPECT_EQ(run(prog, AUDIT_ARCH_X86_64, *syscallNumber("ptrace", SeccompArch::kX86_64) | kX32Bit), SECCOMP_RET_ALLOW);
  EXPECT_EQ(run(prog, AUDIT_ARCH_X86_64, 0xffffffff), SECCOMP_RET_ALLOW);
  EXPECT_EQ(run(prog, AUDIT_ARCH_I386, 0xffffffff), SECCOMP_RET_ALLOW);
  // Any other architecture is killed.
  EXPECT_EQ(run(prog, AUDIT_ARCH_AARCH64, *syscallNumber("getpid", SeccompArch::kX86_64)), SECCOMP_RET_KILL_PROCESS);
  EXPECT_EQ(run(prog, AUDIT_ARCH_X86_64 & ~__AUDIT_ARCH_64BIT, 0), SECCOMP_RET_KILL_PROCESS);
}

TEST(SeccompBpfTest, ErrnoValueIsReturned) {
  auto prog = compileDenyList({"unshare"}, ENOSYS);
  ASSERT_TRUE(prog.has_value()) << prog.error().message;
  expectWellFormed(*prog);
  EXPECT_EQ(run(*prog, AUDIT_ARCH_X86_64, SYS_unshare), SECCOMP_RET_ERRNO | ENOSYS);
  EXPECT_EQ(run(*prog, AUDIT_ARCH_X86_64, SYS_getpid), SECCOMP_RET_ALLOW);
}

TEST(SeccompBpfTest, EmptyListAllowsEverythingOnKnownArchitectures) {
  auto prog = compileDenyList({}, EPERM);
  ASSERT_TRUE(prog.has_value()) << prog.error().message;
  expectWellFormed(*prog);
  EXPECT_EQ(run(*prog, AUDIT_ARCH_X86_64, SYS_unshare), SECCOMP_RET_ALLOW);
  EXPECT_EQ(run(*prog, AUDIT_ARCH_X86_64, kX32Bit | SYS_unshare), SECCOMP_RET_ALLOW);
  EXPECT_EQ(run(*prog, AUDIT_ARCH_I386, 310), SECCOMP_RET_ALLOW);
  EXPECT_EQ(run(*prog, AUDIT_ARCH_AARCH64, 0), SECCOMP_RET_KILL_PROCESS);
}

TEST(SeccompBpfTest, UnknownNameIsAnError) {
  auto prog = compileDenyList({"acct", "no_such_syscall"}, EPERM);
  ASSERT_FALSE(prog.has_value());
  EXPECT_EQ(prog.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(prog.error().message.find("no_such_syscall"), std::string::npos) << prog.error().message;
}

TEST(SeccompBpfTest, BadErrnoIsAnError) {
  EXPECT_FALSE(compileDenyList({"acct"}, 0).has_value());
  EXPECT_FALSE(compileDenyList({"acct"}, 4096).has_value());
}

TEST(SeccompBpfTest, NameKnownOnOneArchitectureOnlyIsSkippedElsewhere) {
  // socketcall exists on i386 only; arch_prctl on x86_64 and x32 only.
  auto prog = compileDenyList({"socketcall", "arch_prctl"}, EPERM);
  ASSERT_TRUE(prog.has_value()) << prog.error().message;
  expectWellFormed(*prog);
  EXPECT_EQ(run(*prog, AUDIT_ARCH_I386, 102), SECCOMP_RET_ERRNO | EPERM);
  EXPECT_EQ(run(*prog, AUDIT_ARCH_X86_64, SYS_arch_prctl), SECCOMP_RET_ERRNO | EPERM);
  EXPECT_EQ(run(*prog, AUDIT_ARCH_X86_64, kX32Bit | SYS_arch_prctl), SECCOMP_RET_ERRNO | EPERM);
  EXPECT_EQ(run(*prog, AUDIT_ARCH_X86_64, 102), SECCOMP_RET_ALLOW);  // getuid on x86_64
}

TEST(SeccompBpfTest, DuplicateNamesAreHarmless) {
  auto prog = compileDenyList({"acct", "acct", "bpf"}, EPERM);
  ASSERT_TRUE(prog.has_value()) << prog.error().message;
  expectWellFormed(*prog);
  EXPECT_EQ(run(*prog, AUDIT_ARCH_X86_64, SYS_acct), SECCOMP_RET_ERRNO | EPERM);
  EXPECT_EQ(run(*prog, AUDIT_ARCH_X86_64, SYS_bpf), SECCOMP_RET_ERRNO | EPERM);
}

// The checked-in table (scripts/gen-seccomp-syscalls.py) against the kernel
// headers of this host.
std::map<std::string, uint32_t> parseUnistd(const std::string& path) {
  std::map<std::string, uint32_t> out;
  std::ifstream in(path);
  std::regex re(R"(#define __NR_(\w+)\s+(?:\(__X32_SYSCALL_BIT \+ (\d+)\)|(\d+))\s*)");
  std::smatch m;
  for (std::string line; std::getline(in, line);)
    if (std::regex_match(line, m, re))
      out[m[1]] = m[2].matched ? kX32Bit + std::stoul(m[2]) : static_cast<uint32_t>(std::stoul(m[3]));
  return out;
}

TEST(SeccompBpfTest, TableMatchesKernelHeaders) {
  const std::string dir = "/usr/include/x86_64-linux-gnu/asm/";
  if (::access((dir + "unistd_x32.h").c_str(), R_OK) != 0) GTEST_SKIP() << "no " << dir << "unistd_x32.h on this host";
  for (auto [file, arch] : {std::pair{"unistd_64.h", SeccompArch::kX86_64}, std::pair{"unistd_32.h", SeccompArch::kX86},
                            std::pair{"unistd_x32.h", SeccompArch::kX32}}) {
    auto header = parseUnistd(dir + file);
    EXPECT_GT(header.size(), 300u) << file;
    // Names the headers have must be in the table with the same number. (A
    // newer header may add names; rerun scripts/gen-seccomp-syscalls.py.)
    for (const auto& [name, nr] : header) EXPECT_EQ(syscallNumber(name, arch), nr) << file << ": " << name;
  }
  EXPECT_EQ(syscallNumber("acct", SeccompArch::kX86_64), uint32_t{SYS_acct});
  EXPECT_EQ(syscallNumber("unshare", SeccompArch::kX86_64), uint32_t{SYS_unshare});
  EXPECT_EQ(syscallNumber("keyctl", SeccompArch::kX86_64), uint32_t{SYS_keyctl});
  EXPECT_EQ(syscallNumber("socketcall", SeccompArch::kX86_64), std::nullopt);
  EXPECT_EQ(syscallNumber("no_such_syscall", SeccompArch::kX86_64), std::nullopt);
}

TEST(SeccompBpfTest, EveryDeniedNameIsKnownOnX86_64) {
  // All of spec.cc's list are real x86_64 calls except the obsolete ones
  // the kernel still reserves numbers for.
  for (const auto& name : deniedSyscalls())
    EXPECT_TRUE(syscallNumber(name, SeccompArch::kX86_64) || syscallNumber(name, SeccompArch::kX86)) << name;
}

TEST(SeccompBpfTest, ProgramTooLargeFailsCleanly) {
  // Every name in the table: far more than 8-bit jump offsets can span in one
  // section, so the compiler must refuse rather than emit wrapped offsets.
  std::vector<std::string> all;
  auto header = parseUnistd("/usr/include/x86_64-linux-gnu/asm/unistd_64.h");
  if (header.empty()) GTEST_SKIP() << "no unistd_64.h on this host";
  for (const auto& [name, nr] : header) all.push_back(name);
  auto prog = compileDenyList(all, EPERM);
  if (prog) {
    expectWellFormed(*prog);
    std::printf("all %zu x86_64 names -> %zu instructions\n", all.size(), prog->size());
  } else {
    std::printf("all %zu x86_64 names -> %s\n", all.size(), prog.error().message.c_str());
    EXPECT_EQ(prog.error().code, ErrorCode::kResourceExhausted) << prog.error().message;
  }
}

// --- behaviour under the real kernel ------------------------------------

// A syscall through the i386 entry (int $0x80), which seccomp sees as
// AUDIT_ARCH_I386. Returns -errno on failure, as the raw ABI does.
long int80(long nr, long a1 = 0, long a2 = 0) {
  long ret;
  asm volatile("int $0x80" : "=a"(ret) : "a"(nr), "b"(a1), "c"(a2) : "memory", "cc", "r8", "r9", "r10", "r11");
  return ret;
}

// Whether this kernel runs 32-bit syscalls from a 64-bit process (it may be
// built without IA32_EMULATION or booted with ia32_emulation=0, in which case
// int $0x80 kills the caller).
bool ia32Works() {
  pid_t pid = ::fork();
  if (pid == 0) {
    ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);  // no core file if int $0x80 faults
    _exit(int80(20 /* i386 getpid */) == ::getpid() ? 0 : 1);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

struct Outcome {
  long ret;
  int err;
};

template <typename F>
Outcome probe(F f) {
  errno = 0;
  long r = f();
  return {r, r == -1 ? errno : 0};
}

// The child reports one line per probe through a pipe; "FAIL" lines are
// what the parent asserts on.
void report(int fd, const char* what, bool ok, Outcome o) {
  char line[256];
  int n = std::snprintf(line, sizeof line, "%s %s ret=%ld errno=%d\n", ok ? "ok  " : "FAIL", what, o.ret, o.err);
  if (::write(fd, line, static_cast<size_t>(n)) < 0) _exit(3);
}

TEST(SeccompBpfTest, KernelDeniesListedSyscallsWithEperm) {
  auto prog = compileDefault();
  ASSERT_FALSE(prog.empty());
  const bool ia32 = ia32Works();
  const long x32_unshare = *syscallNumber("unshare", SeccompArch::kX32);
  const long x32_getpid = *syscallNumber("getpid", SeccompArch::kX32);
  const long x32_acct = *syscallNumber("acct", SeccompArch::kX32);

  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::close(fds[0]);
    int out = fds[1];
    // Unfiltered, these calls do not fail with EPERM (control).
    Outcome o = probe([] { return static_cast<long>(::unshare(0)); });
    report(out, "control unshare(0)", o.ret == 0, o);
    o = probe([] { return ::syscall(SYS_setns, -1, 0); });
    report(out, "control setns(-1)", o.err == EBADF, o);
    o = probe([=] { return ::syscall(x32_unshare, 0); });  // ENOSYS without CONFIG_X86_X32_ABI
    report(out, "control x32 unshare(0)", o.ret == 0 || o.err == ENOSYS, o);
    if (ia32) {
      o = {int80(310 /* i386 unshare */), 0};
      report(out, "control i386 unshare(0)", o.ret == 0, o);
    }

    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) _exit(4);
    if (!installSeccompFilter(prog)) _exit(5);

    auto denied = [&](const char* what, Outcome r) { report(out, what, r.ret == -1 && r.err == EPERM, r); };
    denied("acct(NULL)", probe([] { return ::syscall(SYS_acct, nullptr); }));
    denied("unshare(0)", probe([] { return static_cast<long>(::unshare(0)); }));
    denied("setns(-1)", probe([] { return ::syscall(SYS_setns, -1, 0); }));
    denied("keyctl", probe([] { return ::syscall(SYS_keyctl, 0 /* GET_KEYRING_ID */, -2 /* PROCESS */, 0); }));
    denied("bpf", probe([] { return ::syscall(SYS_bpf, 0, nullptr, 0); }));
    denied("mount", probe([] { return ::syscall(SYS_mount, "none", "/nonexistent", "tmpfs", 0, nullptr); }));
    denied("ptrace", probe([] { return ::syscall(SYS_ptrace, 0 /* TRACEME */, 0, 0, 0); }));
    denied("ustat", probe([] { return ::syscall(SYS_ustat, 0, nullptr); }));
    denied("x32 unshare(0)", probe([=] { return ::syscall(x32_unshare, 0); }));
    denied("x32 acct(NULL)", probe([=] { return ::syscall(x32_acct, nullptr); }));
    if (ia32) {
      long r = int80(310 /* i386 unshare */);
      report(out, "i386 unshare(0)", r == -EPERM, {r, 0});
      r = int80(51 /* i386 acct */);
      report(out, "i386 acct(NULL)", r == -EPERM, {r, 0});
      r = int80(20 /* i386 getpid */);
      report(out, "i386 getpid", r == ::getpid(), {r, 0});
    }

    // Everything else still works (the report lines themselves are write(2)).
    Outcome g = probe([] { return static_cast<long>(::getpid()); });
    report(out, "getpid", g.ret > 0, g);
    g = probe([] { return ::syscall(SYS_getppid); });
    report(out, "getppid", g.ret > 0, g);
    g = probe([=] { return ::syscall(x32_getpid); });
    report(out, "x32 getpid not denied", g.ret > 0 || g.err == ENOSYS, g);
    ::close(out);
    _exit(0);
  }
  ::close(fds[1]);
  std::string text;
  char buf[512];
  for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;) text.append(buf, static_cast<size_t>(n));
  ::close(fds[0]);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status)) << "child killed by signal " << WTERMSIG(status) << "\n" << text;
  EXPECT_EQ(WEXITSTATUS(status), 0) << text;
  EXPECT_EQ(text.find("FAIL"), std::string::npos) << text;
  EXPECT_NE(text.find("ok   acct(NULL)"), std::string::npos) << text;
  if (!ia32) std::printf("int $0x80 unavailable on this kernel: i386 probes skipped\n");
  std::printf("%s", text.c_str());
}

}  // namespace
}  // namespace berth::agent::runtime
