"""KMS (TrentService) and SSM Parameter Store (AmazonSSM) through the aws CLI v2
and boto3 against berthd --agent fake.

- KMS: keys, aliases, Encrypt/Decrypt round trips with fileb:// and an
  encryption context, DisableKey -> DisabledException, bad ciphertext ->
  InvalidCiphertextException, scheduled deletion.
- SSM: String and SecureString parameters (the default alias/aws/ssm key and a
  customer key), GetParameter with and without decryption, versions, labels,
  GetParametersByPath with recursion and pagination, DeleteParameter(s), and a
  disabled key failing decryption.
- Permissions: an IAM user allowed ssm:GetParameter* on one path and
  kms:Decrypt on one key reads exactly those SecureStrings (and those under
  alias/aws/ssm, which need no kms:Decrypt through SSM); anything else is
  AccessDeniedException, also through KMS's own API.
- Secrets at rest: the plaintext of a SecureString appears nowhere in berthd's
  data directory (SQLite database and WAL included) nor in its log, also after
  a restart; the KMS master key file is mode 0600.

Every response is checked against botocore's model (conformance.py, and
berthd --check-responses).
"""

import base64
import os
import stat
import unittest

from berth_harness import ACCOUNT, REGION, BerthdTestCase

SECRET = "postgres://app:Tr0ub4dor-3-s3cr3t@db.dev.local/app"


