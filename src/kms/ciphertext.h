// KMS's symmetric cryptography and ciphertext format, kept apart from the
// control plane so that the parser of untrusted ciphertext blobs can be
// fuzzed alone (fuzz/kms_ciphertext_fuzz.cc).
//
// Everything is AES-256-GCM (OpenSSL EVP) with a 96-bit random IV and a
// 128-bit tag.
//
// A ciphertext blob, as Encrypt and GenerateDataKey return it (berth's own
// format; AWS's is opaque too):
//
//   offset 0      version (kBlobVersion)
//   offset 1      n = length of the key id (1..64)
//   offset 2      key id (n bytes: the KMS key's UUID)
//   offset 2+n    IV (12 bytes)
//   offset 14+n   tag (16 bytes)
//   offset 30+n   ciphertext (as long as the plaintext, may be empty)
//
// The additional authenticated data is the header (version, length, key id)
// followed by the encryption context in its canonical form
// (canonicalContext), so neither the key id nor the context can be changed
// without failing authentication.
//
// Thread rules: every function is safe on any thread.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"

namespace berth::kms {

inline constexpr uint8_t kBlobVersion = 1;
inline constexpr size_t kKeySize = 32;
inline constexpr size_t kIvSize = 12;
inline constexpr size_t kTagSize = 16;
inline constexpr size_t kMaxKeyIdSize = 64;

using EncryptionContext = std::map<std::string, std::string, std::less<>>;

// A parsed blob; views into the bytes it was parsed from.
struct CiphertextBlob {
  uint8_t version = kBlobVersion;
  std::string_view key_id;
  std::string_view header;  // version, length and key id: part of the AAD
  std::string_view iv;
  std::string_view tag;
  std::string_view ciphertext;
};

// Splits `bytes` into its parts. Fails (kInvalidArgument) on an unknown
// version, a bad key id length or a blob too short for IV and tag. Does not
// authenticate anything: that is openBlob's job.
Result<CiphertextBlob> parseCiphertext(std::string_view bytes);

// The context as authenticated data: the pairs sorted by key, each as
// 4-byte big-endian length + key, 4-byte length + value. Unambiguous, and
// independent of the order the caller listed the pairs in.
std::string canonicalContext(const EncryptionContext& context);

// Encrypts `plaintext` under `key` (kKeySize bytes) for the KMS key
// `key_id`, binding `context`; returns the blob.
Result<std::string> sealBlob(std::string_view key, std::string_view key_id, std::string_view plaintext,
                             const EncryptionContext& context);

// Decrypts a parsed blob with `key`; fails (kInvalidArgument) when the tag
// does not verify: wrong key, wrong context, or tampered bytes.
Result<std::string> openBlob(std::string_view key, const CiphertextBlob& blob, const EncryptionContext& context);

// Raw AES-256-GCM: IV || tag || ciphertext, with `aad` authenticated.
// Used to wrap key material under berthd's master key.
Result<std::string> seal(std::string_view key, std::string_view plaintext, std::string_view aad);
Result<std::string> open(std::string_view key, std::string_view sealed, std::string_view aad);

// Standard base64 with padding (blobs travel as base64 in JSON).
std::string base64Encode(std::string_view bytes);
// Rejects characters outside the alphabet, misplaced padding and lengths
// that are not a multiple of 4; unused trailing bits are ignored, as most
// decoders do.
std::optional<std::string> base64Decode(std::string_view text);

}  // namespace berth::kms
