"""A StartLiveTail client for test_logs.py, run under an interpreter whose
botocore knows StartLiveTail (1.33+; ctest's /usr/bin/python3 has 1.29).

    live_tail_client.py ENDPOINT REGION MODE [JSON-REQUEST]

Credentials come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY. Prints one
JSON object per line on stdout, flushed:
  MODE tail:   {"start": <sessionStart>}, then {"update": <sessionUpdate>}
               per update, until a line "close" arrives on stdin; then it
               closes the stream and prints {"closed": true}.
  MODE error:  {"error": <code>, "message": ...} for the one call.
Exits 77 with a reason on stderr if this botocore has no StartLiveTail.
"""

import json
import sys
import threading


def main():
    endpoint, region, mode = sys.argv[1:4]
    request = json.loads(sys.argv[4]) if len(sys.argv) > 4 else {}
    try:
        import boto3
        import botocore
        from botocore.config import Config
        from botocore.exceptions import ClientError
    except ImportError as e:
        print(f"no boto3: {e}", file=sys.stderr)
        return 77
    # endpoint_url is http://127.0.0.1:PORT: botocore would prepend the
    # operation's host prefix ("stream-" or "streaming-") to it, giving a
    # host that does not resolve, so turn the injection off.
    config = Config(inject_host_prefix=False, retries={"total_max_attempts": 1}, read_timeout=30,
                    proxies={})
    client = boto3.session.Session(region_name=region).client("logs", endpoint_url=endpoint, config=config)
    if not hasattr(client, "start_live_tail"):
        print(f"botocore {botocore.__version__} has no StartLiveTail", file=sys.stderr)
        return 77

    if mode == "error":
        try:
            client.start_live_tail(**request)
        except ClientError as e:
            print(json.dumps({"error": e.response["Error"]["Code"], "message": e.response["Error"]["Message"]}),
                  flush=True)
            return 0
        print(json.dumps({"error": None}), flush=True)
        return 0

    response = client.start_live_tail(**request)
    stream = response["responseStream"]
    closing = threading.Event()

    def watch_stdin():
        for line in sys.stdin:
            if line.strip() == "close":
                break
        closing.set()

    threading.Thread(target=watch_stdin, daemon=True).start()
    for event in stream:
        if "sessionStart" in event:
            print(json.dumps({"start": event["sessionStart"]}), flush=True)
        elif "sessionUpdate" in event:
            print(json.dumps({"update": event["sessionUpdate"]}), flush=True)
        else:
            print(json.dumps({"other": {k: str(v) for k, v in event.items()}}), flush=True)
        if closing.is_set():
            break
    stream.close()
    print(json.dumps({"closed": True}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
