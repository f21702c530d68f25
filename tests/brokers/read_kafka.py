"""Reads a Kafka topic back with kafka-python (independent of foxtrot's librdkafka).

Usage: read_kafka.py HOST:PORT TOPIC EXPECTED QUIET_S
Prints one JSON object per record: partition, offset, key, headers, value. Reads until
EXPECTED records and then QUIET_S seconds without more (so duplicates would show), or
QUIET_S without any record at all: tansu can report an end offset below what it holds,
so the reported end is not trusted.
"""
import json
import sys
import time

from kafka import KafkaConsumer, TopicPartition

bootstrap, topic, expected, quiet = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
deadline = time.time() + 60
partitions = None
while not partitions and time.time() < deadline:
    partitions = consumer.partitions_for_topic(topic)
    if not partitions:
        time.sleep(0.2)
if not partitions:
    sys.exit(f"topic {topic} has no partitions")
assigned = [TopicPartition(topic, p) for p in sorted(partitions)]
consumer.assign(assigned)
consumer.seek_to_beginning(*assigned)
seen = 0
last = time.time()
out = sys.stdout
while True:
    idle = time.time() - last
    # Enough and quiet: done. Short and quiet for long: the rest is not coming.
    if (seen >= expected and idle >= quiet) or idle >= quiet * 6:
        break
    batch = consumer.poll(timeout_ms=500, max_records=10000)
    for tp, records in batch.items():
        for r in records:
            out.write(json.dumps({
                "partition": tp.partition,
                "offset": r.offset,
                "key": r.key.decode() if r.key is not None else None,
                "headers": {k: v.decode() for k, v in r.headers},
                "value": r.value.decode(),
            }) + "\n")
            seen += 1
            last = time.time()
consumer.close()
