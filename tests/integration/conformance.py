"""Response conformance checks against botocore's service models.

Every response the integration tests receive is checked here against the
output shape (or, for errors, the error shape) of the operation in
botocore's model: member types (timestamps are numbers in the JSON
protocols), required members, enum values, list/map element shapes, and no
members the model does not know (clients drop those silently, so a typo in
a member name would otherwise pass unnoticed). ``null`` values are reported
too: AWS omits absent members instead of sending ``null``.

The models are read as plain JSON (``service-2.json`` or ``.json.gz``), not
through botocore, so this module also loads inside the aws CLI v2, which
carries its own botocore (see ``cli_plugin/``). The newest botocore found on
the machine wins (the machine's pyenv Python has a much newer one than
Debian's python3-botocore); ``BERTH_BOTOCORE_DATA`` (os.pathsep-separated
``botocore/data`` directories) overrides the search.

Hook it into a boto3 client with ``install(client)``: a violation raises
``ConformanceError`` (an ``AssertionError``, so unittest reports a failure)
out of the API call, naming the operation, the JSON path and the reason.
"""

import base64
import binascii
import datetime
import glob
import gzip
import json
import os
import re
import threading
import xml.etree.ElementTree as ETree

MARKER = "BERTH-CONFORMANCE-VIOLATION"

# Errors any AWS service may return that service models do not list
# (https://docs.aws.amazon.com/ ... /CommonErrors), in their JSON (Coral)
# and Query spellings.
COMMON_ERRORS = {
    "AccessDeniedException", "IncompleteSignature", "IncompleteSignatureException",
    "InternalFailure", "InternalServerError", "InvalidAction", "InvalidClientTokenId",
    "InvalidParameterCombination", "InvalidParameterValue", "InvalidQueryParameter",
    "MalformedQueryString", "MissingAction", "MissingAuthenticationToken",
    "MissingAuthenticationTokenException", "MissingParameter", "NotAuthorized",
    "OptInRequired", "RequestExpired", "RequestEntityTooLarge",
    "RequestEntityTooLargeException", "ServiceUnavailable", "ServiceUnavailableException",
    "ThrottlingException", "Throttling", "ValidationError", "ValidationException",
    "SerializationException", "UnknownOperationException", "UnrecognizedClientException",
    "InvalidSignatureException", "SignatureDoesNotMatch", "ExpiredTokenException",
    "InvalidAccessKeyId", "AccessDenied", "RequestTimeout",
    "InvalidAction", "UnsupportedProtocol", "InvalidHttpRequest",
}

_INT_RANGE = {"integer": (-(2 ** 31), 2 ** 31 - 1), "long": (-(2 ** 63), 2 ** 63 - 1),
              "short": (-(2 ** 15), 2 ** 15 - 1), "byte": (-128, 127)}


class ConformanceError(AssertionError):
    """A response that botocore's model would reject (or silently mangle)."""


# ---------------------------------------------------------------- models

def _botocore_version(data_dir):
    init = os.path.join(os.path.dirname(data_dir), "__init__.py")
    try:
        with open(init, encoding="utf-8") as f:
            m = re.search(r"__version__\s*=\s*['\"]([0-9.]+)['\"]", f.read())
    except OSError:
        return ()
    if not m:
        return ()
    return tuple(int(p) for p in m.group(1).split("."))


def candidate_data_dirs():
    """botocore data directories, preferred first."""
    env = os.environ.get("BERTH_BOTOCORE_DATA")
    if env:
        return [d for d in env.split(os.pathsep) if d]
    dirs = set()
    for pattern in ("/root/.pyenv/versions/*/lib/python3*/site-packages/botocore/data",
                    os.path.expanduser("~/.pyenv/versions/*/lib/python3*/site-packages/botocore/data"),
                    "/usr/lib/python3/dist-packages/botocore/data",
                    "/usr/local/lib/python3*/dist-packages/botocore/data"):
        dirs.update(d for d in glob.glob(pattern) if os.path.isdir(d))
    return sorted(dirs, key=_botocore_version, reverse=True)


_models = {}
_models_lock = threading.Lock()


