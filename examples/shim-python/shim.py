#!/usr/bin/env python3
"""Skeleton shim for `smp-conform client` (spec/driver.md, driver version 1).

The runner starts this program once per case and talks to it with JSON
lines: commands on stdin, replies and events on stdout. Replace each TODO
with a call into your client library; everything else is the protocol.

    smp-conform client -- python3 examples/shim-python/shim.py
"""
import json
import sys
import threading

DRIVER_VERSION = 1
# Commands you have not wired up yet: the cases that need them are skipped.
UNSUPPORTED = ["subscribe", "rotate", "sync_ratchet", "delete", "restart",
               "create_contact", "join_contact", "add_queue"]

_out = threading.Lock()


def write(obj):
    """One JSON object per line on stdout, nothing else (DRV-FRAME-1)."""
    with _out:
        sys.stdout.write(json.dumps(obj, separators=(",", ":")) + "\n")
        sys.stdout.flush()


def event(name, **fields):
    """Call from your client's callbacks: conf, info, con, msg, rcvd, err ..."""
    write(dict(event=name, **fields))


class Client:
    """Where your implementation plugs in. Raise an exception to refuse."""

    def start(self, relay, data_dir):
        # TODO: configure your client: queues on `relay` (smp://KEYHASH@HOST:PORT),
        # all state under data_dir. Verify the relay identity (SMP-HS-8)!
        self.relay, self.data_dir = relay, data_dir

    def create_invitation(self, procedure, agent_versions=None):
        # TODO: NEW on the relay, print the link (GC-LINK-1); "fast" means q=m.
        raise NotImplementedError("create_invitation")  # return conn_id, link

    def join(self, link, info):
        raise NotImplementedError("join")  # return conn_id; later: event("info"/"con")

    def allow(self, conn, info):
        raise NotImplementedError("allow")  # after event("conf", conn=..., info=...)

    def send(self, conn, body):
        raise NotImplementedError("send")  # return msg_id; later: event("rcvd", ...)

    def ack(self, conn, msg_id):
        raise NotImplementedError("ack")  # sends the receipt


def handle(client, cmd):
    name = cmd.get("cmd")
    if name == "hello":
        rng = cmd.get("driver", {})
        if not rng.get("min", 0) <= DRIVER_VERSION <= rng.get("max", 0):
            raise ValueError("driver versions %r, this shim speaks %d" % (rng, DRIVER_VERSION))
        return {"driver": DRIVER_VERSION, "name": "python skeleton", "unsupported": UNSUPPORTED}
    if name in UNSUPPORTED:
        raise ValueError("unsupported")
    if name == "start":
        client.start(cmd["relay"], cmd["data_dir"])
        return {}
    if name == "create_invitation":
        conn, link = client.create_invitation(cmd["procedure"], cmd.get("agent_versions"))
        return {"conn": conn, "link": link}
    if name == "join":
        return {"conn": client.join(cmd["link"], cmd["info"])}
    if name == "allow":
        client.allow(cmd["conn"], cmd["info"])
        return {}
    if name == "send":
        return {"msg_id": client.send(cmd["conn"], cmd["body"])}
    if name == "ack":
        client.ack(cmd["conn"], cmd["msg_id"])
        return {}
    raise ValueError("unknown command %r" % name)


def main():
    client = Client()
    for line in sys.stdin:
        if not line.strip():
            continue
        cmd = json.loads(line)
        if cmd.get("cmd") == "quit":
            write({"id": cmd["id"], "ok": True})
            return
        try:
            reply = dict(handle(client, cmd), id=cmd["id"], ok=True)
        except Exception as e:  # a refusal, never an exit (DRV-CMD-2)
            reply = {"id": cmd["id"], "ok": False, "error": str(e) or type(e).__name__}
        write(reply)


if __name__ == "__main__":
    main()