class KmsSsmTest(BerthdTestCase):

    @classmethod
    def setUpClassState(cls):
        cls.kms = cls.berthd.client("kms")
        cls.ssm = cls.berthd.client("ssm")

    def error_code(self, fn, **kwargs):
        try:
            fn(**kwargs)
        except self.kms.exceptions.ClientError as e:
            return e.response["Error"]["Code"], e.response["Error"].get("Message", "")
        self.fail(f"{fn.__name__} succeeded")

    def new_key(self, description="test key"):
        return self.kms.create_key(Description=description)["KeyMetadata"]

    # ------------------------------------------------------------------ KMS
    def test_kms_encrypt_decrypt_round_trip_with_the_cli(self):
        d = self.berthd
        key = d.aws("kms", "create-key", "--description", "cli key")["KeyMetadata"]
        self.assertEqual(key["KeyState"], "Enabled")
        self.assertEqual(key["Arn"], f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{key['KeyId']}")
        d.aws("kms", "create-alias", "--alias-name", "alias/cli", "--target-key-id", key["KeyId"])

        plain_file = os.path.join(d.data_dir, "..", "plain.bin")
        with open(plain_file, "wb") as f:
            f.write(b"hello \x00\x01 binary")
        enc = d.aws("kms", "encrypt", "--key-id", "alias/cli", "--plaintext", f"fileb://{plain_file}",
                    "--encryption-context", "purpose=test,app=berth")
        self.assertEqual(enc["KeyId"], key["Arn"])
        blob_file = os.path.join(d.data_dir, "..", "blob.bin")
        with open(blob_file, "wb") as f:
            f.write(base64.b64decode(enc["CiphertextBlob"]))
        dec = d.aws("kms", "decrypt", "--ciphertext-blob", f"fileb://{blob_file}",
                    "--encryption-context", "app=berth,purpose=test")
        self.assertEqual(base64.b64decode(dec["Plaintext"]), b"hello \x00\x01 binary")
        self.assertEqual(dec["KeyId"], key["Arn"])

        err = d.aws("kms", "decrypt", "--ciphertext-blob", f"fileb://{blob_file}",
                    "--encryption-context", "app=other", check=False)
        self.assertEqual(err.code, "InvalidCiphertextException")

        d.aws("kms", "disable-key", "--key-id", key["KeyId"])
        err = d.aws("kms", "decrypt", "--ciphertext-blob", f"fileb://{blob_file}",
                    "--encryption-context", "app=berth,purpose=test", check=False)
        self.assertEqual(err.code, "DisabledException")
        self.assertIn(f"{key['Arn']} is disabled.", err.stderr)
        d.aws("kms", "enable-key", "--key-id", key["KeyId"])
        d.aws("kms", "decrypt", "--ciphertext-blob", f"fileb://{blob_file}",
              "--encryption-context", "app=berth,purpose=test")

    def test_kms_bad_ciphertext_and_unknown_keys(self):
        key = self.new_key()
        blob = self.kms.encrypt(KeyId=key["KeyId"], Plaintext=b"abc")["CiphertextBlob"]
        tampered = bytearray(blob)
        tampered[-1] ^= 0xFF
        self.assertEqual(self.error_code(self.kms.decrypt, CiphertextBlob=bytes(tampered))[0],
                         "InvalidCiphertextException")
        self.assertEqual(self.error_code(self.kms.decrypt, CiphertextBlob=b"not a kms blob at all")[0],
                         "InvalidCiphertextException")
        other = self.new_key()
        self.assertEqual(self.error_code(self.kms.decrypt, CiphertextBlob=blob, KeyId=other["KeyId"])[0],
                         "IncorrectKeyException")
        code, msg = self.error_code(self.kms.describe_key, KeyId="11111111-2222-3333-4444-555555555555")
        self.assertEqual(code, "NotFoundException")
        self.assertEqual(msg, f"Key 'arn:aws:kms:{REGION}:{ACCOUNT}:key/11111111-2222-3333-4444-555555555555' "
                              "does not exist")
        code, msg = self.error_code(self.kms.describe_key, KeyId="alias/none")
        self.assertEqual(msg, f"Alias arn:aws:kms:{REGION}:{ACCOUNT}:alias/none is not found.")

    def test_kms_key_lifecycle_aliases_and_data_keys(self):
        key = self.new_key()
        kid = key["KeyId"]
        self.kms.create_alias(AliasName="alias/life", TargetKeyId=kid)
        self.assertEqual(self.error_code(self.kms.create_alias, AliasName="alias/life", TargetKeyId=kid)[0],
                         "AlreadyExistsException")
        self.assertEqual(self.error_code(self.kms.create_alias, AliasName="alias/aws/x", TargetKeyId=kid)[0],
                         "InvalidAliasNameException")
        aliases = [a["AliasName"] for a in self.kms.list_aliases(KeyId=kid)["Aliases"]]
        self.assertEqual(aliases, ["alias/life"])
        keys = [k["KeyId"] for page in self.kms.get_paginator("list_keys").paginate(PaginationConfig={"PageSize": 1})
                for k in page["Keys"]]
        self.assertIn(kid, keys)
        self.assertEqual(len(keys), len(set(keys)))

        policy = self.kms.get_key_policy(KeyId=kid, PolicyName="default")["Policy"]
        self.assertIn(f"arn:aws:iam::{ACCOUNT}:root", policy)
        self.assertEqual(self.error_code(self.kms.put_key_policy, KeyId=kid, PolicyName="default",
                                         Policy="{not json")[0], "MalformedPolicyDocumentException")

        dk = self.kms.generate_data_key(KeyId="alias/life", KeySpec="AES_256")
        self.assertEqual(len(dk["Plaintext"]), 32)
        self.assertEqual(self.kms.decrypt(CiphertextBlob=dk["CiphertextBlob"])["Plaintext"], dk["Plaintext"])
        other = self.new_key()
        re = self.kms.re_encrypt(CiphertextBlob=dk["CiphertextBlob"], DestinationKeyId=other["KeyId"])
        self.assertEqual(re["SourceKeyId"], key["Arn"])
        self.assertEqual(self.kms.decrypt(CiphertextBlob=re["CiphertextBlob"])["Plaintext"], dk["Plaintext"])

        self.kms.tag_resource(KeyId=kid, Tags=[{"TagKey": "team", "TagValue": "a"}])
        self.assertEqual(self.kms.list_resource_tags(KeyId=kid)["Tags"], [{"TagKey": "team", "TagValue": "a"}])
        self.kms.enable_key_rotation(KeyId=kid)
        self.assertTrue(self.kms.get_key_rotation_status(KeyId=kid)["KeyRotationEnabled"])

        sched = self.kms.schedule_key_deletion(KeyId=kid, PendingWindowInDays=7)
        self.assertEqual(sched["KeyState"], "PendingDeletion")
        code, msg = self.error_code(self.kms.encrypt, KeyId=kid, Plaintext=b"x")
        self.assertEqual(code, "KMSInvalidStateException")
        self.assertEqual(msg, f"{key['Arn']} is pending deletion.")
        self.kms.cancel_key_deletion(KeyId=kid)
        self.assertEqual(self.kms.describe_key(KeyId=kid)["KeyMetadata"]["KeyState"], "Disabled")

    # ------------------------------------------------------------------ SSM
    def test_ssm_secure_string_with_the_cli_and_the_data_dir_holds_no_plaintext(self):
        d = self.berthd
        out = d.aws("ssm", "put-parameter", "--name", "/durableai/dev/db-url", "--type", "SecureString",
                    "--value", SECRET)
        self.assertEqual(out["Version"], 1)
        raw = d.aws("ssm", "get-parameter", "--name", "/durableai/dev/db-url")["Parameter"]
        self.assertEqual(raw["Type"], "SecureString")
        self.assertNotEqual(raw["Value"], SECRET)
        base64.b64decode(raw["Value"], validate=True)  # the ciphertext, as AWS returns it
        plain = d.aws("ssm", "get-parameter", "--name", "/durableai/dev/db-url", "--with-decryption")["Parameter"]
        self.assertEqual(plain["Value"], SECRET)
        self.assertEqual(plain["ARN"], f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/durableai/dev/db-url")
        described = self.ssm.describe_parameters(
            ParameterFilters=[{"Key": "Name", "Values": ["/durableai/dev/db-url"]}])["Parameters"]
        self.assertEqual(described[0]["KeyId"], "alias/aws/ssm")
        managed = self.kms.describe_key(KeyId="alias/aws/ssm")["KeyMetadata"]
        self.assertEqual(managed["KeyManager"], "AWS")

        self.assert_plaintext_absent(SECRET)
        mode = stat.S_IMODE(os.stat(os.path.join(d.data_dir, "kms-master.key")).st_mode)
        self.assertEqual(mode, 0o600)

        d.restart()
        self.__class__.kms = d.client("kms")
        self.__class__.ssm = d.client("ssm")
        got = self.ssm.get_parameter(Name="/durableai/dev/db-url", WithDecryption=True)["Parameter"]
        self.assertEqual(got["Value"], SECRET)
        self.assert_plaintext_absent(SECRET)

    def assert_plaintext_absent(self, secret):
        needles = [secret.encode(), secret.encode("utf-16-le"), base64.b64encode(secret.encode())]
        files = []
        for root, _, names in os.walk(self.berthd.data_dir):
            files.extend(os.path.join(root, n) for n in names)
        if self.berthd.log_path:
            files.append(self.berthd.log_path)
        self.assertTrue(any(f.endswith("state.db") for f in files))
        for path in files:
            try:
                with open(path, "rb") as f:
                    data = f.read()
            except OSError:
                continue
            for n in needles:
                self.assertNotIn(n, data, f"the plaintext of a SecureString is in {path}")

    def test_ssm_versions_labels_and_errors(self):
        self.ssm.put_parameter(Name="/app/color", Value="red", Type="String", Description="colour")
        with self.assertRaises(self.ssm.exceptions.ParameterAlreadyExists) as cm:
            self.ssm.put_parameter(Name="/app/color", Value="blue", Type="String")
        self.assertEqual(cm.exception.response["Error"]["Message"],
                         "The parameter already exists. To overwrite this value, set the overwrite option in "
                         "the request to true.")
        self.assertEqual(self.ssm.put_parameter(Name="/app/color", Value="blue", Overwrite=True)["Version"], 2)
        self.assertEqual(self.ssm.get_parameter(Name="/app/color:1")["Parameter"]["Value"], "red")
        self.ssm.label_parameter_version(Name="/app/color", ParameterVersion=1, Labels=["stable"])
        self.assertEqual(self.ssm.get_parameter(Name="/app/color:stable")["Parameter"]["Value"], "red")
        history = self.ssm.get_parameter_history(Name="/app/color")["Parameters"]
        self.assertEqual([h["Version"] for h in history], [1, 2])
        self.assertEqual(history[0]["Labels"], ["stable"])
        got = self.ssm.get_parameters(Names=["/app/color", "/app/nothing", "/app/color:7"])
        self.assertEqual([p["Name"] for p in got["Parameters"]], ["/app/color"])
        self.assertEqual(sorted(got["InvalidParameters"]), ["/app/color:7", "/app/nothing"])
        self.assertAwsError("ParameterNotFound", self.ssm.get_parameter, Name="/app/nothing")
        self.assertAwsError("ParameterVersionNotFound", self.ssm.get_parameter, Name="/app/color:9")
        self.assertAwsError("ValidationException", self.ssm.put_parameter, Name="/aws/reserved", Value="x",
                            Type="String")
        self.assertAwsError("HierarchyLevelLimitExceededException", self.ssm.put_parameter,
                            Name="".join(f"/l{i}" for i in range(16)), Value="x", Type="String")
        self.ssm.add_tags_to_resource(ResourceType="Parameter", ResourceId="/app/color",
                                      Tags=[{"Key": "team", "Value": "a"}])
        tags = self.ssm.list_tags_for_resource(ResourceType="Parameter", ResourceId="/app/color")["TagList"]
        self.assertEqual(tags, [{"Key": "team", "Value": "a"}])
        self.ssm.delete_parameter(Name="/app/color")
        self.assertAwsError("ParameterNotFound", self.ssm.delete_parameter, Name="/app/color")

    def test_ssm_by_path_recursive_and_paginated(self):
        names = ["/svc/dev/a", "/svc/dev/b", "/svc/dev/db/url", "/svc/dev/db/user", "/svc/prod/a"]
        for n in names:
            self.ssm.put_parameter(Name=n, Value=n.upper(), Type="SecureString" if "db" in n else "String")
        flat = [p["Name"] for p in self.ssm.get_parameters_by_path(Path="/svc/dev")["Parameters"]]
        self.assertEqual(sorted(flat), ["/svc/dev/a", "/svc/dev/b"])
        pages = list(self.ssm.get_paginator("get_parameters_by_path").paginate(
            Path="/svc/dev/", Recursive=True, WithDecryption=True, PaginationConfig={"PageSize": 2}))
        self.assertGreater(len(pages), 1)
        found = {p["Name"]: p["Value"] for page in pages for p in page["Parameters"]}
        self.assertEqual(sorted(found), ["/svc/dev/a", "/svc/dev/b", "/svc/dev/db/url", "/svc/dev/db/user"])
        self.assertEqual(found["/svc/dev/db/url"], "/SVC/DEV/DB/URL")
        cli = self.berthd.aws("ssm", "get-parameters-by-path", "--path", "/svc", "--recursive",
                              "--parameter-filters", "Key=Type,Values=SecureString")
        self.assertEqual(sorted(p["Name"] for p in cli["Parameters"]), ["/svc/dev/db/url", "/svc/dev/db/user"])
        deleted = self.ssm.delete_parameters(Names=names + ["/svc/none"])
        self.assertEqual(sorted(deleted["DeletedParameters"]), sorted(names))
        self.assertEqual(deleted["InvalidParameters"], ["/svc/none"])

    def test_ssm_secure_string_with_a_disabled_customer_key(self):
        key = self.new_key("for ssm")
        self.ssm.put_parameter(Name="/cust/secret", Value="v-123", Type="SecureString", KeyId=key["KeyId"])
        self.assertEqual(self.ssm.get_parameter(Name="/cust/secret", WithDecryption=True)["Parameter"]["Value"],
                         "v-123")
        self.kms.disable_key(KeyId=key["KeyId"])
        err = self.assertAwsError("InvalidKeyId", self.ssm.get_parameter, Name="/cust/secret", WithDecryption=True)
        self.assertIn("is disabled.", err["Error"]["Message"])
        self.assertNotEqual(self.ssm.get_parameter(Name="/cust/secret")["Parameter"]["Value"], "v-123")
        self.assertAwsError("InvalidKeyId", self.ssm.put_parameter, Name="/cust/other", Value="x",
                            Type="SecureString", KeyId="alias/does-not-exist")
        self.kms.enable_key(KeyId=key["KeyId"])

    # ------------------------------------------------------------ permissions
    def client_for_user(self, name, policy):
        import json as _json
        import boto3
        from botocore.config import Config
        import conformance
        iam = self.berthd.client("iam")
        iam.create_user(UserName=name)
        iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=_json.dumps(policy))
        key = iam.create_access_key(UserName=name)["AccessKey"]
        clients = []
        for service in ("ssm", "kms"):
            session = boto3.session.Session(aws_access_key_id=key["AccessKeyId"],
                                            aws_secret_access_key=key["SecretAccessKey"], region_name=REGION)
            c = session.client(service, endpoint_url=self.berthd.endpoint,
                               config=Config(retries={"total_max_attempts": 1}, proxies={}))
            conformance.install(c)
            self.addCleanup(c.close)
            clients.append(c)
        return clients

    def test_a_user_reads_only_the_parameters_and_keys_its_policy_names(self):
        allowed_key = self.new_key("dev secrets")
        other_key = self.new_key("prod secrets")
        self.ssm.put_parameter(Name="/perm/dev/db-url", Value="dev-secret", Type="SecureString",
                               KeyId=allowed_key["KeyId"])
        self.ssm.put_parameter(Name="/perm/dev/other-key", Value="other-secret", Type="SecureString",
                               KeyId=other_key["KeyId"])
        self.ssm.put_parameter(Name="/perm/dev/default-key", Value="default-secret", Type="SecureString")
        self.ssm.put_parameter(Name="/perm/prod/db-url", Value="prod-secret", Type="SecureString",
                               KeyId=allowed_key["KeyId"])
        ssm, kms = self.client_for_user("perm-reader", {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": "ssm:GetParameter*",
                 "Resource": f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/perm/dev/*"},
                {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": allowed_key["Arn"]},
            ]})
        got = ssm.get_parameter(Name="/perm/dev/db-url", WithDecryption=True)["Parameter"]
        self.assertEqual(got["Value"], "dev-secret")
        # The AWS managed alias/aws/ssm key needs no kms:Decrypt through SSM.
        got = ssm.get_parameter(Name="/perm/dev/default-key", WithDecryption=True)["Parameter"]
        self.assertEqual(got["Value"], "default-secret")
        err = self.assertAwsError("AccessDeniedException", ssm.get_parameter, Name="/perm/prod/db-url",
                                  WithDecryption=True)
        self.assertIn("ssm:GetParameter", err["Error"]["Message"])
        err = self.assertAwsError("AccessDeniedException", ssm.get_parameter, Name="/perm/dev/other-key",
                                  WithDecryption=True)
        self.assertIn("kms:Decrypt", err["Error"]["Message"])
        self.assertIn(other_key["Arn"], err["Error"]["Message"])
        # Without decryption the ciphertext is readable with ssm: rights alone.
        ssm.get_parameter(Name="/perm/dev/other-key")
        # Through KMS's own API: the allowed key decrypts, aliases resolve
        # before the check, the other key is refused.
        blob = self.kms.encrypt(KeyId=allowed_key["KeyId"], Plaintext=b"k")["CiphertextBlob"]
        self.assertEqual(kms.decrypt(CiphertextBlob=blob)["Plaintext"], b"k")
        blob = self.kms.encrypt(KeyId=other_key["KeyId"], Plaintext=b"k")["CiphertextBlob"]
        self.assertAwsError("AccessDeniedException", kms.decrypt, CiphertextBlob=blob)
        self.assertAwsError("AccessDeniedException", kms.encrypt, KeyId=allowed_key["KeyId"], Plaintext=b"k")


if __name__ == "__main__":
    unittest.main()
