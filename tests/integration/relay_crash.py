"""A relay that dies by SIGKILL after Kafka acknowledged a batch and before it marked it published."""

from __future__ import annotations

import asyncio
import os
import signal

from shared.base.settings import ServiceSettings
from shared.kernel.db import make_engine
from shared.kernel.kafka import make_producer
from shared.kernel.relay import OutboxRelay


class CrashingRelay(OutboxRelay):
    async def mark_published(self, ids: list[int]) -> None:
        os.kill(os.getpid(), signal.SIGKILL)


async def main() -> None:
    schema = os.environ["TEST_SCHEMA"]
    settings = ServiceSettings.for_service(schema, database_url=os.environ["REHAB_T_DSN"], db_schema=schema)
    relay = CrashingRelay(make_engine(settings.dsn(), schema), lambda: make_producer(settings, "crash"), schema, 500)
    await relay.publish_batch()


if __name__ == "__main__":
    asyncio.run(main())
