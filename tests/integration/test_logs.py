"""CloudWatch Logs with real clients: the aws CLI (as the seed runs it) and
boto3, every response checked against botocore's model (conformance.py).

Covers groups, retention, streams, PutLogEvents and its limits,
GetLogEvents paging in both directions, FilterLogEvents with patterns,
tags, tokens, that a refused batch stores nothing, and StartLiveTail's event
stream (through live_tail_client.py under a newer botocore). The awslogs
driver's tests (real containers) are in test_task_logs.py.
"""

import json
import os
import queue
import subprocess
import sys
import threading
import time
import unittest

from berth_harness import ACCOUNT, REGION, BerthdTestCase


def now_ms():
    return int(time.time() * 1000)


# StartLiveTail needs botocore 1.33+; ctest runs this file under Debian's
# python3, whose botocore (1.29) lacks it, so the live-tail client runs under
# this interpreter instead.
LIVE_TAIL_PYTHON = os.environ.get("BERTH_LIVE_TAIL_PYTHON", "/root/.pyenv/versions/3.11.7/bin/python3")
LIVE_TAIL_CLIENT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "live_tail_client.py")


class LiveTailClient:
    """live_tail_client.py in a subprocess; its JSON lines arrive on a queue."""

    def __init__(self, berthd, mode, request):
        ak, sk = berthd.credentials()
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(AWS_ACCESS_KEY_ID=ak, AWS_SECRET_ACCESS_KEY=sk, AWS_CONFIG_FILE=os.devnull,
                   AWS_SHARED_CREDENTIALS_FILE=os.devnull, NO_PROXY="127.0.0.1", no_proxy="127.0.0.1")
        for k in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "PYTHONPATH", "PYTHONHOME"):
            env.pop(k, None)
        self.proc = subprocess.Popen([LIVE_TAIL_PYTHON, LIVE_TAIL_CLIENT, berthd.endpoint, berthd.region, mode,
                                      json.dumps(request)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     env=env, text=True)
        self.lines = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self):
        with self.proc.stdout:
            for line in self.proc.stdout:
                self.lines.put(json.loads(line))
        self.lines.put(None)  # EOF

    def next(self, timeout=15):
        try:
            item = self.lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no output from the live-tail client within {timeout}s")
        if item is None:
            self.proc.wait(timeout=10)
            err = self.proc.stderr.read()
            if self.proc.returncode == 77:
                print(f"SKIP: {err.strip()}", file=sys.stderr, flush=True)
                raise unittest.SkipTest(err.strip())
            raise AssertionError(f"live-tail client exited {self.proc.returncode}: {err[-3000:]}")
        return item

    def close(self):
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write("close\n")
                self.proc.stdin.flush()
            except BrokenPipeError:
                pass

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.proc.stdin.close()
        self.proc.stderr.close()


def live_tail_missing_reason():
    if not os.access(LIVE_TAIL_PYTHON, os.X_OK):
        return f"{LIVE_TAIL_PYTHON} not found (set BERTH_LIVE_TAIL_PYTHON to a python with botocore >= 1.33)"
    return None


