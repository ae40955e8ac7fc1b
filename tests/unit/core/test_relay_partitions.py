"""The relay puts each stream where Kafka's own clients would: its partition is murmur2 of the
stream id (the record key), as aiokafka's `send` and the Java client choose it."""

from __future__ import annotations

import random

from aiokafka.partitioner import DefaultPartitioner
from aiokafka.partitioner import murmur2 as kafkas_murmur2
from fairline_events.relay import _StreamPartitions, murmur2, murmur2_all


def keys() -> list[bytes]:
    rng = random.Random(12)
    # every length modulo four (the tail), empty keys, non-ASCII bytes, and stream ids
    odd = [rng.randbytes(rng.randint(0, 64)) for _ in range(5000)]
    return [b"", *odd, *(f"booth-E1-{i:06d}".encode() for i in range(2000)), "é".encode()]


def test_the_hash_is_kafkas_murmur2() -> None:
    assert [murmur2(k) for k in keys()] == [kafkas_murmur2(k) for k in keys()]


def test_keys_hashed_side_by_side_hash_as_one_by_one() -> None:
    # Many keys of each length (hashed together), a few of others (one by one), in any order.
    mixed = keys() + [k[:3] for k in keys()[:6]] + [b"x" * 65]
    random.Random(3).shuffle(mixed)
    assert murmur2_all(mixed) == [kafkas_murmur2(k) for k in mixed]
    assert murmur2_all([]) == []


def test_each_stream_goes_to_the_partition_aiokafka_would_choose_every_time() -> None:
    partitions = [0, 1, 2, 3, 4]
    chosen = _StreamPartitions(partitions)
    expected = [DefaultPartitioner()(k, partitions, partitions) for k in keys()]
    assert [chosen.of(k) for k in keys()] == expected
    assert chosen.of_all(keys()) == expected


def test_streams_are_placed_anew_when_the_topic_gains_partitions() -> None:
    three = _StreamPartitions([0, 1, 2])
    assert three.fits([0, 1, 2])
    assert not three.fits([0, 1, 2, 3])
    placed = [three.of(k) for k in keys()]
    assert set(placed) == {0, 1, 2}
    four = _StreamPartitions([0, 1, 2, 3])
    assert [four.of(k) for k in keys()] != placed