def load_model(service):
    """The newest service-2 model for `service` (botocore's directory name)."""
    with _models_lock:
        if service in _models:
            return _models[service]
        for data_dir in candidate_data_dirs():
            sdir = os.path.join(data_dir, service)
            if not os.path.isdir(sdir):
                continue
            for version in sorted(os.listdir(sdir), reverse=True):
                base = os.path.join(sdir, version, "service-2.json")
                if os.path.exists(base):
                    with open(base, "rb") as f:
                        model = json.loads(f.read())
                elif os.path.exists(base + ".gz"):
                    with gzip.open(base + ".gz", "rb") as f:
                        model = json.loads(f.read())
                else:
                    continue
                model["_source"] = os.path.join(sdir, version)
                _models[service] = model
                return model
        raise FileNotFoundError(f"no botocore model for service {service!r} in {candidate_data_dirs()}")


# ---------------------------------------------------------------- JSON

class _Checker:
    def __init__(self, model):
        self.model = model
        self.shapes = model["shapes"]
        self.violations = []

    def fail(self, path, reason):
        if len(self.violations) < 50:
            self.violations.append(f"{path or '$'}: {reason}")

    # JSON protocols (json, rest-json)
    def json_value(self, shape_name, value, path, timestamp_format="unix-timestamp"):
        shape = self.shapes[shape_name]
        t = shape["type"]
        if value is None:
            self.fail(path, f"null for {t} shape {shape_name} (AWS omits absent members)")
            return
        if t == "structure":
            if shape.get("document"):
                return
            if not isinstance(value, dict):
                self.fail(path, f"expected object (structure {shape_name}), got {type(value).__name__}")
                return
            self.json_structure(shape_name, shape, value, path)
        elif t == "list":
            if not isinstance(value, list):
                self.fail(path, f"expected array (list {shape_name}), got {type(value).__name__}")
                return
            member = shape["member"]["shape"]
            for i, v in enumerate(value):
                self.json_value(member, v, f"{path}[{i}]")
        elif t == "map":
            if not isinstance(value, dict):
                self.fail(path, f"expected object (map {shape_name}), got {type(value).__name__}")
                return
            kshape, vshape = shape["key"]["shape"], shape["value"]["shape"]
            for k, v in value.items():
                self.scalar_string(kshape, k, f"{path}{{key {k!r}}}")
                self.json_value(vshape, v, f"{path}[{k!r}]")
        elif t in ("string", "character"):
            if not isinstance(value, str):
                self.fail(path, f"expected string ({shape_name}), got {type(value).__name__} {value!r:.60}")
                return
            self.scalar_string(shape_name, value, path)
        elif t in _INT_RANGE:
            if isinstance(value, bool) or not isinstance(value, int):
                self.fail(path, f"expected {t} ({shape_name}), got {type(value).__name__} {value!r:.60}")
                return
            lo, hi = _INT_RANGE[t]
            if not lo <= value <= hi:
                self.fail(path, f"{t} {value} out of range")
        elif t in ("float", "double"):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                self.fail(path, f"expected number ({t} {shape_name}), got {type(value).__name__} {value!r:.60}")
        elif t == "boolean":
            if not isinstance(value, bool):
                self.fail(path, f"expected boolean ({shape_name}), got {type(value).__name__} {value!r:.60}")
        elif t == "timestamp":
            fmt = shape.get("timestampFormat", timestamp_format)
            if fmt == "unix-timestamp":
                if isinstance(value, bool) or not isinstance(value, (int, float)):
                    self.fail(path, f"expected timestamp as epoch seconds (number), got {type(value).__name__} {value!r:.60}")
                elif not 0 <= value < 32503680000:
                    self.fail(path, f"timestamp {value} is not plausible epoch seconds")
            else:
                if not isinstance(value, str) or not _parse_iso8601(value):
                    self.fail(path, f"expected {fmt} timestamp string, got {value!r:.60}")
        elif t == "blob":
            if not isinstance(value, str):
                self.fail(path, f"expected base64 string (blob), got {type(value).__name__}")
                return
            try:
                base64.b64decode(value, validate=True)
            except (binascii.Error, ValueError):
                self.fail(path, "blob is not valid base64")
        else:
            self.fail(path, f"unsupported shape type {t} in model")

    def json_structure(self, shape_name, shape, value, path, skip_located=True):
        members = shape.get("members", {})
        by_wire = {}
        for name, ref in members.items():
            if skip_located and "location" in ref:
                continue
            by_wire[ref.get("locationName", ref.get("jsonName", name))] = (name, ref)
        for key, v in value.items():
            if key not in by_wire:
                self.fail(f"{path}.{key}", f"unknown member (not in {shape_name}; clients drop it)")
                continue
            _, ref = by_wire[key]
            self.json_value(ref["shape"], v, f"{path}.{key}",
                            ref.get("timestampFormat", "unix-timestamp"))
        for req in shape.get("required", []):
            ref = members.get(req, {})
            if skip_located and "location" in ref:
                continue
            wire = ref.get("locationName", ref.get("jsonName", req))
            if wire not in value:
                self.fail(f"{path}.{wire}", f"required member of {shape_name} missing")
        if shape.get("union") and len(value) != 1:
            self.fail(path, f"union {shape_name} must have exactly one member set, has {len(value)}")

    def scalar_string(self, shape_name, value, path):
        shape = self.shapes[shape_name]
        if shape.get("type") not in ("string", "character"):
            return
        enum = shape.get("enum")
        if enum and value not in enum:
            self.fail(path, f"{value!r} is not a value of enum {shape_name} {enum}")

    # XML protocols (query, ec2)
    def xml_value(self, shape_name, node, path, protocol):
        shape = self.shapes[shape_name]
        t = shape["type"]
        if t == "structure":
            self.xml_structure(shape_name, shape, node, path, protocol)
        elif t == "list":
            member_ref = shape["member"]
            item_tag = member_ref.get("locationName", "member")
            for i, child in enumerate(node):
                tag = _tag(child)
                if tag != item_tag:
                    self.fail(f"{path}/{tag}", f"list {shape_name} items must be <{item_tag}>")
                    continue
                self.xml_value(member_ref["shape"], child, f"{path}[{i}]", protocol)
            if (node.text or "").strip():
                self.fail(path, f"list {shape_name} has text content {node.text.strip()!r:.40}")
        elif t == "map":
            key_tag = shape["key"].get("locationName", "key")
            val_tag = shape["value"].get("locationName", "value")
            for i, entry in enumerate(node):
                if _tag(entry) != "entry" and not shape.get("flattened"):
                    self.fail(f"{path}/{_tag(entry)}", f"map {shape_name} items must be <entry>")
                    continue
                tags = [_tag(c) for c in entry]
                if sorted(tags) != sorted([key_tag, val_tag]):
                    self.fail(f"{path}[{i}]", f"map entry must hold <{key_tag}> and <{val_tag}>, has {tags}")
                    continue
                for c in entry:
                    s = shape["key"]["shape"] if _tag(c) == key_tag else shape["value"]["shape"]
                    self.xml_value(s, c, f"{path}[{i}].{_tag(c)}", protocol)
        else:
            if len(node):
                self.fail(path, f"expected text for {t} {shape_name}, got child elements")
                return
            text = node.text or ""
            if t in ("string", "character"):
                self.scalar_string(shape_name, text, path)
            elif t in _INT_RANGE:
                if not re.fullmatch(r"-?[0-9]+", text.strip()):
                    self.fail(path, f"expected {t}, got {text!r:.60}")
            elif t in ("float", "double"):
                try:
                    float(text)
                except ValueError:
                    self.fail(path, f"expected number, got {text!r:.60}")
            elif t == "boolean":
                if text not in ("true", "false"):
                    self.fail(path, f"expected true/false, got {text!r:.60}")
            elif t == "timestamp":
                if not _parse_iso8601(text.strip()):
                    self.fail(path, f"expected ISO 8601 timestamp, got {text!r:.60}")
            elif t == "blob":
                try:
                    base64.b64decode(text.strip(), validate=True)
                except (binascii.Error, ValueError):
                    self.fail(path, "blob is not valid base64")

    def xml_structure(self, shape_name, shape, node, path, protocol, extra_allowed=()):
        members = shape.get("members", {})
        by_tag = {}
        for name, ref in members.items():
            if "location" in ref:
                continue
            target = self.shapes[ref["shape"]]
            if target["type"] == "list" and target.get("flattened"):
                tag = target["member"].get("locationName", ref.get("locationName", name))
            else:
                tag = ref.get("locationName", name)
            by_tag[tag] = (name, ref, target)
        seen = {}
        for child in node:
            tag = _tag(child)
            if tag in extra_allowed:
                continue
            if tag not in by_tag:
                self.fail(f"{path}/{tag}", f"unknown element (not in {shape_name}; clients drop it)")
                continue
            seen.setdefault(tag, []).append(child)
        for tag, nodes in seen.items():
            name, ref, target = by_tag[tag]
            if target["type"] == "list" and target.get("flattened"):
                for i, n in enumerate(nodes):
                    self.xml_value(target["member"]["shape"], n, f"{path}/{tag}[{i}]", protocol)
                continue
            if len(nodes) > 1:
                self.fail(f"{path}/{tag}", f"element repeated {len(nodes)} times")
            self.xml_value(ref["shape"], nodes[0], f"{path}/{tag}", protocol)
        for req in shape.get("required", []):
            ref = members.get(req, {})
            if "location" in ref:
                continue
            tag = ref.get("locationName", req)
            if tag not in seen:
                self.fail(f"{path}/{tag}", f"required member of {shape_name} missing")


