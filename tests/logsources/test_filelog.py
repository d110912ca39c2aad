"""filelog: rotation, truncation, restart, multiline, gzip and container logs, checked line by line."""

from __future__ import annotations

import asyncio
import gzip
import json
import os

import pytest

from collector.component import ComponentID, Signal
from collector.extensions.file_storage import FileStorage, FileStorageConfig
from receivers.filelog import FileLogConfig, factory
from tests.logsources.conftest import Sink, make_settings


def config(tmp_path, **options) -> FileLogConfig:
    values = {"include": [str(tmp_path / "*.log*")], "start_at": "beginning", "poll_interval": "10ms",
              "force_flush_period": "50ms", **options}
    return FileLogConfig.model_validate(values)


async def running(cfg: FileLogConfig, sink: Sink, host):
    settings, telemetry = make_settings("filelog")
    receiver = factory.create(settings, cfg, {Signal.LOGS: sink})
    await receiver.start(host)
    return receiver, telemetry


def write(path, start: int, stop: int, mode: str = "a") -> None:
    with open(path, mode) as f:
        f.write("".join(f"seq={i:06d} some padding text to make lines longer\n" for i in range(start, stop)))


def sequence(lines: list[bytes]) -> list[int]:
    return [int(line[4:10]) for line in lines]


async def test_reads_appended_lines_in_one_batch_per_cycle(tmp_path, sink, host):
    write(tmp_path / "app.log", 0, 5000)
    receiver, _ = await running(config(tmp_path), sink, host)
    try:
        write(tmp_path / "app.log", 5000, 6000)
        assert sequence(await sink.wait_lines(6000)) == list(range(6000))
        assert len(sink.batches) < 10
        chunk = sink.chunks()[0]
        assert chunk.attributes == {"log.file.name": "app.log"} and chunk.ends is None
    finally:
        await receiver.shutdown()


async def test_start_at_end_skips_what_was_there(tmp_path, sink, host):
    write(tmp_path / "app.log", 0, 10)
    receiver, _ = await running(config(tmp_path, start_at="end"), sink, host)
    try:
        await asyncio.sleep(0.05)
        write(tmp_path / "app.log", 10, 20)
        assert sequence(await sink.wait_lines(10)) == list(range(10, 20))
    finally:
        await receiver.shutdown()


async def _rotate_while_writing(tmp_path, sink, host, rotate) -> None:
    log = tmp_path / "app.log"
    write(log, 0, 1)
    receiver, _ = await running(config(tmp_path), sink, host)
    try:
        n = 1
        for _ in range(4):
            for _ in range(5):
                write(log, n, n + 40)
                n += 40
                await asyncio.sleep(0.004)
            rotate(log)
        write(log, n, n + 40)
        n += 40
        lines = await sink.wait_lines(n)
        await asyncio.sleep(0.05)
        assert sorted(sequence(sink.lines())) == list(range(n)), "lines lost or repeated"
    finally:
        await receiver.shutdown()


async def test_rotation_by_rename_and_create_loses_and_repeats_nothing(tmp_path, sink, host):
    def rotate(log):
        for i in range(3, 0, -1):  # app.log.2 -> app.log.3, app.log.1 -> app.log.2, app.log -> app.log.1
            src = f"{log}.{i}" if i > 1 else str(log)
            if os.path.exists(src):
                os.replace(src, f"{log}.{i + 1}" if i > 1 else f"{log}.1")
        open(log, "w").close()

    await _rotate_while_writing(tmp_path, sink, host, rotate)


async def test_rotation_by_copytruncate_loses_and_repeats_nothing(tmp_path, sink, host):
    counter = iter(range(100))

    def rotate(log):
        with open(log, "rb") as src, open(f"{log}.{next(counter)}", "wb") as dst:
            dst.write(src.read())
        os.truncate(log, 0)

    await _rotate_while_writing(tmp_path, sink, host, rotate)


