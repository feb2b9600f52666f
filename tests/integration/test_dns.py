"""berthd's DNS server (src/dns/) queried with dig, against berthd --agent fake.

- Cloud Map names: a private DNS namespace with a service (A + SRV records)
  and registered instances answers A, SRV (`1 1 port id.service.ns`) with
  the instances' A records, SOA/NS at the apex, NXDOMAIN vs NODATA, over
  UDP and TCP; answers follow RegisterInstance/DeregisterInstance.
- Other names are forwarded to a fake upstream on 127.0.0.1 (never the
  network) and relayed; a silent upstream gives SERVFAIL; --dns-upstream off
  refuses them.
"""

import os
import socket
import struct
import subprocess
import threading
import time
import unittest

from berth_harness import BerthdTestCase


def dig(port, *args, tcp=False, wait=3):
    cmd = ["dig", "@127.0.0.1", "-p", str(port), f"+time={wait}", "+tries=1", "+nocookie"]
    if tcp:
        cmd.append("+tcp")
    out = subprocess.run(cmd + list(args), capture_output=True, text=True, timeout=15)
    return out.stdout


def status(text):
    for line in text.splitlines():
        if "->>HEADER<<-" in line:
            return line.split("status: ")[1].split(",")[0]
    return None


def short(port, *args, tcp=False):
    return sorted(dig(port, "+short", *args, tcp=tcp).split("\n")[:-1])


class FakeUpstream:
    """A UDP resolver on 127.0.0.1 answering every query with 192.0.2.53 (or nothing)."""

    def __init__(self, silent=False):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.silent = silent
        self.queries = 0
        self.stop = False
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.stop:
            try:
                data, peer = self.sock.recvfrom(4096)
            except socket.timeout:
                continue
            self.queries += 1
            if self.silent or len(data) < 12:
                continue
            # Echo the question, add one A record pointing at it.
            qend = 12
            while data[qend] != 0:
                qend += 1 + data[qend]
            qend += 5
            header = data[:2] + struct.pack(">HHHHH", 0x8180, 1, 1, 0, 0)
            answer = struct.pack(">HHHIH", 0xC00C, 1, 1, 60, 4) + bytes([192, 0, 2, 53])
            self.sock.sendto(header + data[12:qend] + answer, peer)

    def close(self):
        self.stop = True
        self.thread.join()
        self.sock.close()


def dns_port(berthd):
    path = os.path.join(berthd.data_dir, "dns-endpoint")
    deadline = time.monotonic() + 10
    while not os.path.exists(path):
        if time.monotonic() > deadline:
            raise AssertionError(f"no {path}")
        time.sleep(0.05)
    with open(path) as f:
        return int(f.read().strip().rsplit(":", 1)[1])


class DnsTest(BerthdTestCase):
    start_class_daemon = False

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.upstream = FakeUpstream()
        cls.addClassCleanup(cls.upstream.close)

    def start(self, *extra):
        d = self.start_berthd(extra_args=["--dns-listen", "127.0.0.1:0", *extra])
        return d, dns_port(d)

    def test_forwards_outside_names_to_the_upstream(self):
        _, port = self.start("--dns-upstream", f"127.0.0.1:{self.upstream.port}")
        before = self.upstream.queries
        self.assertEqual(short(port, "example.com", "A"), ["192.0.2.53"])
        self.assertEqual(short(port, "example.org", "A", tcp=True), ["192.0.2.53"])
        self.assertEqual(self.upstream.queries - before, 2)

    def test_silent_upstream_is_servfail_and_off_is_refused(self):
        silent = FakeUpstream(silent=True)
        self.addCleanup(silent.close)
        _, port = self.start("--dns-upstream", f"127.0.0.1:{silent.port}")
        self.assertEqual(status(dig(port, "example.com", wait=6)), "SERVFAIL")  # after 2 x 1 s
        _, port = self.start("--dns-upstream", "off")
        self.assertEqual(status(dig(port, "example.com")), "REFUSED")

    def test_cloud_map_names(self):
        d, port = self.start("--dns-upstream", f"127.0.0.1:{self.upstream.port}")
        sd = d.client("servicediscovery", inject_host_prefix=False)
        op = sd.create_private_dns_namespace(Name="dev.local", Vpc="vpc-1", CreatorRequestId="dns-it")
        ns_id = None
        deadline = time.monotonic() + 10
        while ns_id is None:
            o = sd.get_operation(OperationId=op["OperationId"])["Operation"]
            if o["Status"] == "SUCCESS":
                ns_id = o["Targets"]["NAMESPACE"]
            elif time.monotonic() > deadline or o["Status"] == "FAIL":
                self.fail(f"namespace: {o}")
            else:
                time.sleep(0.05)
        svc = sd.create_service(Name="backend", NamespaceId=ns_id, DnsConfig={
            "RoutingPolicy": "MULTIVALUE",
            "DnsRecords": [{"Type": "A", "TTL": 10}, {"Type": "SRV", "TTL": 20}]})["Service"]
        for i, ip in enumerate(["172.31.0.4", "172.31.0.5"]):
            sd.register_instance(ServiceId=svc["Id"], InstanceId=f"task{i}", Attributes={
                "AWS_INSTANCE_IPV4": ip, "AWS_INSTANCE_PORT": "8000"})

        def answers():
            return short(port, "backend.dev.local", "A")
        deadline = time.monotonic() + 10
        while answers() != ["172.31.0.4", "172.31.0.5"]:
            if time.monotonic() > deadline:
                self.fail(f"A answers: {answers()}")
            time.sleep(0.1)
        self.assertEqual(short(port, "BACKEND.Dev.Local", "A", tcp=True), ["172.31.0.4", "172.31.0.5"])
        self.assertEqual(short(port, "backend.dev.local", "SRV"),
                         ["1 1 8000 task0.backend.dev.local.", "1 1 8000 task1.backend.dev.local."])
        srv = dig(port, "backend.dev.local", "SRV")
        additional = [" ".join(line.split()) for line in srv.split("ADDITIONAL SECTION:")[1].splitlines()]
        self.assertIn("task0.backend.dev.local. 10 IN A 172.31.0.4", additional)
        self.assertIn("task1.backend.dev.local. 10 IN A 172.31.0.5", additional)
        self.assertEqual(short(port, "task1.backend.dev.local", "A"), ["172.31.0.5"])
        self.assertEqual(status(dig(port, "nope.dev.local")), "NXDOMAIN")
        nodata = dig(port, "backend.dev.local", "AAAA")
        self.assertEqual(status(nodata), "NOERROR")
        self.assertIn("ANSWER: 0", nodata)
        self.assertIn("SOA", nodata)
        self.assertEqual(len(short(port, "dev.local", "SOA")), 1)
        self.assertEqual(short(port, "dev.local", "NS"), ["ns1.dev.local."])
        # Names outside still go upstream.
        self.assertEqual(short(port, "example.com", "A"), ["192.0.2.53"])

        sd.deregister_instance(ServiceId=svc["Id"], InstanceId="task0")
        deadline = time.monotonic() + 10
        while answers() != ["172.31.0.5"]:
            if time.monotonic() > deadline:
                self.fail(f"A answers after deregistering: {answers()}")
            time.sleep(0.1)


if __name__ == "__main__":
    unittest.main()
