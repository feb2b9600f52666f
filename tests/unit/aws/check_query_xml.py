#!/usr/bin/env python3
"""Reads berth's Query/EC2 XML responses back with botocore's own parsers.

Usage: check_query_xml.py CASES.json

CASES.json is a list of cases written by tests/unit/aws/query_codec_test.cc:
  {"service": "iam", "operation": "GetRole", "protocol": "query" | "ec2",
   "xml": "<GetRoleResponse ...>", "request_id": "...",
   "expected": {...},                      # for a success: the parsed output
   "error": {"code": ..., "message": ...}  # for an error response
  }
Each XML body goes through botocore.parsers.QueryParser or EC2QueryParser
with the operation's output shape from the installed botocore's model, and
the result must equal "expected" (timestamps compared as epoch seconds,
blobs as base64). Prints one line per failure and "N passed, N failed".

Exit status: 0 all passed, 1 a case failed, 77 botocore is not importable
(the C++ test then skips with that reason).
"""

import base64
import datetime
import json
import math
import sys

try:
    import botocore
    import botocore.parsers
    import botocore.session
except ImportError as e:  # pragma: no cover - depends on the machine
    print(f"botocore not importable: {e}")
    sys.exit(77)

# berth's service ids that botocore names differently.
BOTOCORE_NAMES = {"monitoring": "cloudwatch"}


def normalise(value):
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=datetime.timezone.utc)
        return value.timestamp()
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, dict):
        return {k: normalise(v) for k, v in value.items()}
    if isinstance(value, list):
        return [normalise(v) for v in value]
    return value


def same(a, b, path=""):
    """Returns a description of the first difference, or None."""
    if isinstance(a, bool) or isinstance(b, bool):
        return None if a is b else f"{path}: {a!r} != {b!r}"
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        if math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-6):
            return None
        return f"{path}: {a!r} != {b!r}"
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b)):
            if key not in a or key not in b:
                return f"{path}.{key}: only in {'parsed' if key in a else 'expected'}"
            diff = same(a[key], b[key], f"{path}.{key}")
            if diff:
                return diff
        return None
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return f"{path}: {len(a)} items != {len(b)} items"
        for i, (x, y) in enumerate(zip(a, b)):
            diff = same(x, y, f"{path}[{i}]")
            if diff:
                return diff
        return None
    return None if a == b and type(a) is type(b) else f"{path}: {a!r} != {b!r}"


def check(session, case):
    service = session.get_service_model(BOTOCORE_NAMES.get(case["service"], case["service"]))
    op = service.operation_model(case["operation"])
    parser = (
        botocore.parsers.EC2QueryParser()
        if case["protocol"] == "ec2"
        else botocore.parsers.QueryParser()
    )
    is_error = "error" in case
    response = {
        "body": case["xml"].encode("utf-8"),
        "headers": {},
        "status_code": 400 if is_error else 200,
    }
    parsed = parser.parse(response, op.output_shape)
    metadata = parsed.pop("ResponseMetadata", {})
    if metadata.get("RequestId") != case["request_id"]:
        return f"request id {metadata.get('RequestId')!r} != {case['request_id']!r}"
    if is_error:
        got = parsed.get("Error", {})
        want = case["error"]
        for key in ("Code", "Message"):
            if got.get(key) != want[key.lower()]:
                return f"Error.{key}: {got.get(key)!r} != {want[key.lower()]!r}"
        if "type" in want and got.get("Type") != want["type"]:
            return f"Error.Type: {got.get('Type')!r} != {want['type']!r}"
        return None
    return same(normalise(parsed), case["expected"])


def main():
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    with open(sys.argv[1], encoding="utf-8") as f:
        cases = json.load(f)
    session = botocore.session.get_session()
    passed = failed = 0
    for case in cases:
        name = f"{case['service']} {case['operation']}"
        try:
            diff = check(session, case)
        except Exception as e:  # a parser exception is a failure too
            diff = f"{type(e).__name__}: {e}"
        if diff:
            failed += 1
            print(f"FAIL {name}: {diff}\n  xml: {case['xml']}")
        else:
            passed += 1
    print(f"botocore {botocore.__version__}")
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
