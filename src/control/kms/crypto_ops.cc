// Cryptographic operations: Encrypt, Decrypt, ReEncrypt, GenerateDataKey*,
// GenerateRandom, and the in-process encrypt()/decrypt().
#include <fmt/format.h>

#include "common/json.h"
#include "common/random.h"
#include "control/kms/errors.h"
#include "control/kms/kms.h"

namespace berth::kms {
namespace {

EncryptionContext contextOf(const bj::object& in, std::string_view member) {
  EncryptionContext out;
  if (const auto* o = json::getObject(in, member))
    for (const auto& [k, v] : *o)
      if (v.is_string()) out[std::string(k)] = std::string(v.get_string());
  return out;
}

Status checkAlgorithm(const bj::object& in, std::string_view member) {
  std::string algorithm = json::stringOr(in, member, "SYMMETRIC_DEFAULT");
  if (algorithm != "SYMMETRIC_DEFAULT")
    return invalidKeyUsage(fmt::format("The encryption algorithm {} is not compatible with a symmetric key.", algorithm));
  return {};
}

Status notDryRun(const bj::object& in) {
  if (json::getBool(in, "DryRun").value_or(false))
    return fail(ErrorCode::kFailedPrecondition, "The request would have succeeded, but the DryRun flag is set.",
                "DryRunOperationException");
  return {};
}

// A blob member, decoded. The model allows any base64; bad base64 never
// gets here, so this fails only on a member that is absent.
Result<std::string> blobOf(const bj::object& in, std::string_view member) {
  auto text = json::getString(in, member);
  if (!text) return validation(fmt::format("{} is required.", member));
  auto bytes = base64Decode(*text);
  if (!bytes) return invalidCiphertext();
  return std::move(*bytes);
}

}  // namespace

Result<Kms::Encrypted> Kms::encryptWith(std::string_view key_id, std::string_view plaintext,
                                        const EncryptionContext& context, std::string_view action,
                                        const iam::Caller& caller, std::string_view via_service) {
  Key* k = BERTH_TRY(usable(key_id, action, caller, via_service, &context));
  Encrypted out;
  out.blob = BERTH_TRY(sealBlob(k->material, idOf(*k), plaintext, context));
  out.key_arn = json::stringOr(k->meta, "Arn");
  return out;
}

Result<Kms::Decrypted> Kms::decryptBlob(std::string_view blob, const EncryptionContext& context,
                                        std::string_view expected_key, std::string_view action,
                                        const iam::Caller& caller, std::string_view via_service) {
  auto parsed = parseCiphertext(blob);
  if (!parsed) return invalidCiphertext();
  std::string blob_key(parsed->key_id);
  if (!expected_key.empty()) {
    Key* named = BERTH_TRY(resolve(expected_key));
    if (idOf(*named) != blob_key) return incorrectKey();
  }
  if (!keys_.contains(blob_key)) return invalidCiphertext();
  Key* k = BERTH_TRY(usable(blob_key, action, caller, via_service, &context));
  auto plaintext = openBlob(k->material, *parsed, context);
  if (!plaintext) return invalidCiphertext();
  return Decrypted{std::move(*plaintext), json::stringOr(k->meta, "Arn")};
}

Result<Kms::Encrypted> Kms::encrypt(std::string_view key_id, std::string_view plaintext,
                                    const EncryptionContext& context, const iam::Caller& caller,
                                    std::string_view via_service) {
  return encryptWith(key_id, plaintext, context, "kms:Encrypt", caller, via_service);
}

Result<Kms::Decrypted> Kms::decrypt(std::string_view blob, const EncryptionContext& context,
                                    const iam::Caller& caller, std::string_view via_service) {
  return decryptBlob(blob, context, {}, "kms:Decrypt", caller, via_service);
}

Result<bj::value> Kms::encryptOp(const bj::object& in, const iam::Caller& caller) {
  BERTH_TRY(checkAlgorithm(in, "EncryptionAlgorithm"));
  std::string plaintext = BERTH_TRY(blobOf(in, "Plaintext"));
  if (plaintext.empty() || plaintext.size() > 4096)
    return validation("1 validation error detected: Value at 'plaintext' failed to satisfy constraint: Member must "
                      "have length less than or equal to 4096");
  auto key_id = json::stringOr(in, "KeyId");
  Encrypted e = BERTH_TRY(encryptWith(key_id, plaintext, contextOf(in, "EncryptionContext"), "kms:Encrypt", caller));
  BERTH_TRY(notDryRun(in));
  return bj::object{
      {"CiphertextBlob", base64Encode(e.blob)}, {"KeyId", e.key_arn}, {"EncryptionAlgorithm", "SYMMETRIC_DEFAULT"}};
}

Result<bj::value> Kms::decryptOp(const bj::object& in, const iam::Caller& caller) {
  BERTH_TRY(checkAlgorithm(in, "EncryptionAlgorithm"));
  if (json::find(in, "Recipient")) return unsupported("berth does not support Nitro Enclaves recipients.");
  std::string blob = BERTH_TRY(blobOf(in, "CiphertextBlob"));
  Decrypted d = BERTH_TRY(decryptBlob(blob, contextOf(in, "EncryptionContext"), json::stringOr(in, "KeyId"),
                                      "kms:Decrypt", caller));
  BERTH_TRY(notDryRun(in));
  return bj::object{
      {"KeyId", d.key_arn}, {"Plaintext", base64Encode(d.plaintext)}, {"EncryptionAlgorithm", "SYMMETRIC_DEFAULT"}};
}

Result<bj::value> Kms::reEncrypt(const bj::object& in, const iam::Caller& caller) {
  BERTH_TRY(checkAlgorithm(in, "SourceEncryptionAlgorithm"));
  BERTH_TRY(checkAlgorithm(in, "DestinationEncryptionAlgorithm"));
  std::string blob = BERTH_TRY(blobOf(in, "CiphertextBlob"));
  Decrypted d = BERTH_TRY(decryptBlob(blob, contextOf(in, "SourceEncryptionContext"),
                                      json::stringOr(in, "SourceKeyId"), "kms:ReEncryptFrom", caller));
  Encrypted e = BERTH_TRY(encryptWith(json::stringOr(in, "DestinationKeyId"), d.plaintext,
                                      contextOf(in, "DestinationEncryptionContext"), "kms:ReEncryptTo", caller));
  BERTH_TRY(notDryRun(in));
  return bj::object{{"CiphertextBlob", base64Encode(e.blob)},
                    {"SourceKeyId", d.key_arn},
                    {"KeyId", e.key_arn},
                    {"SourceEncryptionAlgorithm", "SYMMETRIC_DEFAULT"},
                    {"DestinationEncryptionAlgorithm", "SYMMETRIC_DEFAULT"}};
}

Result<bj::value> Kms::dataKey(const bj::object& in, const iam::Caller& caller, bool with_plaintext) {
  auto spec = json::getString(in, "KeySpec");
  auto bytes = json::getInt(in, "NumberOfBytes");
  if (spec && bytes) return validation("Please specify either number of bytes or key spec.");
  if (!spec && !bytes) return validation("Please specify either number of bytes or key spec.");
  if (with_plaintext && json::find(in, "Recipient")) return unsupported("berth does not support Nitro Enclaves recipients.");
  size_t size = spec ? (*spec == "AES_128" ? 16 : 32) : static_cast<size_t>(*bytes);
  std::string plaintext = randomBytes(size);
  std::string action = with_plaintext ? "kms:GenerateDataKey" : "kms:GenerateDataKeyWithoutPlaintext";
  Encrypted e = BERTH_TRY(encryptWith(json::stringOr(in, "KeyId"), plaintext, contextOf(in, "EncryptionContext"),
                                      action, caller));
  BERTH_TRY(notDryRun(in));
  bj::object out{{"CiphertextBlob", base64Encode(e.blob)}, {"KeyId", e.key_arn}};
  if (with_plaintext) out["Plaintext"] = base64Encode(plaintext);
  return out;
}

Result<bj::value> Kms::generateDataKey(const bj::object& in, const iam::Caller& caller) {
  return dataKey(in, caller, true);
}

Result<bj::value> Kms::generateDataKeyWithoutPlaintext(const bj::object& in, const iam::Caller& caller) {
  return dataKey(in, caller, false);
}

Result<bj::value> Kms::generateRandom(const bj::object& in, const iam::Caller&) {
  if (json::find(in, "CustomKeyStoreId")) return unsupported("berth has no custom key stores.");
  if (json::find(in, "Recipient")) return unsupported("berth does not support Nitro Enclaves recipients.");
  int64_t n = json::getInt(in, "NumberOfBytes").value_or(0);
  if (n < 1) return validation("Please specify the number of bytes.");
  return bj::object{{"Plaintext", base64Encode(randomBytes(static_cast<size_t>(n)))}};
}

}  // namespace berth::kms