async def test_rotated_out_of_the_glob_and_deleted_files_are_read_to_their_end(tmp_path, sink, host):
    cfg = config(tmp_path, include=[str(tmp_path / "app.log")])
    write(tmp_path / "app.log", 0, 10)
    receiver, _ = await running(cfg, sink, host)
    try:
        await sink.wait_lines(10)
        with open(tmp_path / "app.log", "a") as still_open:  # the app keeps writing to its open file
            os.replace(tmp_path / "app.log", tmp_path / "old")
            still_open.write("seq=000010 written after the rename\n")
        os.unlink(tmp_path / "old")
        write(tmp_path / "app.log", 11, 20, "w")
        assert sorted(sequence(await sink.wait_lines(20))) == list(range(20))
    finally:
        await receiver.shutdown()


async def test_truncation_in_place_starts_the_file_again(tmp_path, sink, host):
    write(tmp_path / "app.log", 0, 10)
    receiver, _ = await running(config(tmp_path), sink, host)
    try:
        await sink.wait_lines(10)
        write(tmp_path / "app.log", 10, 15, "w")
        assert sequence(await sink.wait_lines(15)) == list(range(15))
    finally:
        await receiver.shutdown()


class StorageHost:
    """A host running one ``file_storage`` extension, as ``extensions: {file_storage: {directory: ...}}``."""

    def __init__(self, directory) -> None:
        self.storage = FileStorage(make_settings("file_storage")[0], FileStorageConfig(directory=str(directory)))

    def get_extension(self, id: ComponentID):
        return self.storage if id == ComponentID("file_storage") else None


async def test_restart_from_checkpoint_continues_exactly(tmp_path, sink):
    storage = tmp_path / "state"
    host = StorageHost(storage)
    cfg = config(tmp_path, storage="file_storage")
    write(tmp_path / "app.log", 0, 100)
    receiver, _ = await running(cfg, sink, host)
    await sink.wait_lines(100)
    write(tmp_path / "app.log", 100, 150)
    await receiver.shutdown()
    write(tmp_path / "app.log", 150, 200)
    os.replace(tmp_path / "app.log", tmp_path / "app.log.1")  # rotated while we were down
    write(tmp_path / "app.log", 200, 230)
    receiver, _ = await running(cfg, sink, host)
    try:
        await sink.wait_lines(230)
        await asyncio.sleep(0.05)
        assert sorted(sequence(sink.lines())) == list(range(230))
        assert os.listdir(storage) == ["receiver_filelog"]
        assert os.listdir(storage / "receiver_filelog") == ["positions.json"]
    finally:
        await receiver.shutdown()


async def test_refused_batches_do_not_move_the_checkpoint(tmp_path, sink):
    host = StorageHost(tmp_path / "state")
    cfg = config(tmp_path, storage="file_storage")
    write(tmp_path / "app.log", 0, 50)
    sink.refuse = 10**6  # memory_limiter refuses everything
    receiver, _ = await running(cfg, sink, host)
    await sink.wait_for(lambda s: s.offers >= 2)
    await receiver.shutdown()
    sink.refuse = 2  # a restart, and then a short refusal
    receiver, _ = await running(cfg, sink, host)
    try:
        assert sequence(await sink.wait_lines(50)) == list(range(50))
    finally:
        await receiver.shutdown()


async def test_multiline_by_start_pattern(tmp_path, sink, host):
    (tmp_path / "app.log").write_text(
        "2024-05-01 ERROR boom\n  at a()\n  at b()\n2024-05-01 INFO ok\n2024-05-01 ERROR again\n  at c()\n")
    receiver, _ = await running(config(tmp_path, multiline={"line_start_pattern": r"^\d{4}-"}), sink, host)
    try:
        lines = await sink.wait_lines(3)
        assert lines == [b"2024-05-01 ERROR boom\n  at a()\n  at b()", b"2024-05-01 INFO ok",
                         b"2024-05-01 ERROR again\n  at c()"]
    finally:
        await receiver.shutdown()


