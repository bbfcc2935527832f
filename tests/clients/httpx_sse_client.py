"""A third-party SSE client reading a tickerplex stream: httpx (HTTP/2) with httpx-sse.

Run by `httpx_sse_reads_a_stream_through_its_heartbeats` in tests/sse_topics.rs, which checks what it prints. Usage:

    python httpx_sse_client.py <events URL> <CA certificate file> <heartbeats to read>

Reads the stream until it has seen the snapshot's `sync` and that many `heartbeat` events,
then prints one JSON object: the HTTP version, and every event as httpx-sse parsed it (its
name, its id — the spec's last event id, which an event without `id:` leaves as it was — and
its data). Exits non-zero if the stream ends first or takes longer than 30 s.
"""

import json
import ssl
import sys
import time

import httpx
from httpx_sse import connect_sse


def main() -> int:
    url, ca_file, wanted = sys.argv[1], sys.argv[2], int(sys.argv[3])
    context = ssl.create_default_context(cafile=ca_file)
    deadline = time.monotonic() + 30
    seen = []
    heartbeats = 0
    synced = False
    with httpx.Client(http2=True, verify=context, timeout=30) as client:
        with connect_sse(client, "GET", url) as source:
            version = source.response.http_version
            for event in source.iter_sse():
                seen.append({"event": event.event, "id": event.id, "data": event.data})
                synced = synced or event.event == "sync"
                heartbeats += synced and event.event == "heartbeat"
                if synced and heartbeats >= wanted:
                    print(json.dumps({"http_version": version, "events": seen}))
                    return 0
                if time.monotonic() > deadline:
                    break
    print(json.dumps({"error": "the stream ended or stalled", "events": seen}))
    return 1


if __name__ == "__main__":
    sys.exit(main())
