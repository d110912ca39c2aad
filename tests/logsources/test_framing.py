"""Line framing and recoding: the block-level rules every source relies on."""

from __future__ import annotations

from hypothesis import given, strategies as st

from receivers.lines import LineFramer, Recoder


def frame_all(framer: LineFramer, blocks: list[bytes]) -> list[bytes]:
    out: list[bytes] = []
    for block in blocks:
        lines = framer.feed(block)
        if lines is not None:
            parts = lines.data.split(b"\n")
            assert len(parts) == lines.count
            out += parts
    last = framer.flush()
    if last is not None:
        out.append(last.data)
    return out


@given(st.lists(st.binary(max_size=40).map(lambda b: b.replace(b"\n", b"")), max_size=20),
       st.lists(st.integers(1, 30), min_size=1, max_size=10))
def test_any_split_of_a_stream_gives_its_lines(lines, cuts):
    stream = b"".join(line + b"\n" for line in lines)
    blocks, pos, i = [], 0, 0
    while pos < len(stream):
        blocks.append(stream[pos:pos + cuts[i % len(cuts)]])
        pos += cuts[i % len(cuts)]
        i += 1
    assert frame_all(LineFramer(1000), blocks) == lines


def test_long_lines_are_cut_counted_and_the_next_line_kept():
    framer = LineFramer(4)
    out = frame_all(framer, [b"ok\nabcdefgh", b"ijk\nxy\n123456789\nz"])
    assert out == [b"ok", b"abcd", b"xy", b"1234", b"z"]
    assert framer.too_long == 2


def test_an_endless_line_holds_at_most_max_bytes():
    framer = LineFramer(100)
    for _ in range(50):
        framer.feed(b"x" * 64)
        assert framer.pending <= 100
    assert framer.feed(b"\ngood\n").data == b"good"
    assert framer.too_long == 1


def test_utf8_passes_through_and_invalid_bytes_are_replaced_and_counted():
    recoder = Recoder("utf-8")
    data = "héllo".encode()
    assert recoder.recode(data)[0] is data
    out, bad = recoder.recode(b"a\xff\xfeb \xef\xbf\xbd")
    assert out.decode() == "a\ufffd\ufffdb \ufffd" and bad == 2


def test_latin1_becomes_utf8_and_keeps_record_boundaries():
    recoder = Recoder("latin-1")
    data, ends, bad = recoder.recode_records(b"caf\xe9x\xe9", [4, 6])
    assert data.decode() == "caféxé" and ends == [5, 8] and bad == 0
