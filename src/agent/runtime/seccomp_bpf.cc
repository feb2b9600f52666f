#include "agent/runtime/seccomp_bpf.h"

#include <linux/audit.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <iterator>

namespace berth::agent::runtime {
namespace {

constexpr uint32_t kX32SyscallBit = 0x40000000;  // __X32_SYSCALL_BIT, <asm/unistd.h>
#ifdef __X32_SYSCALL_BIT
static_assert(kX32SyscallBit == __X32_SYSCALL_BIT);
#endif

struct SyscallRow {
  const char* name;
  int64_t nr[3];  // indexed by SeccompArch; -1: none on that architecture
};

constexpr SyscallRow kSyscalls[] = {
#include "agent/runtime/seccomp_syscalls.inc"
};

const SyscallRow* findSyscall(std::string_view name) {
  auto it = std::lower_bound(std::begin(kSyscalls), std::end(kSyscalls), name,
                             [](const SyscallRow& row, std::string_view n) { return std::string_view(row.name) < n; });
  if (it == std::end(kSyscalls) || std::string_view(it->name) != name) return nullptr;
  return it;
}

// A straight-line BPF assembler with forward labels. Conditional jumps carry
// 8-bit offsets, BPF_JA a 32-bit one; finish() resolves labels and refuses a
// program whose offsets or length do not fit.
class Assembler {
 public:
  static constexpr int kNext = -1;  // "fall through": offset 0

  int newLabel() {
    labels_.push_back(-1);
    return static_cast<int>(labels_.size()) - 1;
  }
  void bind(int label) { labels_[label] = static_cast<int>(code_.size()); }

  void load(uint32_t offset) { emit(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offset)); }
  void ret(uint32_t action) { emit(BPF_STMT(BPF_RET | BPF_K, action)); }
  void jump(int label) { emit(BPF_STMT(BPF_JMP | BPF_JA | BPF_K, 0), kNext, kNext, label); }
  void jeq(uint32_t k, int jt, int jf) { emit(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, k, 0, 0), jt, jf); }
  void jge(uint32_t k, int jt, int jf) { emit(BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, k, 0, 0), jt, jf); }

  Result<std::vector<sock_filter>> finish() && {
    if (code_.size() > BPF_MAXINSNS)
      return fail(ErrorCode::kResourceExhausted, "seccomp filter has " + std::to_string(code_.size()) +
                                                     " instructions, more than BPF_MAXINSNS (" +
                                                     std::to_string(BPF_MAXINSNS) + ")");
    for (size_t i = 0; i < code_.size(); ++i) {
      const Fixup& f = fixups_[i];
      sock_filter& insn = code_[i];
      if (f.ja != kNext) {
        insn.k = static_cast<uint32_t>(target(f.ja) - (i + 1));
        continue;
      }
      for (auto [label, field] : {std::pair{f.jt, &insn.jt}, std::pair{f.jf, &insn.jf}}) {
        if (label == kNext) continue;
        size_t offset = target(label) - (i + 1);
        if (offset > 255)
          return fail(ErrorCode::kResourceExhausted, "seccomp filter too large: conditional jump at instruction " +
                                                         std::to_string(i) + " spans " + std::to_string(offset) +
                                                         " instructions, more than BPF's 255");
        *field = static_cast<uint8_t>(offset);
      }
    }
    return std::move(code_);
  }

 private:
  struct Fixup {
    int jt = kNext, jf = kNext, ja = kNext;
  };

  void emit(sock_filter insn, int jt = kNext, int jf = kNext, int ja = kNext) {
    code_.push_back(insn);
    fixups_.push_back({jt, jf, ja});
  }
  // Labels are only ever bound at or after the jumps that use them.
  size_t target(int label) const { return static_cast<size_t>(labels_[label]); }

  std::vector<sock_filter> code_;
  std::vector<Fixup> fixups_;
  std::vector<int> labels_;
};

// Leaves of at most this many numbers are a JEQ chain; above, a JGE splits.
constexpr size_t kLeafSize = 4;

