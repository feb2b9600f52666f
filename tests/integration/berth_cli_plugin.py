"""aws CLI v2 plugin: checks every response the CLI receives with conformance.py.

The harness writes an AWS config file with
    [plugins]
    cli_legacy_plugin_path = <this directory>
    berth_conformance = berth_cli_plugin
so each `aws ...` run by a test validates the raw responses against botocore's
model, as the boto3 clients do. A violation makes the CLI exit 255 with a
message that starts with conformance.MARKER; the harness turns that into a
test failure.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import conformance  # noqa: E402


def _after_call(http_response=None, model=None, **_):
    if http_response is None or model is None:
        return
    service = model.service_model.service_name
    body = http_response.content or b""
    violations = conformance.check_response(service, model.name, http_response.status_code,
                                            dict(http_response.headers), body)
    if violations:
        raise conformance.ConformanceError(conformance.format_violations(
            service, model.name, http_response.status_code, violations, body))


def _no_host_prefix(params=None, model=None, **_):
    """Cloud Map's DiscoverInstances has hostPrefix "data-": the CLI would
    send it to data-127.0.0.1, which does not resolve. berthd answers every
    operation on its one endpoint (boto3 clients use inject_host_prefix=False)."""
    prefix = (getattr(model, "endpoint", None) or {}).get("hostPrefix")
    if not prefix or "{" in prefix or params is None:
        return
    params["url"] = params["url"].replace("://" + prefix, "://", 1)


def awscli_initialize(cli):
    cli.register("after-call", _after_call, unique_id="berth-conformance")
    cli.register("before-call", _no_host_prefix, unique_id="berth-no-host-prefix")
