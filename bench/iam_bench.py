#!/usr/bin/env python3
"""What IAM enforcement costs an API call (issue 8): the same signed ECS
requests under wrk against one berthd, signed by the account's root (no
policy evaluation) and by an IAM user with 10 attached managed policies of
20 statements each (every call evaluated), in alternating rounds so that
both see the same machine. Reports the median req/s, p50/p99 and server
CPU µs per request of each, and the loss of the user against root.

Run it through bench/iam.sh, which builds what it needs. Talks only to
127.0.0.1. The machinery (berthd start, resources, signed requests, wrk)
is bench/api_bench.py's.
"""

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import api_bench  # noqa: E402
from api_bench import OPERATIONS, Server, SignedRequest, log  # noqa: E402

POLICIES = 10
STATEMENTS = 20


def policy_document(index):
    """20 statements, a realistic mix: service wildcards, resource ARNs,
    conditions, denies on things the benchmark never asks for. The last
    policy's last statement is the one that allows the measured calls, so
    that evaluation walks everything before it."""
    statements = []
    services = ["ecs", "logs", "ssm", "kms", "ecr", "servicediscovery", "iam", "sts", "cloudwatch", "ec2"]
    for s in range(STATEMENTS):
        svc = services[(index + s) % len(services)]
        st = {"Sid": f"P{index}S{s}", "Effect": "Allow",
              "Action": [f"{svc}:Get*", f"{svc}:Put{s}*", f"{svc}:Tag*"],
              "Resource": [f"arn:aws:{svc}:*:*:thing-{index}-{s}/*", f"arn:aws:{svc}:us-east-1:*:other/{s}"]}
        if s % 4 == 1:
            st["Condition"] = {"StringEquals": {"aws:RequestedRegion": ["us-east-1", "eu-west-1"]},
                               "StringLike": {"aws:PrincipalTag/team": "team-*"}}
        if s % 5 == 2:
            st["Effect"] = "Deny"
            st["Action"] = [f"{svc}:Delete*"]
        statements.append(st)
    if index == POLICIES - 1:
        statements[-1] = {"Sid": "Measured", "Effect": "Allow", "Action": ["ecs:Describe*", "ecs:List*"],
                          "Resource": "*", "Condition": {"StringEquals": {"aws:RequestedRegion": "us-east-1"}}}
    return {"Version": "2012-10-17", "Statement": statements}


def make_user(root):
    iam = root.client("iam")
    iam.create_user(UserName="bench", Tags=[{"Key": "team", "Value": "team-bench"}])
    for i in range(POLICIES):
        arn = iam.create_policy(PolicyName=f"bench-{i}",
                                PolicyDocument=json.dumps(policy_document(i)))["Policy"]["Arn"]
        iam.attach_user_policy(UserName="bench", PolicyArn=arn)
    key = iam.create_access_key(UserName="bench")["AccessKey"]
    return Server("berth-iam-user", root.proc, root.endpoint, key["AccessKeyId"], key["SecretAccessKey"])


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--berthd", required=True)
    p.add_argument("--wrk", default="wrk")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--connections", type=int, default=32)
    p.add_argument("--duration", type=int, default=5)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--json", help="write all raw results here")
    args = p.parse_args()

    workdir = tempfile.mkdtemp(prefix="berth-iam-bench-")
    root = api_bench.start_berthd(args.berthd, os.path.join(workdir, "data"), os.path.join(workdir, "berthd.log"))
    results = {op: {"root": [], "user": []} for op in OPERATIONS}
    try:
        resources = api_bench.create_resources(root)
        user = make_user(root)
        # The user may do exactly what is measured, and not more.
        denied = user.client("ecs")
        try:
            denied.create_cluster(clusterName="nope")
            raise RuntimeError("the benchmark user could CreateCluster; its policies are not enforced")
        except denied.exceptions.ClientError as e:
            if e.response["Error"]["Code"] != "AccessDeniedException":
                raise
        for op in OPERATIONS:
            for who, server in (("root", root), ("user", user)):
                req = SignedRequest(server, op)
                api_bench.check_response(server, req, resources)
                script = os.path.join(workdir, f"{who}-{op}.lua")
                req.wrk_script(script)
        for rnd in range(args.rounds):
            for op in OPERATIONS:
                for who in ("root", "user"):
                    server = root if who == "root" else user
                    script = os.path.join(workdir, f"{who}-{op}.lua")
                    req = SignedRequest(server, op)
                    req.wrk_script(script)  # fresh signature: valid for 5 minutes
                    api_bench.run_wrk(args, server, req, script, args.warmup)
                    r = api_bench.run_wrk(args, server, req, script, args.duration)
                    if r["non2xx"] or r["socket_errors"]:
                        raise RuntimeError(f"{op} as {who}: {r['non2xx']} non-2xx, {r['socket_errors']} socket errors")
                    r.pop("wrk_output", None)
                    results[op][who].append(r)
                    log(f"round {rnd + 1} {op} as {who}: {r['rps']:.0f} req/s, "
                        f"p99 {r['latency_us']['p99'] / 1000:.2f} ms, {r['server_cpu_us_per_request']:.0f} µs CPU/req")
    finally:
        root.stop()

    def med(runs, get):
        return statistics.median(get(r) for r in runs)

    print(f"\n{args.rounds} alternating rounds of wrk -t{args.threads} -c{args.connections} -d{args.duration}s; "
          f"the user has {POLICIES} attached policies of {STATEMENTS} statements.\n")
    print("| operation | signed by | req/s (median) | p50 ms | p99 ms | server CPU µs/req | user vs root req/s |")
    print("|---|---|---:|---:|---:|---:|---:|")
    summary = {}
    for op in OPERATIONS:
        root_rps = med(results[op]["root"], lambda r: r["rps"])
        for who in ("root", "user"):
            runs = results[op][who]
            rps = med(runs, lambda r: r["rps"])
            loss = "" if who == "root" else f"{(rps / root_rps - 1) * 100:+.1f} %"
            print(f"| {op} | {who} | {rps:,.0f} | {med(runs, lambda r: r['latency_us']['p50']) / 1000:.2f} | "
                  f"{med(runs, lambda r: r['latency_us']['p99']) / 1000:.2f} | "
                  f"{med(runs, lambda r: r['server_cpu_us_per_request']):.0f} | {loss} |")
            summary[f"{op}/{who}"] = rps
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"results": results, "summary": summary}, f, indent=1)
    shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