// Jumps to `deny` if the accumulator is one of nrs[lo, hi) (sorted, distinct),
// else to `allow`; an empty range falls through.
void emitTree(Assembler& as, const std::vector<uint32_t>& nrs, size_t lo, size_t hi, int deny, int allow) {
  if (hi - lo <= kLeafSize) {
    for (size_t i = lo; i < hi; ++i) as.jeq(nrs[i], deny, i + 1 == hi ? allow : Assembler::kNext);
    return;
  }
  size_t mid = lo + (hi - lo) / 2;
  int right = as.newLabel();
  as.jge(nrs[mid], right, Assembler::kNext);
  emitTree(as, nrs, lo, mid, deny, allow);
  as.bind(right);
  emitTree(as, nrs, mid, hi, deny, allow);
}

// One architecture's section, entered with seccomp_data.nr in the
// accumulator; it keeps its own return instructions so that no conditional
// jump crosses into another section.
void emitSection(Assembler& as, std::vector<uint32_t> nrs, uint32_t deny_action) {
  std::sort(nrs.begin(), nrs.end());
  nrs.erase(std::unique(nrs.begin(), nrs.end()), nrs.end());
  int deny = as.newLabel(), allow = as.newLabel();
  emitTree(as, nrs, 0, nrs.size(), deny, allow);
  as.bind(allow);
  as.ret(SECCOMP_RET_ALLOW);
  as.bind(deny);
  as.ret(deny_action);
}

}  // namespace

std::optional<uint32_t> syscallNumber(std::string_view name, SeccompArch arch) {
  const SyscallRow* row = findSyscall(name);
  if (row == nullptr || row->nr[static_cast<int>(arch)] < 0) return std::nullopt;
  return static_cast<uint32_t>(row->nr[static_cast<int>(arch)]);
}

Result<std::vector<sock_filter>> compileDenyList(const std::vector<std::string>& names, int errno_value) {
  if (errno_value < 1 || errno_value > 4095)
    return fail(ErrorCode::kInvalidArgument, "seccomp errno " + std::to_string(errno_value) + " is not in [1, 4095]");

  std::vector<uint32_t> nrs[3];
  for (const std::string& name : names) {
    const SyscallRow* row = findSyscall(name);
    if (row == nullptr) return fail(ErrorCode::kInvalidArgument, "unknown syscall \"" + name + "\"");
    for (int arch = 0; arch < 3; ++arch)
      if (row->nr[arch] >= 0) nrs[arch].push_back(static_cast<uint32_t>(row->nr[arch]));
  }
  const uint32_t deny = SECCOMP_RET_ERRNO | (static_cast<uint32_t>(errno_value) & SECCOMP_RET_DATA);

  // Every jump that spans a whole section is a BPF_JA (32-bit offset), so a
  // section's size is bounded only by the 8-bit offsets inside it.
  Assembler as;
  int x86_64 = as.newLabel(), not_x86_64 = as.newLabel(), native = as.newLabel(), x32 = as.newLabel(),
      i386 = as.newLabel();
  as.load(offsetof(seccomp_data, arch));
  as.jeq(AUDIT_ARCH_X86_64, x86_64, Assembler::kNext);
  as.jump(not_x86_64);
  as.bind(x86_64);
  as.load(offsetof(seccomp_data, nr));
  // x32 calls enter with AUDIT_ARCH_X86_64 and the x32 bit set in nr.
  as.jge(kX32SyscallBit, Assembler::kNext, native);
  as.jump(x32);
  as.bind(native);
  emitSection(as, nrs[static_cast<int>(SeccompArch::kX86_64)], deny);
  as.bind(x32);
  emitSection(as, nrs[static_cast<int>(SeccompArch::kX32)], deny);
  as.bind(not_x86_64);
  as.jeq(AUDIT_ARCH_I386, i386, Assembler::kNext);
  as.ret(SECCOMP_RET_KILL_PROCESS);  // any other architecture
  as.bind(i386);
  as.load(offsetof(seccomp_data, nr));
  emitSection(as, nrs[static_cast<int>(SeccompArch::kX86)], deny);
  return std::move(as).finish();
}

Status installSeccompFilter(std::span<const sock_filter> program) {
  sock_fprog prog{};
  prog.len = static_cast<unsigned short>(program.size());
  prog.filter = const_cast<sock_filter*>(program.data());
  if (program.size() > BPF_MAXINSNS)
    return fail(ErrorCode::kInvalidArgument, "seccomp filter longer than BPF_MAXINSNS");
  if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) != 0) {
    int err = errno;
    return std::unexpected(Error{ErrorCode::kIo, std::string("prctl(PR_SET_SECCOMP): ") + std::strerror(err), {}, err});
  }
  return {};
}

}  // namespace berth::agent::runtime