async def test_multiline_by_end_pattern(tmp_path, sink, host):
    (tmp_path / "app.log").write_text("a\nb;\nc;\nd\ne")
    receiver, _ = await running(config(tmp_path, multiline={"line_end_pattern": r";$"}), sink, host)
    try:
        assert await sink.wait_lines(3) == [b"a\nb;", b"c;", b"d\ne"]
    finally:
        await receiver.shutdown()


async def test_gzip_rotation_is_recognised_not_read_again(tmp_path, sink, host):
    write(tmp_path / "app.log", 0, 30)
    receiver, _ = await running(config(tmp_path), sink, host)
    try:
        await sink.wait_lines(30)
        write(tmp_path / "app.log", 30, 40)
        with open(tmp_path / "app.log", "rb") as src, gzip.open(tmp_path / "app.log.1.gz", "wb") as dst:
            dst.write(src.read())
        os.unlink(tmp_path / "app.log")
        with gzip.open(tmp_path / "old.log.gz", "wb") as f:  # a compressed file never seen before
            f.write(b"".join(b"seq=%06d from gzip\n" % i for i in range(40, 60)))
        await sink.wait_lines(60)
        await asyncio.sleep(0.05)
        assert sorted(sequence(sink.lines())) == list(range(60))
    finally:
        await receiver.shutdown()


async def test_long_lines_and_bad_bytes_are_cut_replaced_and_counted(tmp_path, sink, host):
    (tmp_path / "app.log").write_bytes(b"ok\n" + b"x" * 5000 + b"\nbad \xff\xfe\nok2\n")
    receiver, telemetry = await running(config(tmp_path, max_log_size=1000), sink, host)
    try:
        lines = await sink.wait_lines(4)
        assert lines == [b"ok", b"x" * 1000, "bad \ufffd\ufffd".encode(), b"ok2"]
        assert telemetry.bad("too_long") == 1 and telemetry.bad("invalid_encoding") == 2
    finally:
        await receiver.shutdown()


async def test_container_logs_in_a_daemonset_layout_are_joined_and_labelled(tmp_path, sink, host):
    pods = tmp_path / "var/log/pods"
    cri = pods / "shop_checkout-7d9f_0f4c6a3e-1111-2222-3333-444455556666/app/2.log"
    docker = pods / "kube-system_proxy-x1_aaaabbbb-1111-2222-3333-444455556666/proxy/0.log"
    cri.parent.mkdir(parents=True)
    docker.parent.mkdir(parents=True)
    cri.write_text(
        '2024-05-01T12:00:00.1Z stdout F {"status":200}\n'
        '2024-05-01T12:00:00.2Z stdout P {"status":\n'
        '2024-05-01T12:00:00.2Z stderr F warning: slow\n'
        '2024-05-01T12:00:00.3Z stdout F 500}\n'
        'not a cri line\n')
    docker.write_text(
        json.dumps({"log": "part one, ", "stream": "stdout", "time": "t"}) + "\n"
        + json.dumps({"log": "part two\n", "stream": "stdout", "time": "t"}) + "\n")
    cfg = config(tmp_path, include=[str(pods / "*/*/*.log")], format="container")
    receiver, telemetry = await running(cfg, sink, host)
    try:
        await sink.wait_lines(4)
    finally:
        await receiver.shutdown()
    got = {(c.resource["k8s.pod.name"], c.attributes["log.iostream"]): list(c.lines()) for c in sink.chunks()}
    assert got == {("checkout-7d9f", "stdout"): [b'{"status":200}', b'{"status":500}'],
                   ("checkout-7d9f", "stderr"): [b"warning: slow"],
                   ("proxy-x1", "stdout"): [b"part one, part two"]}
    resource = next(c.resource for c in sink.chunks() if c.resource["k8s.pod.name"] == "checkout-7d9f")
    assert resource == {"k8s.namespace.name": "shop", "k8s.pod.name": "checkout-7d9f",
                        "k8s.pod.uid": "0f4c6a3e-1111-2222-3333-444455556666", "k8s.container.name": "app",
                        "k8s.container.restart_count": "2"}
    assert telemetry.bad("invalid_container_line") == 1


