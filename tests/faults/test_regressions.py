"""Collector bugs the fault suite ran into, each pinned by a small test of its own."""

from __future__ import annotations

import errno
import os
import textwrap

from collector.config import load_config_text
from collector.queues import DiskQueue
from collector.registry import Registry
from collector.resolve import resolve


def test_a_receiver_and_an_exporter_of_the_same_id_are_not_a_connector_cycle():
    # The gateway shape: the otlp receiver feeding the otlp exporter in one pipeline.
    text = textwrap.dedent("""
        receivers: {otlp: {protocols: {http: {}}}}
        exporters: {otlp: {endpoint: "127.0.0.1:4317"}}
        service:
          pipelines:
            logs: {receivers: [otlp], exporters: [otlp]}
    """)
    resolved = resolve(load_config_text(text, "config.yaml", env={}), Registry.discover())
    assert [str(id) for id in resolved.pipelines["logs"].exporters] == ["otlp"]


class FullDisk:
    """``os.write`` that fails once with ENOSPC for each of the given file descriptors while ``full``.

    Once: a closed descriptor's number is reused by the next file opened.
    """

    def __init__(self, monkeypatch) -> None:
        self.fds: set[int] = set()
        self.full = False
        real = os.write

        def write(fd: int, data) -> int:
            if self.full and fd in self.fds:
                self.fds.discard(fd)
                raise OSError(errno.ENOSPC, "No space left on device")
            return real(fd, data)

        monkeypatch.setattr(os, "write", write)


async def test_a_full_disk_does_not_break_acks_and_a_drained_queue_takes_data_again(tmp_path, monkeypatch):
    disk = FullDisk(monkeypatch)
    queue = DiskQueue(tmp_path, capacity=100)
    queue.open()
    assert queue.offer(b"one") == (True, None)
    token, item = await queue.get()
    disk.fds = {queue._ack_fd, *(s.fd for s in queue._segments.values())}
    disk.full = True
    # The ack cannot be written: the item is still done here (it raised before, killing the sender).
    queue.done(token)
    assert queue.qsize() == 0
    # The only segment is drained but still on disk and the disk refuses to grow it: the
    # segment is freed and the append retried in a new file (which the freed space holds).
    disk.fds = {next(iter(queue._segments.values())).fd}
    assert queue.offer(b"two") == (True, None)
    assert [p.name for p in tmp_path.glob("*.seg")] == [f"{1:020d}.seg"]
    await queue.close()
    reopened = DiskQueue(tmp_path, capacity=100)
    assert reopened.open().recovered == 1
    assert (await reopened.get())[1] == b"two"
    await reopened.close()


async def test_an_unwritten_ack_means_the_item_is_sent_again_after_a_restart(tmp_path, monkeypatch):
    disk = FullDisk(monkeypatch)
    queue = DiskQueue(tmp_path, capacity=100)
    queue.open()
    queue.offer(b"one")
    token, _ = await queue.get()
    disk.fds, disk.full = {queue._ack_fd}, True
    queue.done(token)
    await queue.close()
    reopened = DiskQueue(tmp_path, capacity=100)
    assert reopened.open().recovered == 1  # at least once: delivered again, never lost
    await reopened.close()