def _tag(node):
    return node.tag.rsplit("}", 1)[-1]


_ISO = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})")


def _parse_iso8601(text):
    if not isinstance(text, str) or not _ISO.fullmatch(text):
        return None
    try:
        return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def _header(headers, name):
    for k, v in headers.items():
        if k.lower() == name.lower():
            return v
    return None


def error_shapes(model):
    return {n for n, s in model["shapes"].items() if s.get("exception")}


def check_response(service, operation, status, headers, body):
    """Return a list of violations ("path: reason") for one HTTP response."""
    model = load_model(service)
    op = model["operations"].get(operation)
    if op is None:
        return [f"$: operation {operation} is not in the {service} model"]
    protocol = model["metadata"]["protocol"]
    checker = _Checker(model)
    if _header(headers, "x-amzn-RequestId") is None:
        checker.fail("header", "x-amzn-RequestId header missing")
    if protocol in ("json", "rest-json"):
        _check_json(checker, model, op, protocol, status, headers, body)
    elif protocol in ("query", "ec2"):
        _check_xml(checker, model, op, protocol, status, headers, body)
    return checker.violations


def _check_json(checker, model, op, protocol, status, headers, body):
    ctype = (_header(headers, "content-type") or "").split(";")[0].strip()
    if protocol == "json":
        want = "application/x-amz-json-" + model["metadata"].get("jsonVersion", "1.0")
        if body and ctype not in (want, "application/json"):
            checker.fail("header", f"Content-Type {ctype!r}, expected {want}")
    if body:
        try:
            value = json.loads(body)
        except ValueError as e:
            checker.fail("$", f"body is not JSON ({e}): {body[:120]!r}")
            return
    else:
        value = {}
    if status >= 300:
        _check_json_error(checker, model, op, status, value)
        return
    if status != 200 and protocol == "json":
        checker.fail("status", f"HTTP {status} for a successful JSON-protocol call (expected 200)")
    out = op.get("output")
    if out is None:
        if value not in ({}, None):
            checker.fail("$", f"operation has no output, body is {value!r:.80}")
        return
    if not isinstance(value, dict):
        checker.fail("$", f"body must be a JSON object, got {type(value).__name__}")
        return
    shape = model["shapes"][out["shape"]]
    checker.json_structure(out["shape"], shape, value, "$")


