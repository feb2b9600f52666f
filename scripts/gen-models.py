#!/usr/bin/env python3
"""Writes data/models/<id>.json: botocore service models stripped to what
matters on the wire.

Usage: scripts/gen-models.py [BOTOCORE_DATA_DIR] [--out DIR]

botocore's service-2.json files are the truth for request and response
shapes (ARCHITECTURE.md, decision 1). They are large mostly because of
documentation; berth needs the shapes, constraints, serialization traits and
error traits only. The output is committed, so a build does not depend on
which botocore the machine has; rerun this script to move to a newer one and
review the diff.

Each output file is minified JSON with the keys in this order:
  {"metadata": {..., "id": ..., "botocoreVersion": ...},
   "operations": {...}, "shapes": {...}}
"metadata" comes first so that berth can read it without parsing the rest
(see src/aws/model.cc).
"""

import argparse
import gzip
import json
import os
import re
import sys

DEFAULT_DATA_DIR = (
    "/root/.pyenv/versions/3.11.7/lib/python3.11/site-packages/botocore/data"
)

# berth's id for a service -> botocore's directory name.
SERVICES = {
    "ecs": "ecs",
    "ec2": "ec2",
    "logs": "logs",
    "ecr": "ecr",
    "servicediscovery": "servicediscovery",
    "application-autoscaling": "application-autoscaling",
    "iam": "iam",
    "sts": "sts",
    "ssm": "ssm",
    "kms": "kms",
    "monitoring": "cloudwatch",
}

# EC2 is huge; berth answers only what the ECS tooling asks of it.
EC2_OPERATIONS = [
    "DescribeVpcs",
    "DescribeSubnets",
    "DescribeSecurityGroups",
    "DescribeAvailabilityZones",
    "DescribeAccountAttributes",
    "DescribeNetworkInterfaces",
    "DescribeVpcAttribute",
]

# Keys that carry nothing a client or server acts on at run time.
DROPPED_KEYS = {
    "documentation",
    "documentationUrl",
    "deprecated",
    "deprecatedMessage",
    "deprecatedSince",
    "box",
    "synthetic",
    "examples",
    "readonly",
    "idempotent",
    "endpoint",
    "endpointdiscovery",
    "endpointoperation",
    "contextParam",
    "staticContextParams",
    "operationContextParams",
    "xmlOrder",
}

DROPPED_METADATA = {
    "serviceAbbreviation",
    "serviceFullName",
    "signatureVersion",
    "auth",
}


def botocore_version(data_dir):
    init = os.path.join(os.path.dirname(os.path.abspath(data_dir)), "__init__.py")
    try:
        with open(init, encoding="utf-8") as f:
            m = re.search(r"""__version__\s*=\s*['"]([^'"]+)['"]""", f.read())
            if m:
                return m.group(1)
    except OSError:
        pass
    return "unknown"


def load_model(data_dir, botocore_name):
    service_dir = os.path.join(data_dir, botocore_name)
    versions = sorted(
        v for v in os.listdir(service_dir)
        if os.path.isdir(os.path.join(service_dir, v))
    )
    if not versions:
        raise SystemExit(f"no model versions under {service_dir}")
    version_dir = os.path.join(service_dir, versions[-1])
    plain = os.path.join(version_dir, "service-2.json")
    if os.path.exists(plain):
        with open(plain, encoding="utf-8") as f:
            return json.load(f)
    with gzip.open(plain + ".gz", "rt", encoding="utf-8") as f:
        return json.load(f)


def strip(node):
    """Removes DROPPED_KEYS recursively (not inside enum lists)."""
    if isinstance(node, dict):
        return {k: strip(v) for k, v in node.items() if k not in DROPPED_KEYS}
    if isinstance(node, list):
        return [strip(v) for v in node]
    return node


def shape_refs(shape):
    for member in shape.get("members", {}).values():
        yield member["shape"]
    for key in ("member", "key", "value"):
        if key in shape:
            yield shape[key]["shape"]


def reachable_shapes(model, operations):
    todo = []
    for op in operations.values():
        for key in ("input", "output"):
            if key in op:
                todo.append(op[key]["shape"])
        for err in op.get("errors", []):
            todo.append(err["shape"])
    seen = set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        todo.extend(shape_refs(model["shapes"][name]))
    return seen


DEFAULT_HTTP = {"method": "POST", "requestUri": "/"}


def strip_operation(op):
    op = strip(op)
    # JSON and Query operations are all POST /; berth assumes that default.
    if op.get("http") == DEFAULT_HTTP:
        del op["http"]
    return op


def convert(berth_id, model, version):
    operations = model["operations"]
    if berth_id == "ec2":
        operations = {name: operations[name] for name in EC2_OPERATIONS}
    keep = reachable_shapes(model, operations)
    metadata = {
        k: v for k, v in model["metadata"].items() if k not in DROPPED_METADATA
    }
    metadata["id"] = berth_id
    metadata["botocoreVersion"] = version
    return {
        "metadata": metadata,
        "operations": {n: strip_operation(operations[n]) for n in sorted(operations)},
        "shapes": {n: strip(model["shapes"][n]) for n in sorted(keep)},
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", nargs="?", default=DEFAULT_DATA_DIR)
    parser.add_argument(
        "--out",
        default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "models"),
    )
    args = parser.parse_args()
    version = botocore_version(args.data_dir)
    os.makedirs(args.out, exist_ok=True)
    total = 0
    for berth_id, botocore_name in SERVICES.items():
        out = convert(berth_id, load_model(args.data_dir, botocore_name), version)
        text = json.dumps(out, separators=(",", ":"), ensure_ascii=False)
        path = os.path.join(args.out, f"{berth_id}.json")
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
            f.write("\n")
        total += len(text.encode("utf-8")) + 1
        print(
            f"{berth_id}: {len(out['operations'])} operations, "
            f"{len(out['shapes'])} shapes, {len(text)} bytes",
            file=sys.stderr,
        )
    print(f"botocore {version}: {total} bytes in {len(SERVICES)} models", file=sys.stderr)


if __name__ == "__main__":
    main()