class LogsApiTest(BerthdTestCase):
    berthd_options = dict(agent="fake")

    @classmethod
    def setUpClassState(cls):
        cls.logs = cls.berthd.client("logs")

    def group(self, name, **kwargs):
        self.logs.create_log_group(logGroupName=name, **kwargs)
        self.addCleanup(lambda: self.logs.delete_log_group(logGroupName=name))
        return name

    def put(self, group, stream, messages, start=None):
        start = start if start is not None else now_ms() - len(messages)
        events = [{"timestamp": start + i, "message": m} for i, m in enumerate(messages)]
        return self.logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=events)

    # ------------------------------------------------------------ groups
    def test_groups_with_retention_via_the_aws_cli(self):
        d = self.berthd
        d.aws("logs", "create-log-group", "--log-group-name", "/ecs/durableai-dev/backend", output="text")
        self.addCleanup(lambda: self.logs.delete_log_group(logGroupName="/ecs/durableai-dev/backend"))
        d.aws("logs", "put-retention-policy", "--log-group-name", "/ecs/durableai-dev/backend",
              "--retention-in-days", "7", output="text")
        out = d.aws("logs", "describe-log-groups", "--log-group-name-prefix", "/ecs/durableai-dev")
        [g] = out["logGroups"]
        self.assertEqual(g["logGroupName"], "/ecs/durableai-dev/backend")
        self.assertEqual(g["retentionInDays"], 7)
        self.assertEqual(g["arn"], f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/ecs/durableai-dev/backend:*")
        self.assertEqual(g["storedBytes"], 0)
        # logGroupArn is newer than Debian's botocore; check it where the
        # client's model knows it (a parser drops members it does not know).
        if "logGroupArn" in self.logs.meta.service_model.shape_for("LogGroup").members:
            [g] = self.logs.describe_log_groups(logGroupNamePrefix="/ecs/durableai-dev")["logGroups"]
            self.assertEqual(g["logGroupArn"],
                             f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/ecs/durableai-dev/backend")

        err = self.assertAwsError("InvalidParameterException", self.logs.put_retention_policy,
                                  logGroupName="/ecs/durableai-dev/backend", retentionInDays=2)
        self.assertIn("Member must satisfy enum value set: [1, 3, 5, 7, 14, 30,", err["Error"]["Message"])
        self.logs.delete_retention_policy(logGroupName="/ecs/durableai-dev/backend")
        [g] = self.logs.describe_log_groups(logGroupNamePrefix="/ecs/durableai-dev")["logGroups"]
        self.assertNotIn("retentionInDays", g)

        self.assertAwsError("ResourceAlreadyExistsException", self.logs.create_log_group,
                            logGroupName="/ecs/durableai-dev/backend")
        self.assertAwsError("ResourceNotFoundException", self.logs.delete_log_group, logGroupName="/nope")
        self.assertAwsError("InvalidParameterException", self.logs.create_log_group, logGroupName="bad name!")
        self.assertAwsError("ResourceNotFoundException", self.logs.put_retention_policy, logGroupName="/nope",
                            retentionInDays=7)

    def test_describe_log_groups_pages_and_patterns(self):
        names = [self.group(f"/pages/g{i:02d}") for i in range(7)]
        got, token = [], None
        while True:
            kwargs = {"logGroupNamePrefix": "/pages/", "limit": 3}
            if token:
                kwargs["nextToken"] = token
            out = self.logs.describe_log_groups(**kwargs)
            got += [g["logGroupName"] for g in out["logGroups"]]
            token = out.get("nextToken")
            if not token:
                break
        self.assertEqual(got, names)
        out = self.logs.describe_log_groups(logGroupNamePattern="G03")  # case-insensitive substring
        self.assertEqual([g["logGroupName"] for g in out["logGroups"]], ["/pages/g03"])
        self.assertAwsError("InvalidParameterException", self.logs.describe_log_groups, nextToken="forged")
        self.assertAwsError("InvalidParameterException", self.logs.describe_log_groups, logGroupNamePrefix="/a",
                            logGroupNamePattern="a")

    def test_tags_by_name_and_by_arn(self):
        g = self.group("/tags/g", tags={"env": "dev"})
        self.logs.tag_log_group(logGroupName=g, tags={"team": "core"})
        self.assertEqual(self.logs.list_tags_log_group(logGroupName=g)["tags"], {"env": "dev", "team": "core"})
        arn = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{g}"
        self.logs.untag_resource(resourceArn=arn, tagKeys=["env"])
        self.logs.tag_resource(resourceArn=arn, tags={"cost": "x"})
        self.assertEqual(self.logs.list_tags_for_resource(resourceArn=arn)["tags"], {"team": "core", "cost": "x"})
        self.assertAwsError("ResourceNotFoundException", self.logs.list_tags_for_resource,
                            resourceArn=f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/tags/none")

    # ------------------------------------------------------------ streams
    def test_streams_order_and_errors(self):
        g = self.group("/streams/g")
        base = now_ms() - 10_000
        for i, name in enumerate(["b", "a", "c"]):
            self.logs.create_log_stream(logGroupName=g, logStreamName=name)
            self.put(g, name, [f"{name} line"], start=base + (10 - i) * 100)
        by_name = self.logs.describe_log_streams(logGroupName=g)["logStreams"]
        self.assertEqual([s["logStreamName"] for s in by_name], ["a", "b", "c"])
        for s in by_name:
            self.assertIn("firstEventTimestamp", s)
            self.assertIn("lastIngestionTime", s)
            self.assertEqual(s["arn"], f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{g}:log-stream:{s['logStreamName']}")
        by_time = self.logs.describe_log_streams(logGroupName=g, orderBy="LastEventTime", descending=True)
        self.assertEqual([s["logStreamName"] for s in by_time["logStreams"]], ["b", "a", "c"])
        first = self.logs.describe_log_streams(logGroupName=g, limit=2)
        rest = self.logs.describe_log_streams(logGroupName=g, limit=2, nextToken=first["nextToken"])
        self.assertEqual([s["logStreamName"] for s in first["logStreams"] + rest["logStreams"]], ["a", "b", "c"])
        self.assertNotIn("nextToken", rest)

        self.assertAwsError("ResourceAlreadyExistsException", self.logs.create_log_stream, logGroupName=g,
                            logStreamName="a")
        self.assertAwsError("ResourceNotFoundException", self.logs.create_log_stream, logGroupName="/none",
                            logStreamName="a")
        self.assertAwsError("InvalidParameterException", self.logs.create_log_stream, logGroupName=g,
                            logStreamName="x:y")
        self.assertAwsError("InvalidParameterException", self.logs.describe_log_streams, logGroupName=g,
                            orderBy="LastEventTime", logStreamNamePrefix="a")
        self.logs.delete_log_stream(logGroupName=g, logStreamName="a")
        self.assertAwsError("ResourceNotFoundException", self.logs.delete_log_stream, logGroupName=g,
                            logStreamName="a")
        self.assertAwsError("ResourceNotFoundException", self.logs.get_log_events, logGroupName=g,
                            logStreamName="a")

    # ------------------------------------------------------------ events
    def test_put_and_get_pages_forward_and_backward(self):
        g = self.group("/events/pages")
        self.logs.create_log_stream(logGroupName=g, logStreamName="s")
        lines = [f"line {i}" for i in range(250)]
        # Two batches, the second older than the first: reads are time-ordered.
        t0 = now_ms() - 100_000
        self.put(g, "s", lines[125:], start=t0 + 125)
        self.put(g, "s", lines[:125], start=t0)

        seen, token = [], None
        while True:
            kwargs = {"logGroupName": g, "logStreamName": "s", "startFromHead": True, "limit": 40}
            if token:
                kwargs["nextToken"] = token
            out = self.logs.get_log_events(**kwargs)
            seen += [e["message"] for e in out["events"]]
            if out["nextForwardToken"] == token:
                break
            token = out["nextForwardToken"]
        self.assertEqual(seen, lines)

        # Without startFromHead: the newest page, then backwards.
        out = self.logs.get_log_events(logGroupName=g, logStreamName="s", limit=100)
        self.assertEqual([e["message"] for e in out["events"]], lines[150:])
        back = self.logs.get_log_events(logGroupName=g, logStreamName="s", limit=100,
                                        nextToken=out["nextBackwardToken"])
        self.assertEqual([e["message"] for e in back["events"]], lines[50:150])

        # Time range.
        out = self.logs.get_log_events(logGroupName=g, logStreamName="s", startFromHead=True,
                                       startTime=t0 + 10, endTime=t0 + 20)
        self.assertEqual([e["message"] for e in out["events"]], lines[10:20])
        self.assertAwsError("InvalidParameterException", self.logs.get_log_events, logGroupName=g,
                            logStreamName="s", nextToken="f/" + "1" * 56)

    def test_put_log_events_limits_store_nothing_partial(self):
        g = self.group("/events/limits")
        self.logs.create_log_stream(logGroupName=g, logStreamName="s")
        t = now_ms()

        def count():
            return len(self.logs.get_log_events(logGroupName=g, logStreamName="s", startFromHead=True)["events"])

        big = "x" * 262_144
        err = self.assertAwsError("InvalidParameterException", self.logs.put_log_events, logGroupName=g,
                                  logStreamName="s", logEvents=[{"timestamp": t, "message": "ok"},
                                                                {"timestamp": t, "message": big}])
        self.assertIn("too large", err["Error"]["Message"])
        five = [{"timestamp": t, "message": "y" * 240_000} for _ in range(5)]  # 1.2 MB
        err = self.assertAwsError("InvalidParameterException", self.logs.put_log_events, logGroupName=g,
                                  logStreamName="s", logEvents=five)
        self.assertIn("Upload too large", err["Error"]["Message"])
        err = self.assertAwsError("InvalidParameterException", self.logs.put_log_events, logGroupName=g,
                                  logStreamName="s", logEvents=[{"timestamp": t, "message": "b"},
                                                                {"timestamp": t - 1, "message": "a"}])
        self.assertIn("chronological order", err["Error"]["Message"])
        self.assertAwsError("InvalidParameterException", self.logs.put_log_events, logGroupName=g,
                            logStreamName="s", logEvents=[{"timestamp": t - 25 * 3600_000, "message": "a"},
                                                          {"timestamp": t, "message": "b"}])
        self.assertAwsError("ResourceNotFoundException", self.logs.put_log_events, logGroupName=g,
                            logStreamName="missing", logEvents=[{"timestamp": t, "message": "a"}])
        self.assertAwsError("ResourceNotFoundException", self.logs.put_log_events, logGroupName="/missing",
                            logStreamName="s", logEvents=[{"timestamp": t, "message": "a"}])
        self.assertEqual(count(), 0)

        # Too old and too new events are left out and reported; the rest stored.
        out = self.logs.put_log_events(logGroupName=g, logStreamName="s", logEvents=[
            {"timestamp": t - 14 * 86400_000 - 3600_000, "message": "old"},
            {"timestamp": t - 14 * 86400_000 + 3600_000, "message": "kept"},
        ])
        self.assertEqual(out["rejectedLogEventsInfo"], {"tooOldLogEventEndIndex": 1})
        out = self.logs.put_log_events(logGroupName=g, logStreamName="s", logEvents=[
            {"timestamp": t, "message": "now"}, {"timestamp": t + 3 * 3600_000, "message": "future"}])
        self.assertEqual(out["rejectedLogEventsInfo"], {"tooNewLogEventStartIndex": 1})
        events = self.logs.get_log_events(logGroupName=g, logStreamName="s", startFromHead=True)["events"]
        self.assertEqual([e["message"] for e in events], ["kept", "now"])

    def test_filter_log_events_with_patterns_via_the_aws_cli(self):
        g = self.group("/events/filter")
        for s in ("web", "worker"):
            self.logs.create_log_stream(logGroupName=g, logStreamName=s)
        t = now_ms() - 60_000
        self.put(g, "web", ["GET / 200", "GET /health 200", "POST /api 500 ERROR boom",
                            json.dumps({"level": "error", "latency": 250}), "WARN slow"], start=t)
        self.put(g, "worker", ["job 1 done", "ERROR job 2 failed", json.dumps({"level": "info", "latency": 5})],
                 start=t + 2)

        def messages(*args):
            out = self.berthd.aws("logs", "filter-log-events", "--log-group-name", g, *args)
            return [e["message"] for e in out["events"]]

        self.assertEqual(messages("--filter-pattern", "ERROR"), ["POST /api 500 ERROR boom", "ERROR job 2 failed"])
        self.assertEqual(messages("--filter-pattern", '"GET /health"'), ["GET /health 200"])
        self.assertEqual(messages("--filter-pattern", "?WARN ?boom"), ["POST /api 500 ERROR boom", "WARN slow"])
        self.assertEqual(messages("--filter-pattern", "ERROR -boom"), ["ERROR job 2 failed"])
        self.assertEqual(messages("--filter-pattern", '{ $.level = "error" }'),
                         [json.dumps({"level": "error", "latency": 250})])
        self.assertEqual(messages("--filter-pattern", "{ $.latency > 100 }"),
                         [json.dumps({"level": "error", "latency": 250})])
        self.assertEqual(messages("--log-stream-names", "worker", "--filter-pattern", "job"),
                         ["job 1 done", "ERROR job 2 failed"])
        self.assertEqual(len(messages()), 8)

        out = self.logs.filter_log_events(logGroupName=g, filterPattern="ERROR")
        for e in out["events"]:
            self.assertEqual(len(e["eventId"]), 56)
            self.assertIn(e["logStreamName"], ("web", "worker"))
        self.assertAwsError("InvalidParameterException", self.logs.filter_log_events, logGroupName=g,
                            filterPattern='{ $.level = ')
        self.assertAwsError("InvalidParameterException", self.logs.filter_log_events, logGroupName=g,
                            nextToken="1" * 56)
        self.assertAwsError("ResourceNotFoundException", self.logs.filter_log_events, logGroupName="/none")

    def test_filter_pages_cover_everything_once(self):
        g = self.group("/events/filterpages")
        for s in ("a", "b"):
            self.logs.create_log_stream(logGroupName=g, logStreamName=s)
        t = now_ms() - 600_000
        self.put(g, "a", [f"a{i}" for i in range(300)], start=t)
        self.put(g, "b", [f"b{i}" for i in range(300)], start=t)
        seen = []
        for page in self.logs.get_paginator("filter_log_events").paginate(logGroupName=g,
                                                                          PaginationConfig={"PageSize": 70}):
            seen += [(e["timestamp"], e["message"]) for e in page["events"]]
        self.assertEqual(len(seen), 600)
        self.assertEqual(len(set(m for _, m in seen)), 600)
        self.assertEqual(seen, sorted(seen, key=lambda x: x[0]))

    def test_tail_shows_new_lines(self):
        # `aws logs tail` (no --follow) over the CLI, as the seed reads logs.
        g = self.group("/ecs/tail-test")
        self.logs.create_log_stream(logGroupName=g, logStreamName="ecs/app/1")
        self.put(g, "ecs/app/1", ["hello from the tail test", "second line"])
        out = self.berthd.aws("logs", "tail", g, "--since", "5m", output="text")
        self.assertIn("hello from the tail test", out)
        self.assertIn("ecs/app/1", out)


    # ------------------------------------------------------------ live tail
    def live_tail(self, mode, request):
        reason = live_tail_missing_reason()
        if reason:
            print(f"SKIP: {reason}", file=sys.stderr, flush=True)
            self.skipTest(reason)
        client = LiveTailClient(self.berthd, mode, request)
        self.addCleanup(client.kill)
        return client

    def test_start_live_tail_errors(self):
        g = self.group("/ecs/live-tail-errors")
        self.group("/ecs/live-tail-errors-2")
        cases = [
            ({"logGroupIdentifiers": [g], "logStreamNames": ["a"], "logStreamNamePrefixes": ["b"]},
             "InvalidParameterException"),
            ({"logGroupIdentifiers": [g, "/ecs/live-tail-errors-2"], "logStreamNamePrefixes": ["b"]},
             "InvalidParameterException"),
            ({"logGroupIdentifiers": [g], "logEventFilterPattern": "@bad"}, "InvalidParameterException"),
            ({"logGroupIdentifiers": [f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{g}:*"]},
             "InvalidParameterException"),
            ({"logGroupIdentifiers": [g, "/ecs/no-such-group"]}, "ResourceNotFoundException"),
        ]
        clients = [(self.live_tail("error", req), code) for req, code in cases]
        for client, code in clients:
            self.assertEqual(client.next()["error"], code)

    def test_start_live_tail_streams_new_matching_events(self):
        g = self.group("/ecs/live-tail")
        for s in ("app/1", "app/2", "sidecar"):
            self.logs.create_log_stream(logGroupName=g, logStreamName=s)
        self.put(g, "app/1", ["from before the session"])
        arn = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{g}"
        client = self.live_tail("tail", {"logGroupIdentifiers": [arn], "logStreamNamePrefixes": ["app/"],
                                         "logEventFilterPattern": "-DEBUG"})
        start = client.next()["start"]
        self.assertEqual(start["logGroupIdentifiers"], [arn])
        self.assertEqual(start["logStreamNamePrefixes"], ["app/"])
        self.assertEqual(start["logEventFilterPattern"], "-DEBUG")
        session_id = start["sessionId"]

        self.put(g, "app/1", ["one", "DEBUG noise", "two"])
        self.put(g, "sidecar", ["not a selected stream"])
        self.put(g, "app/2", ["three"])
        self.put(g, "app/1", ["four"])
        expected = [("app/1", "one"), ("app/1", "two"), ("app/2", "three"), ("app/1", "four")]
        got, updates = [], 0
        deadline = time.monotonic() + 20
        # Until everything arrived, then two more updates in case of extras.
        while time.monotonic() < deadline and (len(got) < len(expected) or updates < 2):
            update = client.next()["update"]
            self.assertFalse(update["sessionMetadata"]["sampled"])
            for e in update["sessionResults"]:
                self.assertEqual(e["logGroupIdentifier"], arn)
                self.assertGreater(e["ingestionTime"], 0)
                got.append((e["logStreamName"], e["message"]))
            if len(got) >= len(expected):
                updates += 1
        self.assertEqual(got, expected)

        client.close()
        while True:
            item = client.next()
            if item.get("closed"):
                break
        client.proc.wait(timeout=10)
        self.assertEqual(client.proc.returncode, 0)
        # berthd noticed the client going and ended the session.
        ended = f"live tail session {session_id} ended"
        for _ in range(100):
            with open(self.berthd.log_path) as f:
                if ended in f.read():
                    break
            time.sleep(0.05)
        with open(self.berthd.log_path) as f:
            self.assertIn(ended, f.read())
        self.assertEqual(self.berthd.health(), 200)
        self.assertEqual(len(self.logs.describe_log_streams(logGroupName=g)["logStreams"]), 3)


if __name__ == "__main__":
    unittest.main()