def _check_json_error(checker, model, op, status, value):
    if not isinstance(value, dict):
        checker.fail("$", f"error body must be a JSON object, got {value!r:.80}")
        return
    code = value.get("__type")
    if not isinstance(code, str) or not code:
        checker.fail("$.__type", f"error body lacks __type (HTTP {status}): {value!r:.120}")
        return
    code = code.split(":", 1)[0].rsplit("#", 1)[-1]
    modeled = error_shapes(model)
    if code not in modeled and code not in COMMON_ERRORS:
        checker.fail("$.__type", f"{code} is neither an error of this service's model nor a common AWS error")
    msg = value.get("message", value.get("Message"))
    if msg is not None and not isinstance(msg, str):
        checker.fail("$.message", f"message must be a string, got {msg!r:.60}")
    if code in modeled:
        shape = model["shapes"][code]
        http = shape.get("error", {}).get("httpStatusCode")
        if http is not None and http != status:
            checker.fail("status", f"{code} is HTTP {http} in the model, got {status}")
        rest = {k: v for k, v in value.items() if k not in ("__type", "message", "Message")}
        members = {k: r for k, r in shape.get("members", {}).items() if k not in ("message", "Message")}
        checker.json_structure(code, dict(shape, members=members, required=[r for r in shape.get("required", []) if r not in ("message", "Message")]), rest, "$")
    else:
        extra = set(value) - {"__type", "message", "Message"}
        if extra:
            checker.fail("$", f"unknown members {sorted(extra)} in {code} error")
    if status < 400:
        checker.fail("status", f"error {code} with HTTP {status}")


