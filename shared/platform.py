"""`python -m shared.platform kafka|topics`: wait for Kafka; create the topics (also the deploy job in Kubernetes)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import time

from shared.kafka import ALL_TOPICS, ensure_topics, kafka_reachable
from shared.settings import PlatformSettings


async def wait_kafka(settings: PlatformSettings, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await kafka_reachable(settings, timeout=3):
            return True
        await asyncio.sleep(1)
    return False


def main(argv: list[str] | None = None) -> int:
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    parser = argparse.ArgumentParser(prog="python -m shared.platform")
    parser.add_argument("what", choices=["kafka", "topics"])
    parser.add_argument("--timeout", type=float, default=60)
    args = parser.parse_args(argv)
    settings = PlatformSettings()
    if args.what == "kafka":
        if asyncio.run(wait_kafka(settings, args.timeout)):
            print(f"Kafka answers metadata requests at {settings.kafka_bootstrap}")
            return 0
        print(f"Kafka did not answer at {settings.kafka_bootstrap} within {args.timeout:.0f}s", file=sys.stderr)
        return 1
    topics = [settings.topic(t) for t in ALL_TOPICS]
    asyncio.run(ensure_topics(settings, topics))
    print(f"topics ready: {', '.join(topics)} (+ .dlq)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
