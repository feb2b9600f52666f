#include "kms/ciphertext.h"

#include <openssl/evp.h>

#include <memory>

#include "common/random.h"

namespace berth::kms {
namespace {

std::unexpected<Error> invalid(std::string message) {
  return fail(ErrorCode::kInvalidArgument, std::move(message), "InvalidCiphertextException");
}

struct CtxFree {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};
using Ctx = std::unique_ptr<EVP_CIPHER_CTX, CtxFree>;

const unsigned char* u(std::string_view s) { return reinterpret_cast<const unsigned char*>(s.data()); }
unsigned char* u(std::string& s) { return reinterpret_cast<unsigned char*>(s.data()); }

void appendLength(std::string& out, size_t n) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>((n >> shift) & 0xff));
}

// AES-256-GCM with an explicit IV; writes ciphertext and tag.
bool gcmEncrypt(std::string_view key, std::string_view iv, std::string_view aad, std::string_view plaintext,
                std::string& ciphertext, std::string& tag) {
  Ctx ctx(EVP_CIPHER_CTX_new());
  if (!ctx) return false;
  int len = 0;
  ciphertext.assign(plaintext.size(), '\0');
  tag.assign(kTagSize, '\0');
  if (EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) != 1) return false;
  if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, static_cast<int>(iv.size()), nullptr) != 1) return false;
  if (EVP_EncryptInit_ex(ctx.get(), nullptr, nullptr, u(key), u(iv)) != 1) return false;
  if (!aad.empty() && EVP_EncryptUpdate(ctx.get(), nullptr, &len, u(aad), static_cast<int>(aad.size())) != 1)
    return false;
  if (!plaintext.empty() &&
      EVP_EncryptUpdate(ctx.get(), u(ciphertext), &len, u(plaintext), static_cast<int>(plaintext.size())) != 1)
    return false;
  if (EVP_EncryptFinal_ex(ctx.get(), u(ciphertext) + len, &len) != 1) return false;
  return EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, static_cast<int>(kTagSize), tag.data()) == 1;
}

// Returns false when the tag does not verify (or OpenSSL fails).
bool gcmDecrypt(std::string_view key, std::string_view iv, std::string_view aad, std::string_view ciphertext,
                std::string_view tag, std::string& plaintext) {
  if (key.size() != kKeySize || iv.size() != kIvSize || tag.size() != kTagSize) return false;
  Ctx ctx(EVP_CIPHER_CTX_new());
  if (!ctx) return false;
  int len = 0;
  plaintext.assign(ciphertext.size(), '\0');
  if (EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) != 1) return false;
  if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, static_cast<int>(iv.size()), nullptr) != 1) return false;
  if (EVP_DecryptInit_ex(ctx.get(), nullptr, nullptr, u(key), u(iv)) != 1) return false;
  if (!aad.empty() && EVP_DecryptUpdate(ctx.get(), nullptr, &len, u(aad), static_cast<int>(aad.size())) != 1)
    return false;
  if (!ciphertext.empty() &&
      EVP_DecryptUpdate(ctx.get(), u(plaintext), &len, u(ciphertext), static_cast<int>(ciphertext.size())) != 1)
    return false;
  std::string tag_copy(tag);
  if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(kTagSize), tag_copy.data()) != 1)
    return false;
  return EVP_DecryptFinal_ex(ctx.get(), u(plaintext) + len, &len) == 1;
}

}  // namespace

Result<CiphertextBlob> parseCiphertext(std::string_view bytes) {
  if (bytes.size() < 2) return invalid("The ciphertext is too short.");
  CiphertextBlob b;
  b.version = static_cast<uint8_t>(bytes[0]);
  if (b.version != kBlobVersion) return invalid("The ciphertext has an unknown version.");
  size_t n = static_cast<uint8_t>(bytes[1]);
  if (n == 0 || n > kMaxKeyIdSize) return invalid("The ciphertext names no valid key.");
  if (bytes.size() < 2 + n + kIvSize + kTagSize) return invalid("The ciphertext is too short.");
  b.header = bytes.substr(0, 2 + n);
  b.key_id = bytes.substr(2, n);
  b.iv = bytes.substr(2 + n, kIvSize);
  b.tag = bytes.substr(2 + n + kIvSize, kTagSize);
  b.ciphertext = bytes.substr(2 + n + kIvSize + kTagSize);
  return b;
}

std::string canonicalContext(const EncryptionContext& context) {
  std::string out;
  for (const auto& [k, v] : context) {  // std::map: sorted by key
    appendLength(out, k.size());
    out += k;
    appendLength(out, v.size());
    out += v;
  }
  return out;
}

Result<std::string> sealBlob(std::string_view key, std::string_view key_id, std::string_view plaintext,
                             const EncryptionContext& context) {
  if (key.size() != kKeySize) return fail(ErrorCode::kInternal, "KMS key material has the wrong size");
  if (key_id.empty() || key_id.size() > kMaxKeyIdSize) return fail(ErrorCode::kInternal, "KMS key id is too long");
  std::string header;
  header.push_back(static_cast<char>(kBlobVersion));
  header.push_back(static_cast<char>(key_id.size()));
  header += key_id;
  std::string iv = randomBytes(kIvSize);
  std::string ciphertext, tag;
  if (!gcmEncrypt(key, iv, header + canonicalContext(context), plaintext, ciphertext, tag))
    return fail(ErrorCode::kInternal, "AES-GCM encryption failed");
  return header + iv + tag + ciphertext;
}

Result<std::string> openBlob(std::string_view key, const CiphertextBlob& blob, const EncryptionContext& context) {
  std::string plaintext;
  if (!gcmDecrypt(key, blob.iv, std::string(blob.header) + canonicalContext(context), blob.ciphertext, blob.tag,
                  plaintext))
    return invalid("The ciphertext does not authenticate.");
  return plaintext;
}

Result<std::string> seal(std::string_view key, std::string_view plaintext, std::string_view aad) {
  if (key.size() != kKeySize) return fail(ErrorCode::kInternal, "AES-256 key has the wrong size");
  std::string iv = randomBytes(kIvSize);
  std::string ciphertext, tag;
  if (!gcmEncrypt(key, iv, aad, plaintext, ciphertext, tag))
    return fail(ErrorCode::kInternal, "AES-GCM encryption failed");
  return iv + tag + ciphertext;
}

Result<std::string> open(std::string_view key, std::string_view sealed, std::string_view aad) {
  if (sealed.size() < kIvSize + kTagSize) return invalid("sealed data is too short");
  std::string plaintext;
  if (!gcmDecrypt(key, sealed.substr(0, kIvSize), aad, sealed.substr(kIvSize + kTagSize),
                  sealed.substr(kIvSize, kTagSize), plaintext))
    return invalid("sealed data does not authenticate");
  return plaintext;
}

std::string base64Encode(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(u(out), u(bytes), static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

std::optional<std::string> base64Decode(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  size_t pad = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    bool alpha = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/';
    if (c == '=') {
      if (i + 2 < text.size()) return std::nullopt;  // padding only in the last two places
      ++pad;
    } else if (!alpha || pad > 0) {
      return std::nullopt;
    }
  }
  if (text.empty()) return std::string();
  std::string out(text.size() / 4 * 3, '\0');
  int n = EVP_DecodeBlock(u(out), u(text), static_cast<int>(text.size()));
  if (n < 0) return std::nullopt;
  out.resize(static_cast<size_t>(n) - pad);  // EVP_DecodeBlock counts padding as zero bytes
  return out;
}

}  // namespace berth::kms