async def test_storage_must_name_a_running_storage_extension(tmp_path, sink, host):
    receiver = factory.create(make_settings("filelog")[0], config(tmp_path, storage="file_storage/state"),
                              {Signal.LOGS: sink})
    with pytest.raises(RuntimeError, match="'file_storage/state' is not a running storage extension"):
        await receiver.start(host)
    await receiver.shutdown()


def test_config_errors_name_the_problem(tmp_path):
    with pytest.raises(ValueError, match="include must list"):
        FileLogConfig(include=[])
    with pytest.raises(ValueError, match="exactly one"):
        config(tmp_path, multiline={})
    with pytest.raises(ValueError, match="not ASCII-compatible"):
        config(tmp_path, encoding="utf-16")
    with pytest.raises(ValueError, match="invalid component id '/var/lib/fathom'"):
        config(tmp_path, storage="/var/lib/fathom")


async def test_hand_over_passes_offsets_and_open_files_to_the_successor(tmp_path, sink, host):
    cfg = config(tmp_path, poll_interval="1h", multiline={"line_end_pattern": r"^seq=\d{5}9"})  # one poll
    write(tmp_path / "app.log", 0, 15)
    old, _ = await running(cfg, sink, host)
    await sink.wait_lines(1)  # 0-9 as one record; 10-14 held, as the start of the next one
    write(tmp_path / "app.log", 15, 25)  # never read by the old instance
    (tmp_path / "app.log").unlink()  # deleted while open: only the handed-over handle still reads it
    write(tmp_path / "other.log", 100, 105)
    state = await old.hand_over()
    new = factory.create(make_settings("filelog")[0], config(tmp_path, start_at="end"), {Signal.LOGS: sink})
    new.take_over(state)
    await new.start(host)
    try:
        await sink.wait_lines(3)
        await asyncio.sleep(0.05)
    finally:
        await new.shutdown()
    records = [line.split(b"\n") for line in sink.lines()]
    # A multiline record under the old config; the successor reads on from the held lines, one record each.
    assert [sequence(r) for r in records] == [list(range(0, 10))] + [[i] for i in range(10, 25)] + [
        [i] for i in range(100, 105)]


async def test_container_logs_with_multiline_group_each_streams_lines_after_joining_partials(tmp_path, sink, host):
    log = tmp_path / "var/log/pods/shop_api-1_0f4c6a3e-1111-2222-3333-444455556666/app/0.log"
    log.parent.mkdir(parents=True)
    log.write_text(
        "t stderr F Exception in thread main\n"
        "t stdout F GET /a\n"
        "t stderr F \tat a.b(A.java:1)\n"
        "t stderr P \tat c.d(\n"
        "t stdout F GET /b\n")
    cfg = config(tmp_path, include=[str(log)], format="container", force_flush_period="10s",
                 multiline={"line_start_pattern": r"^[^\t]"})
    receiver, _ = await running(cfg, sink, host)
    try:
        await sink.wait_lines(1)  # GET /a, ended by GET /b; the rest may go on
        with open(log, "a") as f:
            f.write("t stderr F C.java:2)\nt stderr F Caused by: x\nt stdout F GET /c\n")
        await sink.wait_lines(3)
    finally:
        await receiver.shutdown()
    got: dict[str, list[bytes]] = {}
    for chunk in sink.chunks():
        got.setdefault(chunk.attributes["log.iostream"], []).extend(chunk.lines())
    assert got == {"stdout": [b"GET /a", b"GET /b"],
                   "stderr": [b"Exception in thread main\n\tat a.b(A.java:1)\n\tat c.d(C.java:2)"]}
    # Records that may go on are not handed on; the checkpoint stays at the first line of the earliest.
    assert [p.offset for p in receiver.positions()] == [log.read_bytes().index(b"t stderr F Caused by")]
