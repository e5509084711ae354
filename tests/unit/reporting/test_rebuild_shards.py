"""How a long rebuild splits the partitions between its processes (no I/O)."""

from __future__ import annotations

from aiokafka import TopicPartition

from services.reporting.rebuild import _shards


def test_the_partitions_are_shared_by_events_each_one_in_one_shard() -> None:
    sizes = {TopicPartition("cases", p): n for p, n in enumerate([30, 10, 25, 5, 0])}
    sizes[TopicPartition("registry", 0)] = 20
    shards = _shards(sizes, 2)
    assert len(shards) == 2
    assert sorted(tp for shard in shards for tp in shard) == sorted(sizes)  # every partition, in one shard only
    assert sorted(sum(sizes[tp] for tp in shard) for shard in shards) == [45, 45]


def test_no_shard_is_left_without_events() -> None:
    sizes = {TopicPartition("cases", 0): 7, TopicPartition("cases", 1): 0}
    assert _shards(sizes, 2) == [[TopicPartition("cases", 0), TopicPartition("cases", 1)]]
    assert _shards({TopicPartition("cases", 0): 0}, 2) == [[TopicPartition("cases", 0)]]
