"""CloudWatch metrics and alarms through the aws CLI v2 and boto3 (both speak
the Query protocol for CloudWatch at these versions) and through signed
JSON 1.0 requests (GraniteServiceVersion20100801, as newer SDKs send them),
against berthd --agent fake.

- PutMetricData, then GetMetricStatistics, GetMetricData (with metric math)
  and ListMetrics; PutMetricData's limits with AWS's error codes.
- A metric alarm on a high-resolution metric (Period 10) goes from
  INSUFFICIENT_DATA to ALARM on the real clock as datapoints arrive; its
  history, SetAlarmState, tags, DescribeAlarmsForMetric, DeleteAlarms.

Every response is checked against botocore's model (conformance.py, and
berthd --check-responses).
"""

import datetime
import json
import time
import unittest
import urllib.error
import urllib.request

from berth_harness import ACCOUNT, REGION, AwsCliError, BerthdTestCase


def utcnow():
    return datetime.datetime.now(datetime.timezone.utc)


class CloudWatchTest(BerthdTestCase):

    @classmethod
    def setUpClassState(cls):
        cls.cw = cls.berthd.client("cloudwatch")

    def error_code(self, fn, **kwargs):
        try:
            fn(**kwargs)
        except self.cw.exceptions.ClientError as e:
            return e.response["Error"]["Code"], e.response["Error"]["Message"]
        self.fail(f"{fn.__name__} succeeded")

    def json10(self, operation, body, gzip_body=False):
        """A signed JSON 1.0 request; returns (status, headers, parsed body)."""
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials
        key, secret = self.berthd.credentials()
        data = json.dumps(body).encode()
        headers = {"Content-Type": "application/x-amz-json-1.0",
                   "X-Amz-Target": f"GraniteServiceVersion20100801.{operation}"}
        if gzip_body:  # botocore's request compression, as new SDKs send PutMetricData
            import gzip
            data = gzip.compress(data)
            headers["Content-Encoding"] = "gzip"
        req = AWSRequest(method="POST", url=self.berthd.endpoint + "/", data=data, headers=headers)
        SigV4Auth(Credentials(key, secret), "monitoring", REGION).add_auth(req)
        raw = urllib.request.Request(self.berthd.endpoint + "/", data=data, method="POST",
                                     headers=dict(req.headers.items()))
        try:
            with urllib.request.urlopen(raw, timeout=10) as r:
                return r.status, dict(r.headers), json.loads(r.read() or b"{}")
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), json.loads(e.read() or b"{}")

    # ------------------------------------------------------------ metrics
    def test_put_then_statistics_data_and_list_with_boto3(self):
        now = utcnow().replace(second=0, microsecond=0)
        start = now - datetime.timedelta(minutes=5)
        dims = [{"Name": "ServiceName", "Value": "web"}, {"Name": "ClusterName", "Value": "prod"}]
        self.cw.put_metric_data(Namespace="Shop", MetricData=[
            {"MetricName": "Orders", "Dimensions": dims, "Timestamp": start, "Value": 10, "Unit": "Count"},
            {"MetricName": "Orders", "Dimensions": dims, "Timestamp": start + datetime.timedelta(seconds=20),
             "Value": 30, "Unit": "Count"},
            {"MetricName": "Orders", "Dimensions": dims, "Timestamp": start + datetime.timedelta(minutes=1),
             "StatisticValues": {"SampleCount": 2, "Sum": 8, "Minimum": 3, "Maximum": 5}, "Unit": "Count"},
            {"MetricName": "Visits", "Dimensions": dims, "Timestamp": start, "Values": [1, 2], "Counts": [10, 5],
             "Unit": "Count"},
        ])
        out = self.cw.get_metric_statistics(
            Namespace="Shop", MetricName="Orders", Dimensions=list(reversed(dims)), StartTime=start,
            EndTime=now, Period=60, Statistics=["Sum", "Average", "SampleCount", "Maximum"])
        self.assertEqual(out["Label"], "Orders")
        points = sorted(out["Datapoints"], key=lambda p: p["Timestamp"])
        self.assertEqual(len(points), 2)
        self.assertEqual(points[0]["Timestamp"], start)
        self.assertEqual(points[0]["Sum"], 40.0)
        self.assertEqual(points[0]["Average"], 20.0)
        self.assertEqual(points[1]["SampleCount"], 2.0)
        self.assertEqual(points[1]["Maximum"], 5.0)
        self.assertEqual(points[0]["Unit"], "Count")

        out = self.cw.get_metric_data(
            StartTime=start, EndTime=now, ScanBy="TimestampAscending",
            MetricDataQueries=[
                {"Id": "orders", "MetricStat": {"Metric": {"Namespace": "Shop", "MetricName": "Orders",
                                                           "Dimensions": dims},
                                                "Period": 300, "Stat": "Sum"}, "ReturnData": False},
                {"Id": "visits", "MetricStat": {"Metric": {"Namespace": "Shop", "MetricName": "Visits",
                                                           "Dimensions": dims},
                                                "Period": 300, "Stat": "Sum"}},
                {"Id": "rate", "Expression": "orders*100/visits", "Label": "Conversion"},
            ])
        results = {r["Id"]: r for r in out["MetricDataResults"]}
        self.assertEqual(set(results), {"visits", "rate"})
        self.assertEqual(results["visits"]["Values"], [20.0])
        self.assertEqual(results["rate"]["Label"], "Conversion")
        self.assertEqual(results["rate"]["Values"], [240.0])
        self.assertEqual(results["rate"]["StatusCode"], "Complete")

        metrics = self.cw.list_metrics(Namespace="Shop", Dimensions=[{"Name": "ServiceName", "Value": "web"}])
        names = sorted(m["MetricName"] for m in metrics["Metrics"])
        self.assertEqual(names, ["Orders", "Visits"])
        self.assertEqual(self.cw.list_metrics(Namespace="Shop", MetricName="Orders",
                                              RecentlyActive="PT3H")["Metrics"][0]["Dimensions"],
                         sorted(dims, key=lambda d: d["Name"]))

    def test_put_metric_data_errors(self):
        code, msg = self.error_code(self.cw.put_metric_data, Namespace="AWS/ECS",
                                    MetricData=[{"MetricName": "x", "Value": 1}])
        self.assertEqual(code, "InvalidParameterValue")
        code, msg = self.error_code(self.cw.put_metric_data, Namespace="Shop",
                                    MetricData=[{"MetricName": "x", "Value": 1}] * 1001)
        self.assertEqual((code, msg), ("InvalidParameterValue",
                                       "The collection MetricData must not have a size greater than 1000."))
        code, msg = self.error_code(self.cw.put_metric_data, Namespace="Shop", MetricData=[
            {"MetricName": "x", "Value": 1, "StatisticValues": {"SampleCount": 1, "Sum": 1, "Minimum": 1,
                                                                "Maximum": 1}}])
        self.assertEqual(code, "InvalidParameterCombination")
        code, msg = self.error_code(self.cw.put_metric_data, Namespace="Shop", MetricData=[
            {"MetricName": "x", "Value": 1, "Timestamp": utcnow() - datetime.timedelta(days=15)}])
        self.assertEqual(msg, "The parameter MetricData.member.1.Timestamp must specify a time within the past "
                              "two weeks.")
        code, msg = self.error_code(self.cw.get_metric_statistics, Namespace="Shop", MetricName="x",
                                    StartTime=utcnow() - datetime.timedelta(days=3), EndTime=utcnow(),
                                    Period=60, Statistics=["Average"])
        self.assertEqual(code, "InvalidParameterCombination")
        self.assertIn("which exceeds the limit of 1,440", msg)
        code, _ = self.error_code(self.cw.delete_alarms, AlarmNames=["no-such-alarm"])
        self.assertEqual(code, "ResourceNotFound")

    def test_the_cli(self):
        d = self.berthd
        d.aws("cloudwatch", "put-metric-data", "--namespace", "Cli", "--metric-name", "Depth",
              "--dimensions", "Queue=jobs", "--value", "7", "--unit", "Count")
        listed = d.aws("cloudwatch", "list-metrics", "--namespace", "Cli")
        self.assertEqual(listed["Metrics"], [{"Namespace": "Cli", "MetricName": "Depth",
                                              "Dimensions": [{"Name": "Queue", "Value": "jobs"}]}])
        now = utcnow()
        out = d.aws("cloudwatch", "get-metric-statistics", "--namespace", "Cli", "--metric-name", "Depth",
                    "--dimensions", "Name=Queue,Value=jobs", "--statistics", "Maximum",
                    "--start-time", (now - datetime.timedelta(minutes=5)).isoformat(),
                    "--end-time", (now + datetime.timedelta(minutes=1)).isoformat(), "--period", "60")
        self.assertEqual([p["Maximum"] for p in out["Datapoints"]], [7.0])
        err = d.aws("cloudwatch", "put-metric-data", "--namespace", "AWS/EC2", "--metric-name", "x",
                    "--value", "1", check=False)
        self.assertIsInstance(err, AwsCliError)
        self.assertEqual(err.code, "InvalidParameterValue")

    # ------------------------------------------------------------ alarms
    def test_alarm_goes_to_alarm_as_high_resolution_data_arrives(self):
        dims = [{"Name": "Host", "Value": "h1"}]
        policy = (f"arn:aws:autoscaling:{REGION}:{ACCOUNT}:scalingPolicy:00000000-0000-0000-0000-000000000000:"
                  "resource/ecs/service/prod/web:policyName/cpu-out")
        self.cw.put_metric_alarm(
            AlarmName="cpu-high", AlarmDescription="CPU over 60", Namespace="Fast", MetricName="Cpu",
            Dimensions=dims, Statistic="Average", Period=10, EvaluationPeriods=3, DatapointsToAlarm=2,
            Threshold=60, ComparisonOperator="GreaterThanThreshold", TreatMissingData="missing",
            AlarmActions=[policy], Tags=[{"Key": "team", "Value": "web"}])
        alarm = self.cw.describe_alarms(AlarmNames=["cpu-high"])["MetricAlarms"][0]
        self.assertEqual(alarm["StateValue"], "INSUFFICIENT_DATA")
        self.assertEqual(alarm["AlarmArn"], f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:cpu-high")
        self.assertEqual(alarm["DatapointsToAlarm"], 2)

        def breaching():
            now = utcnow()
            self.cw.put_metric_data(Namespace="Fast", MetricData=[
                {"MetricName": "Cpu", "Dimensions": dims, "Value": 90.0, "StorageResolution": 1,
                 "Timestamp": now - datetime.timedelta(seconds=s)} for s in range(0, 30, 2)])
            a = self.cw.describe_alarms(AlarmNames=["cpu-high"])["MetricAlarms"][0]
            return a if a["StateValue"] == "ALARM" else None

        alarm = self.eventually(breaching, timeout=40, interval=1.0, msg="the alarm goes to ALARM")
        self.assertRegex(alarm["StateReason"],
                         r"^Threshold Crossed: [23] out of the last [23] datapoints \[90\.0 \(\d\d/\d\d/\d\d "
                         r"\d\d:\d\d:\d\d\).*\] were greater than the threshold \(60\.0\) \(minimum 2 datapoints "
                         r"for OK -> ALARM transition\)\.$")
        self.assertEqual(json.loads(alarm["StateReasonData"])["period"], 10)

        history = self.cw.describe_alarm_history(AlarmName="cpu-high")["AlarmHistoryItems"]
        summaries = [h["HistorySummary"] for h in history]
        self.assertIn('Alarm "cpu-high" created', summaries)
        self.assertIn("Alarm updated from INSUFFICIENT_DATA to ALARM", summaries)
        # No Application Auto Scaling yet: the policy action is recorded as failed.
        actions = self.cw.describe_alarm_history(AlarmName="cpu-high", HistoryItemType="Action")
        self.assertTrue(actions["AlarmHistoryItems"][0]["HistorySummary"].startswith(
            f"Failed to execute action {policy}."))
        update = [h for h in history if h["HistoryItemType"] == "StateUpdate"][0]
        self.assertEqual(json.loads(update["HistoryData"])["newState"]["stateValue"], "ALARM")

        found = self.cw.describe_alarms_for_metric(Namespace="Fast", MetricName="Cpu", Dimensions=dims)
        self.assertEqual([a["AlarmName"] for a in found["MetricAlarms"]], ["cpu-high"])
        self.assertEqual(self.cw.list_tags_for_resource(ResourceARN=alarm["AlarmArn"])["Tags"],
                         [{"Key": "team", "Value": "web"}])
        self.cw.disable_alarm_actions(AlarmNames=["cpu-high"])
        self.assertFalse(self.cw.describe_alarms(AlarmNames=["cpu-high"])["MetricAlarms"][0]["ActionsEnabled"])
        self.cw.delete_alarms(AlarmNames=["cpu-high"])
        self.assertEqual(self.cw.describe_alarms(AlarmNamePrefix="cpu-")["MetricAlarms"], [])

    def test_set_alarm_state_and_history_with_the_cli(self):
        d = self.berthd
        d.aws("cloudwatch", "put-metric-alarm", "--alarm-name", "cli-alarm", "--namespace", "Cli",
              "--metric-name", "Depth", "--statistic", "Maximum", "--period", "60", "--evaluation-periods", "1",
              "--threshold", "100", "--comparison-operator", "GreaterThanOrEqualToThreshold")
        d.aws("cloudwatch", "set-alarm-state", "--alarm-name", "cli-alarm", "--state-value", "ALARM",
              "--state-reason", "drill")
        out = d.aws("cloudwatch", "describe-alarms", "--alarm-names", "cli-alarm")
        self.assertEqual(out["MetricAlarms"][0]["StateValue"], "ALARM")
        self.assertEqual(out["MetricAlarms"][0]["StateReason"], "drill")
        hist = d.aws("cloudwatch", "describe-alarm-history", "--alarm-name", "cli-alarm",
                     "--history-item-type", "StateUpdate")
        self.assertEqual(hist["AlarmHistoryItems"][0]["HistorySummary"],
                         "Alarm updated from INSUFFICIENT_DATA to ALARM")
        err = d.aws("cloudwatch", "set-alarm-state", "--alarm-name", "missing-alarm", "--state-value", "OK",
                    "--state-reason", "x", check=False)
        self.assertEqual(err.code, "ResourceNotFound")
        d.aws("cloudwatch", "delete-alarms", "--alarm-names", "cli-alarm")

    # ------------------------------------------------------------ JSON 1.0
    def test_json_protocol(self):
        now = time.time()
        status, _, body = self.json10("PutMetricData", {
            "Namespace": "Json", "MetricData": [{"MetricName": "Hits", "Value": 5, "Timestamp": now}]})
        self.assertEqual(status, 200, body)
        status, _, body = self.json10("GetMetricData", {
            "StartTime": now - 300, "EndTime": now + 60,
            "MetricDataQueries": [{"Id": "h", "MetricStat": {"Metric": {"Namespace": "Json", "MetricName": "Hits"},
                                                             "Period": 60, "Stat": "Sum"}},
                                  {"Id": "double", "Expression": "h * 2"}]})
        self.assertEqual(status, 200, body)
        values = {r["Id"]: r["Values"] for r in body["MetricDataResults"]}
        self.assertEqual(values, {"h": [5.0], "double": [10.0]})
        self.assertIsInstance(body["MetricDataResults"][0]["Timestamps"][0], (int, float))
        status, headers, body = self.json10("PutMetricData", {
            "Namespace": "AWS/Lambda", "MetricData": [{"MetricName": "Hits", "Value": 5}]})
        self.assertEqual(status, 400)
        self.assertEqual(body["__type"], "InvalidParameterValueException")
        lower = {k.lower(): v for k, v in headers.items()}
        self.assertEqual(lower["x-amzn-query-error"], "InvalidParameterValue;Sender")
        status, _, body = self.json10("PutMetricData", {
            "Namespace": "Json", "MetricData": [{"MetricName": f"Big{i:04}", "Value": i} for i in range(1000)]},
            gzip_body=True)
        self.assertEqual(status, 200, body)
        status, _, body = self.json10("ListMetrics", {"Namespace": "Json"})
        self.assertEqual(status, 200, body)
        self.assertEqual(len(body["Metrics"]), 500)
        self.assertEqual(body["Metrics"][0]["MetricName"], "Big0000")
        status, _, body = self.json10("ListMetrics", {"Namespace": "Json", "NextToken": body["NextToken"]})
        self.assertEqual(len(body["Metrics"]), 500)
        status, _, body = self.json10("ListMetrics", {"Namespace": "Json", "NextToken": body["NextToken"]})
        self.assertEqual([m["MetricName"] for m in body["Metrics"]], ["Hits"])
        self.assertNotIn("NextToken", body)


if __name__ == "__main__":
    unittest.main()
