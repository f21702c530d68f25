"""Reads a JetStream stream back with nats-py (independent of foxtrot's async-nats).

Usage: read_nats.py HOST:PORT SUBJECT_FILTER
Prints {"stream": NAME, "messages": N} first (what the stream holds), then one JSON object
per message: subject, Nats-Msg-Id, data.
"""
import asyncio
import json
import sys

import nats


async def main():
    server, subject = sys.argv[1], sys.argv[2]
    nc = await nats.connect(f"nats://{server}")
    js = nc.jetstream()
    stream = await js.find_stream_name_by_subject(subject)
    info = await js.stream_info(stream)
    total = info.state.messages
    print(json.dumps({"stream": stream, "messages": total}))
    sub = await js.pull_subscribe(subject, durable="reader", stream=stream)
    got = 0
    while got < total:
        try:
            msgs = await sub.fetch(batch=1000, timeout=5)
        except nats.errors.TimeoutError:
            break
        for m in msgs:
            print(json.dumps({
                "subject": m.subject,
                "id": (m.headers or {}).get("Nats-Msg-Id"),
                "data": m.data.decode(),
            }))
            await m.ack()
            got += 1
    await nc.close()


asyncio.run(main())
