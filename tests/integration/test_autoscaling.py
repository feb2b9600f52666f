"""Application Auto Scaling through boto3 and the aws CLI against berthd
--agent fake, acting on real ECS services through CloudWatch's own alarms.

- RegisterScalableTarget moves a service's desired count into [min, max];
  DescribeScalableTargets, tags, errors as AWS words them.
- A target tracking policy creates the AlarmHigh/AlarmLow alarms that
  CloudWatch's DescribeAlarms shows; datapoints above the target on a
  custom metric put AlarmHigh in ALARM, and its action grows the ECS
  service (UpdateService desiredCount), which DescribeScalingActivities
  and DescribeServices both show.
- A step scaling policy runs from a user's alarm.
- Scheduled actions are stored with their schedule and time zone; a bad
  schedule is a ValidationException.

Responses are checked against botocore's models (conformance.py and
berthd --check-responses).
"""

import datetime
import json
import unittest
import urllib.error
import urllib.request

from berth_harness import REGION, BerthdTestCase

DIMENSION = "ecs:service:DesiredCount"


def utcnow():
    return datetime.datetime.now(datetime.timezone.utc)


class AutoScalingTest(BerthdTestCase):

    @classmethod
    def setUpClassState(cls):
        cls.aas = cls.berthd.client("application-autoscaling")
        cls.cw = cls.berthd.client("cloudwatch")
        cls.ecs = cls.berthd.client("ecs")
        ec2 = cls.berthd.client("ec2")
        subnet = next(s["SubnetId"] for s in ec2.describe_subnets()["Subnets"] if s.get("DefaultForAz"))
        cls.network = {"awsvpcConfiguration": {"subnets": [subnet]}}
        cls.ecs.create_cluster(clusterName="prod")
        cls.ecs.register_task_definition(
            family="web", networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="256", memory="512",
            containerDefinitions=[{"name": "app", "image": "busybox", "essential": True}])

    def json11(self, operation, body):
        """A signed JSON 1.1 request (for what botocore 1.29's model lacks: tags);
        returns (status, parsed body)."""
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials
        key, secret = self.berthd.credentials()
        data = json.dumps(body).encode()
        headers = {"Content-Type": "application/x-amz-json-1.1",
                   "X-Amz-Target": f"AnyScaleFrontendService.{operation}"}
        req = AWSRequest(method="POST", url=self.berthd.endpoint + "/", data=data, headers=headers)
        SigV4Auth(Credentials(key, secret), "application-autoscaling", REGION).add_auth(req)
        raw = urllib.request.Request(self.berthd.endpoint + "/", data=data, method="POST",
                                     headers=dict(req.headers.items()))
        try:
            with urllib.request.urlopen(raw, timeout=10) as r:
                return r.status, json.loads(r.read() or b"{}")
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"{}")

    def service(self, name, desired=1):
        self.ecs.create_service(cluster="prod", serviceName=name, taskDefinition="web", desiredCount=desired,
                                launchType="FARGATE", networkConfiguration=self.network)
        return f"service/prod/{name}"

    def desired(self, name):
        return self.ecs.describe_services(cluster="prod", services=[name])["services"][0]["desiredCount"]

    def register(self, resource, lo, hi, **extra):
        return self.aas.register_scalable_target(ServiceNamespace="ecs", ResourceId=resource,
                                                 ScalableDimension=DIMENSION, MinCapacity=lo, MaxCapacity=hi,
                                                 **extra)

    def put_minutes(self, namespace, name, dims, values):
        """One datapoint per minute for the last len(values) complete minutes, oldest first."""
        now = utcnow().replace(second=0, microsecond=0)
        data = []
        for i, v in enumerate(values):
            at = now - datetime.timedelta(minutes=len(values) - i)
            data.append({"MetricName": name, "Dimensions": dims, "Timestamp": at, "Value": v})
        self.cw.put_metric_data(Namespace=namespace, MetricData=data)

    def test_register_moves_capacity_into_range_and_errors(self):
        resource = self.service("reg", desired=1)
        status, out = self.json11("RegisterScalableTarget", {
            "ServiceNamespace": "ecs", "ResourceId": resource, "ScalableDimension": DIMENSION,
            "MinCapacity": 2, "MaxCapacity": 5, "Tags": {"team": "web"}})
        self.assertEqual(status, 200, out)
        arn = out["ScalableTargetARN"]
        self.assertRegex(arn, r"^arn:aws:application-autoscaling:us-east-1:\d{12}:scalable-target/[0-9a-f]+$")
        self.assertEqual(self.desired("reg"), 2)
        targets = self.aas.describe_scalable_targets(ServiceNamespace="ecs", ResourceIds=[resource])
        [t] = targets["ScalableTargets"]
        self.assertEqual((t["MinCapacity"], t["MaxCapacity"]), (2, 5))
        self.assertEqual(t["SuspendedState"], {"DynamicScalingInSuspended": False,
                                               "DynamicScalingOutSuspended": False,
                                               "ScheduledScalingSuspended": False})
        [activity] = self.aas.describe_scaling_activities(ServiceNamespace="ecs",
                                                          ResourceId=resource)["ScalingActivities"]
        self.assertEqual(activity["Description"], "Setting desired count to 2.")
        self.assertEqual(activity["Cause"], "minimum capacity was set to 2")
        self.assertEqual(activity["StatusCode"], "Successful")
        self.assertEqual(self.json11("ListTagsForResource", {"ResourceARN": arn}), (200, {"Tags": {"team": "web"}}))
        self.assertEqual(self.json11("TagResource", {"ResourceARN": arn, "Tags": {"env": "prod"}})[0], 200)
        self.assertEqual(self.json11("UntagResource", {"ResourceARN": arn, "TagKeys": ["team"]})[0], 200)
        self.assertEqual(self.json11("ListTagsForResource", {"ResourceARN": arn}), (200, {"Tags": {"env": "prod"}}))
        status, out = self.json11("ListTagsForResource", {"ResourceARN": arn + "0"})
        self.assertEqual((status, out.get("__type")), (400, "ResourceNotFoundException"))

        err = self.assertAwsError("ValidationException", self.register, "service/prod/nope", 1, 2)
        self.assertEqual(err["Error"]["Message"], "ECS service doesn't exist: service/prod/nope")
        err = self.assertAwsError("ValidationException", self.register, resource, 3, 1)
        self.assertEqual(err["Error"]["Message"], "Minimum capacity cannot be greater than maximum capacity")
        err = self.assertAwsError(
            "ObjectNotFoundException", self.aas.put_scaling_policy, PolicyName="p", ServiceNamespace="ecs",
            ResourceId="service/prod/unregistered", ScalableDimension=DIMENSION, PolicyType="TargetTrackingScaling",
            TargetTrackingScalingPolicyConfiguration={
                "TargetValue": 60,
                "PredefinedMetricSpecification": {"PredefinedMetricType": "ECSServiceAverageCPUUtilization"}})
        self.assertIn("No scalable target registered", err["Error"]["Message"])
        self.aas.deregister_scalable_target(ServiceNamespace="ecs", ResourceId=resource, ScalableDimension=DIMENSION)
        self.assertEqual(self.aas.describe_scalable_targets(ServiceNamespace="ecs",
                                                            ResourceIds=[resource])["ScalableTargets"], [])
        self.assertAwsError("ObjectNotFoundException", self.aas.deregister_scalable_target, ServiceNamespace="ecs",
                            ResourceId=resource, ScalableDimension=DIMENSION)

    def test_target_tracking_alarms_scale_the_service(self):
        resource = self.service("tt", desired=1)
        self.register(resource, 1, 4)
        dims = [{"Name": "Service", "Value": "tt"}]
        out = self.aas.put_scaling_policy(
            PolicyName="load", ServiceNamespace="ecs", ResourceId=resource, ScalableDimension=DIMENSION,
            PolicyType="TargetTrackingScaling",
            TargetTrackingScalingPolicyConfiguration={
                "TargetValue": 60.0, "ScaleOutCooldown": 120, "ScaleInCooldown": 300,
                "CustomizedMetricSpecification": {"MetricName": "Load", "Namespace": "App", "Dimensions": dims,
                                                  "Statistic": "Average"}})
        high, low = (a["AlarmName"] for a in out["Alarms"])
        self.assertTrue(high.startswith("TargetTracking-service/prod/tt-AlarmHigh-"), high)
        self.assertTrue(low.startswith("TargetTracking-service/prod/tt-AlarmLow-"), low)
        alarms = {a["AlarmName"]: a for a in self.cw.describe_alarms(AlarmNames=[high, low])["MetricAlarms"]}
        self.assertEqual((alarms[high]["EvaluationPeriods"], alarms[high]["Threshold"]), (3, 60.0))
        self.assertEqual((alarms[low]["EvaluationPeriods"], alarms[low]["Threshold"]), (15, 54.0))
        self.assertEqual(alarms[high]["AlarmActions"], [out["PolicyARN"]])
        [policy] = self.aas.describe_scaling_policies(ServiceNamespace="ecs", ResourceId=resource)["ScalingPolicies"]
        self.assertEqual(policy["Alarms"], out["Alarms"])

        # Three minutes at 100 % of a 60 % target: ceil(1 x 100 / 60) = 2.
        self.put_minutes("App", "Load", dims, [100, 100, 100])
        self.eventually(lambda: self.desired("tt") == 2, timeout=30, msg="scale-out to 2")
        activities = self.aas.describe_scaling_activities(ServiceNamespace="ecs", ResourceId=resource)
        latest = activities["ScalingActivities"][0]
        self.assertEqual(latest["Description"], "Setting desired count to 2.")
        self.assertRegex(latest["Cause"],
                         r"^monitor alarm TargetTracking-service/prod/tt-AlarmHigh-[0-9a-f-]+ in state ALARM "
                         r"triggered policy load$")
        self.assertEqual(latest["StatusMessage"],
                         "Successfully set desired count to 2. Change successfully fulfilled by ecs.")
        history = self.cw.describe_alarm_history(AlarmName=high, HistoryItemType="Action")["AlarmHistoryItems"]
        self.assertTrue(any(h["HistorySummary"] == f"Successfully executed action {out['PolicyARN']}"
                            for h in history), history)

        self.aas.delete_scaling_policy(PolicyName="load", ServiceNamespace="ecs", ResourceId=resource,
                                       ScalableDimension=DIMENSION)
        self.assertEqual(self.cw.describe_alarms(AlarmNames=[high, low])["MetricAlarms"], [])

    def test_step_scaling_from_a_user_alarm(self):
        resource = self.service("steps", desired=1)
        self.register(resource, 1, 10)
        arn = self.aas.put_scaling_policy(
            PolicyName="up", ServiceNamespace="ecs", ResourceId=resource, ScalableDimension=DIMENSION,
            PolicyType="StepScaling",
            StepScalingPolicyConfiguration={
                "AdjustmentType": "ChangeInCapacity", "Cooldown": 60,
                "StepAdjustments": [{"MetricIntervalLowerBound": 0, "MetricIntervalUpperBound": 20,
                                     "ScalingAdjustment": 1},
                                    {"MetricIntervalLowerBound": 20, "ScalingAdjustment": 3}]})["PolicyARN"]
        dims = [{"Name": "Service", "Value": "steps"}]
        self.cw.put_metric_alarm(AlarmName="steps-queue-deep", Namespace="App", MetricName="Queue", Dimensions=dims,
                                 Statistic="Average", Period=60, EvaluationPeriods=1, Threshold=100,
                                 ComparisonOperator="GreaterThanThreshold", AlarmActions=[arn])
        self.put_minutes("App", "Queue", dims, [150])  # 50 above the threshold: +3
        self.eventually(lambda: self.desired("steps") == 4, timeout=30, msg="step scale-out to 4")

    def test_scheduled_actions_and_the_cli(self):
        resource = self.service("sched", desired=1)
        self.register(resource, 1, 2)
        self.aas.put_scheduled_action(ServiceNamespace="ecs", ResourceId=resource, ScalableDimension=DIMENSION,
                                      ScheduledActionName="night", Schedule="cron(0 20 * * ? *)",
                                      Timezone="Europe/Berlin",
                                      ScalableTargetAction={"MinCapacity": 0, "MaxCapacity": 0})
        out = self.berthd.aws("application-autoscaling", "describe-scheduled-actions", "--service-namespace", "ecs",
                              "--resource-id", resource)
        [action] = out["ScheduledActions"]
        self.assertEqual(action["Schedule"], "cron(0 20 * * ? *)")
        self.assertEqual(action["Timezone"], "Europe/Berlin")
        self.assertEqual(action["ScalableTargetAction"], {"MinCapacity": 0, "MaxCapacity": 0})
        self.assertRegex(action["ScheduledActionARN"],
                         r":scheduledAction:[0-9a-f-]+:resource/ecs/service/prod/sched:scheduledActionName/night$")
        err = self.assertAwsError("ValidationException", self.aas.put_scheduled_action, ServiceNamespace="ecs",
                                  ResourceId=resource, ScalableDimension=DIMENSION, ScheduledActionName="bad",
                                  Schedule="cron(0 20 * * * *)")
        self.assertTrue(err["Error"]["Message"])
        # A rate() action with a StartTime just ahead fires then.
        start = utcnow() + datetime.timedelta(seconds=2)
        self.aas.put_scheduled_action(ServiceNamespace="ecs", ResourceId=resource, ScalableDimension=DIMENSION,
                                      ScheduledActionName="soon", Schedule="rate(1 day)", StartTime=start,
                                      ScalableTargetAction={"MinCapacity": 2, "MaxCapacity": 2})
        self.eventually(lambda: self.desired("sched") == 2, timeout=30, msg="the scheduled action ran")
        causes = [a["Cause"] for a in self.aas.describe_scaling_activities(
            ServiceNamespace="ecs", ResourceId=resource)["ScalingActivities"]]
        self.assertIn("scheduled action name soon was triggered", causes)
        self.aas.delete_scheduled_action(ServiceNamespace="ecs", ResourceId=resource, ScalableDimension=DIMENSION,
                                         ScheduledActionName="soon")


if __name__ == "__main__":
    unittest.main()