def _check_xml(checker, model, op, protocol, status, headers, body):
    try:
        root = ETree.fromstring(body)
    except ETree.ParseError as e:
        checker.fail("$", f"body is not XML ({e}): {body[:120]!r}")
        return
    if status >= 300:
        if protocol == "ec2":
            if _tag(root) != "Response":
                checker.fail("/", f"EC2 error root must be <Response>, got <{_tag(root)}>")
                return
            errors = [c for c in root if _tag(c) == "Errors"]
            errs = [e for c in errors for e in c if _tag(e) == "Error"]
            if not errs:
                checker.fail("/Response", "no Errors/Error element")
            if not any(_tag(c) == "RequestID" for c in root):
                checker.fail("/Response", "no RequestID element")
        else:
            if _tag(root) != "ErrorResponse":
                checker.fail("/", f"Query error root must be <ErrorResponse>, got <{_tag(root)}>")
                return
            errs = [c for c in root if _tag(c) == "Error"]
            if not errs:
                checker.fail("/ErrorResponse", "no Error element")
            if not any(_tag(c) == "RequestId" for c in root):
                checker.fail("/ErrorResponse", "no RequestId element")
        for e in errs:
            tags = {_tag(c): (c.text or "") for c in e}
            if not tags.get("Code"):
                checker.fail("Error/Code", "missing or empty")
            if protocol == "query" and tags.get("Type") not in ("Sender", "Receiver"):
                checker.fail("Error/Type", f"must be Sender or Receiver, got {tags.get('Type')!r}")
        return
    want_root = op["name"] + "Response"
    if _tag(root) != want_root:
        checker.fail("/", f"root element <{_tag(root)}>, expected <{want_root}>")
        return
    out = op.get("output")
    if protocol == "ec2":
        if out is None:
            checker.xml_structure("(none)", {"members": {}}, root, "/" + want_root, protocol,
                                  extra_allowed=("requestId", "return"))
            return
        if not any(_tag(c) == "requestId" for c in root):
            checker.fail("/" + want_root, "no requestId element")
        checker.xml_structure(out["shape"], model["shapes"][out["shape"]], root, "/" + want_root,
                              protocol, extra_allowed=("requestId",))
        return
    # query
    kids = {_tag(c): c for c in root}
    if "ResponseMetadata" not in kids:
        checker.fail("/" + want_root, "no ResponseMetadata element")
    for tag in kids:
        if tag not in ("ResponseMetadata", out.get("resultWrapper") if out else None):
            checker.fail(f"/{want_root}/{tag}", "unexpected element")
    if out is not None:
        wrapper = out.get("resultWrapper")
        node = kids.get(wrapper) if wrapper else root
        if node is None:
            checker.fail(f"/{want_root}/{wrapper}", "result wrapper missing")
            return
        checker.xml_structure(out["shape"], model["shapes"][out["shape"]], node,
                              f"/{want_root}/{wrapper}", protocol)


# ---------------------------------------------------------------- hooks

def format_violations(service, operation, status, violations, body):
    lines = [f"{MARKER}: {service}.{operation} HTTP {status} does not conform to botocore's model "
             f"({load_model(service)['_source']}):"]
    lines += [f"  {v}" for v in violations]
    snippet = body[:600] if isinstance(body, (bytes, bytearray)) else str(body)[:600]
    lines.append(f"  body: {snippet!r}")
    return "\n".join(lines)


class Stats:
    """Counts of responses checked, for tests that assert the hook is live."""

    def __init__(self):
        self.checked = 0
        self.operations = []


def make_handler(service, stats=None):
    def after_call(http_response=None, model=None, **_):
        if http_response is None or model is None:
            return
        body = http_response.content or b""
        violations = check_response(service, model.name, http_response.status_code,
                                     dict(http_response.headers), body)
        if stats is not None:
            stats.checked += 1
            stats.operations.append(model.name)
        if violations:
            raise ConformanceError(format_violations(service, model.name,
                                                     http_response.status_code, violations, body))
    return after_call


def install(client):
    """Check every response `client` receives; returns the Stats object."""
    service = client.meta.service_model.service_name
    load_model(service)  # fail early if there is no model
    stats = Stats()
    client.meta.events.register("after-call", make_handler(service, stats),
                                unique_id="berth-conformance")
    client.berth_conformance = stats
    return stats
