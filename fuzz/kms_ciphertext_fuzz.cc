// Fuzzes KMS ciphertext blobs (kms/ciphertext.h): the bytes a client hands
// to Decrypt and ReEncrypt, and base64 text as it arrives in JSON.
//
// The input is parsed as a blob and, when it parses, opened with a fixed key
// and encryption context (the seeds in fuzz/corpus/kms_ciphertext_fuzz/ are
// genuine blobs under that key, so the authenticated path is reached too).
// Beyond "no crash, no sanitizer report", it checks:
//   - a rejected blob is kInvalidArgument / InvalidCiphertextException;
//   - a parsed blob's parts cover the input exactly, with a 1-64 byte key id;
//   - an opened blob's plaintext is as long as its ciphertext, and the same
//     blob never opens under another context or key;
//   - the input sealed as plaintext opens again to itself, and not once any
//     byte of the sealed blob is flipped;
//   - what base64Decode accepts has the length of its canonical encoding,
//     which decodes to the same bytes.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "kms/ciphertext.h"

namespace {

using namespace berth::kms;

const std::string kKey(kKeySize, 'k');
const std::string kOtherKey(kKeySize, 'j');
const EncryptionContext kContext{{"PARAMETER_ARN", "arn:aws:ssm:us-east-1:000000000000:parameter/seed"}};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);

  auto parsed = parseCiphertext(input);
  if (!parsed) {
    if (parsed.error().code != berth::ErrorCode::kInvalidArgument ||
        parsed.error().aws_type != "InvalidCiphertextException")
      __builtin_trap();
  } else {
    const CiphertextBlob& b = *parsed;
    if (b.key_id.empty() || b.key_id.size() > kMaxKeyIdSize) __builtin_trap();
    if (b.header.size() + b.iv.size() + b.tag.size() + b.ciphertext.size() != input.size()) __builtin_trap();
    if (b.iv.size() != kIvSize || b.tag.size() != kTagSize) __builtin_trap();
    auto opened = openBlob(kKey, b, kContext);
    if (opened) {
      if (opened->size() != b.ciphertext.size()) __builtin_trap();
      if (openBlob(kKey, b, {}) || openBlob(kOtherKey, b, kContext)) __builtin_trap();
    } else if (opened.error().aws_type != "InvalidCiphertextException") {
      __builtin_trap();
    }
  }

  // Sealing the input as plaintext round-trips, and any flipped byte fails.
  std::string key_id = parsed ? std::string(parsed->key_id) : "11111111-2222-3333-4444-555555555555";
  auto sealed = sealBlob(kKey, key_id, input, kContext);
  if (!sealed) __builtin_trap();
  auto again = parseCiphertext(*sealed);
  if (!again || again->key_id != key_id) __builtin_trap();
  auto back = openBlob(kKey, *again, kContext);
  if (!back || *back != input) __builtin_trap();
  std::string flipped = *sealed;
  flipped[size % flipped.size()] ^= 0x20;
  if (auto f = parseCiphertext(flipped); f && openBlob(kKey, *f, kContext)) __builtin_trap();

  if (auto decoded = base64Decode(input)) {
    // Unused trailing bits may be set in the input (decoders ignore them),
    // so compare the decoded bytes, and the length of the canonical text.
    std::string canonical = base64Encode(*decoded);
    if (canonical.size() != input.size() || base64Decode(canonical) != decoded) __builtin_trap();
  }
  return 0;
}
