"""The disk queue: at-least-once across restarts, torn and corrupt tails, bounds."""

from __future__ import annotations

import asyncio
import os

import pytest

from collector.queues import DiskQueue, Fsync, MemoryQueue, WhenFull


def open_queue(path, capacity=100, **kw) -> DiskQueue:
    queue = DiskQueue(path, capacity, fsync=Fsync.NEVER, **kw)
    queue.open()
    return queue


async def take(queue: DiskQueue, n: int) -> list[tuple[int, bytes]]:
    return [await queue.get() for _ in range(n)]


async def test_items_taken_but_not_done_come_back_after_a_restart(tmp_path):
    queue = open_queue(tmp_path)
    for i in range(5):
        assert queue.offer(b"item %d" % i) == (True, None)
    got = await take(queue, 3)
    queue.done(got[0][0])  # item 0 sent; 1 and 2 in flight when the process "dies"
    queue.done(got[2][0])  # out of order
    await queue.close()

    again = DiskQueue(tmp_path, 100, fsync=Fsync.NEVER)
    report = again.open()
    assert report.recovered == 3
    assert [item for _, item in await take(again, 3)] == [b"item 1", b"item 3", b"item 4"]
    await again.close()


async def test_a_torn_tail_is_cut_and_every_intact_record_kept(tmp_path):
    queue = open_queue(tmp_path)
    for i in range(3):
        queue.offer(b"x" * 100 + bytes([i]))
    await queue.close()
    (segment,) = tmp_path.glob("*.seg")
    with open(segment, "ab") as f:
        f.write(b"\x50\x00\x00\x00garbage-of-a-half-written-record")
    again = DiskQueue(tmp_path, 100, fsync=Fsync.NEVER)
    report = again.open()
    assert report.recovered == 3 and report.torn_bytes == 36
    again.offer(b"after")  # appends after the cut, not after the garbage
    assert [item[-1:] for _, item in await take(again, 4)] == [b"\x00", b"\x01", b"\x02", b"r"]
    await again.close()
    third = DiskQueue(tmp_path, 100, fsync=Fsync.NEVER)
    assert third.open().recovered == 4
    await third.close()


async def test_a_corrupt_record_drops_the_rest_of_its_segment_only(tmp_path):
    queue = open_queue(tmp_path, segment_bytes=64)  # one record per segment
    for i in range(4):
        queue.offer(b"payload-%d" % i + b"." * 60)
    await queue.close()
    segments = sorted(tmp_path.glob("*.seg"))
    assert len(segments) == 4
    data = bytearray(segments[1].read_bytes())
    data[20] ^= 0xFF  # flip a payload byte: the checksum no longer matches
    segments[1].write_bytes(bytes(data))
    again = DiskQueue(tmp_path, 100, fsync=Fsync.NEVER)
    report = again.open()
    assert report.recovered == 3 and report.torn_bytes == len(data)
    assert [item[:9] for _, item in await take(again, 3)] == [b"payload-0", b"payload-2", b"payload-3"]
    await again.close()


async def test_finished_segments_are_deleted_and_the_ack_log_stays_small(tmp_path):
    queue = open_queue(tmp_path, segment_bytes=200)
    for i in range(20):
        queue.offer(b"%03d" % i + b"-" * 90)
    for seq, _ in await take(queue, 18):
        queue.done(seq)
    segments = list(tmp_path.glob("*.seg"))
    assert len(segments) <= 2
    assert (tmp_path / "acks.log").stat().st_size <= 2 * 12
    await queue.close()


async def test_capacity_drop_newest_and_drop_oldest(tmp_path):
    newest = open_queue(tmp_path / "a", capacity=2)
    assert newest.offer(b"1")[0] and newest.offer(b"2")[0]
    assert newest.offer(b"3") == (False, None)
    oldest = open_queue(tmp_path / "b", capacity=2, when_full=WhenFull.DROP_OLDEST)
    oldest.offer(b"1"), oldest.offer(b"2")
    assert oldest.offer(b"3") == (True, b"1")
    assert [item for _, item in await take(oldest, 2)] == [b"2", b"3"]
    await newest.close()
    await oldest.close()


