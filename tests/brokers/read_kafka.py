"""Reads a Kafka topic back with confluent-kafka (its own librdkafka build from PyPI,
independent of the one foxtrot links).

Usage: read_kafka.py HOST:PORT TOPIC EXPECTED QUIET_S
Prints one JSON object per record: partition, offset, key, headers, value. Reads until
EXPECTED records and then QUIET_S seconds without more (so duplicates would show), or
QUIET_S * 6 without any record at all: tansu can report an end offset below what it
holds, so the reported end is not trusted.
"""
import json
import sys
import time

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, TopicPartition

bootstrap, topic, expected, quiet = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
consumer = Consumer({
    "bootstrap.servers": bootstrap,
    "group.id": "foxtrot-test-reader",
    "enable.auto.commit": False,
    "auto.offset.reset": "earliest",
})
deadline = time.time() + 60
partitions = []
while not partitions and time.time() < deadline:
    topics = consumer.list_topics(topic, timeout=5).topics
    meta = topics.get(topic)
    if meta is not None and meta.error is None:
        partitions = sorted(meta.partitions)
    if not partitions:
        time.sleep(0.2)
if not partitions:
    sys.exit(f"topic {topic} has no partitions")
consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
seen = 0
last = time.time()
out = sys.stdout
while True:
    idle = time.time() - last
    # Enough and quiet: done. Short and quiet for long: the rest is not coming.
    if (seen >= expected and idle >= quiet) or idle >= quiet * 6:
        break
    for m in consumer.consume(num_messages=10000, timeout=0.5):
        if m.error():
            # End of a partition is no error here (the reported end is not trusted).
            if m.error().code() == -191:  # _PARTITION_EOF
                continue
            raise KafkaException(m.error())
        out.write(json.dumps({
            "partition": m.partition(),
            "offset": m.offset(),
            "key": m.key().decode() if m.key() is not None else None,
            "headers": {k: v.decode() for k, v in (m.headers() or [])},
            "value": m.value().decode(),
        }) + "\n")
        seen += 1
        last = time.time()
consumer.close()