async def test_max_bytes_bounds_the_disk(tmp_path):
    queue = open_queue(tmp_path, capacity=1000, max_bytes=1000)
    accepted = sum(queue.offer(b"z" * 100)[0] for _ in range(20))
    assert accepted == 8  # 8 records of 116 bytes fit in 1000
    await queue.close()


async def test_a_refused_write_leaves_no_garbage(tmp_path, monkeypatch):
    queue = open_queue(tmp_path)
    queue.offer(b"before")
    real_write = os.write

    def full_disk(fd, data):
        real_write(fd, data[: len(data) // 2])  # the kernel wrote part of it, then ran out of space
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "write", full_disk)
    with pytest.raises(OSError):
        queue.offer(b"during" * 10)
    monkeypatch.setattr(os, "write", real_write)
    queue.offer(b"after")
    await queue.close()
    again = DiskQueue(tmp_path, 100, fsync=Fsync.NEVER)
    report = again.open()
    assert report.torn_bytes == 0
    assert [item for _, item in await take(again, 2)] == [b"before", b"after"]
    await again.close()


async def test_join_waits_until_everything_is_done(tmp_path):
    import asyncio

    queue = open_queue(tmp_path)
    queue.offer(b"a")
    joined = asyncio.ensure_future(queue.join())
    seq, _ = await queue.get()
    await asyncio.sleep(0)
    assert not joined.done()
    queue.done(seq)
    await asyncio.wait_for(joined, 1)
    await queue.close()


async def test_memory_queue_drop_oldest():
    queue: MemoryQueue[int] = MemoryQueue(2, WhenFull.DROP_OLDEST)
    queue.offer(1), queue.offer(2)
    assert queue.offer(3) == (True, 1)
    assert [(await queue.get())[1], (await queue.get())[1]] == [2, 3]


def sized_queue(when_full: WhenFull = WhenFull.DROP_NEWEST) -> MemoryQueue[bytes]:
    return MemoryQueue(100, when_full, max_bytes=10, size_of=len)


async def test_memory_queue_byte_bound_drops_the_newest():
    queue = sized_queue()
    assert queue.offer(b"aaaa") == (True, None) and queue.offer(b"bbbbb") == (True, None)
    assert queue.offer(b"cc") == (False, None)  # 9 + 2 > 10
    assert queue.offer(b"d") == (True, None) and queue.size_bytes() == 10


async def test_memory_queue_byte_bound_drops_the_oldest_to_make_room():
    queue = sized_queue(WhenFull.DROP_OLDEST)
    queue.offer(b"aaaa"), queue.offer(b"bbbbb")
    assert queue.offer(b"cc") == (True, b"aaaa")
    assert queue.offer(b"x" * 9) == (False, b"bbbbb")  # one drop per offer; still no room
    assert [(await queue.get())[1]] == [b"cc"] and queue.size_bytes() == 2


async def test_memory_queue_bytes_in_flight_count_until_done():
    queue = sized_queue()
    queue.offer(b"a" * 8)
    token, _ = await queue.get()
    assert queue.qsize() == 0 and queue.offer(b"bbb") == (False, None)
    put = asyncio.ensure_future(queue.put(b"bbb"))  # a blocking caller waits for room
    await asyncio.sleep(0.01)
    assert not put.done()
    queue.done(token)
    await asyncio.wait_for(put, 1)
    assert queue.size_bytes() == 3


async def test_memory_queue_takes_an_oversized_item_when_it_holds_nothing():
    queue = sized_queue()
    assert queue.offer(b"x" * 50) == (True, None)
    assert queue.offer(b"y") == (False, None)
    token, _ = await queue.get()
    queue.done(token)
    await asyncio.wait_for(queue.join(), 1)
    assert queue.size_bytes() == 0
