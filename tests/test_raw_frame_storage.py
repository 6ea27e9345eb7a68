"""Compact raw-frame storage (schema version 4): the monitor's bytes read back exactly across pieces,
records of version 3 still read (and resumed), a killed writer loses no more than the last commit,
and a GE S/5 session's raw frames take about a tenth of their size."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from shared_paths import CAPTURES

from kapmonitor.commands.replay import replay_to_session
from kapmonitor.model.samples import RawFrame
from kapmonitor.recording import rawcodec
from kapmonitor.recording.database import open_read_only
from kapmonitor.recording.reader import RecordReader, read_rx_frames
from kapmonitor.recording.recorder import SessionRecorder
from kapmonitor.recording.schema import MIGRATIONS, SCHEMA_VERSION

ROOT = Path(__file__).resolve().parent.parent
DB00 = CAPTURES / "ge_s5_carescape_db00.raw"
T0 = 1_767_258_000.0


def _frames(n: int, seconds: float, seed: int = 3) -> list[RawFrame]:
    """`n` frames over `seconds`, both directions, of every size from empty to 3 KB, at times with
    microseconds (and one repeated time)."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        t = T0 + round(i * seconds / n, 6)
        size = rng.choice((0, 1, 7, 300, 1154, 3000))
        out.append(RawFrame(t, "tx" if i % 5 == 0 else "rx", rng.randbytes(size // 2) + bytes(size - size // 2)))
    out.insert(10, RawFrame(out[9].time, "rx", b"\x7e\x7d\x5e"))
    return out


def _same(got: list[RawFrame], want: list[RawFrame]) -> None:
    assert [(f.direction, f.data) for f in got] == [(f.direction, f.data) for f in want]
    assert max(abs(a.time - b.time) for a, b in zip(got, want, strict=True)) <= 1e-6


def test_frames_read_back_byte_identical_across_pieces_while_recording_and_after(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    frames = _frames(3000, 3 * rawcodec.PIECE_SECONDS + 40)  # three full pieces and an open one
    with SessionRecorder(path) as rec:
        for n, i in enumerate(range(0, len(frames), 7)):  # batches of 7, as a driver's reads come
            rec.on_items(frames[i:i + 7])
            if n % 5 == 4:
                assert rec.flush()  # a commit: the open piece gets a stream row
        assert rec.flush()
        with RecordReader.open(path) as reader:  # while recording: the open piece's stream rows
            _same(reader.raw_frames(), frames)
            encodings = [r[0] for r in reader.conn.execute("SELECT encoding FROM raw_pieces ORDER BY rowid")]
    assert encodings[:3] == [rawcodec.BZ2] * 3 and set(encodings[3:]) == {rawcodec.ZSTREAM}
    assert len(encodings) >= 6  # a row per transaction of the open piece
    with RecordReader.open(path) as reader:  # closed: the last piece compressed whole too
        _same(reader.raw_frames(), frames)
        rows = reader.conn.execute("SELECT piece, frames, size, encoding FROM raw_pieces ORDER BY rowid").fetchall()
        assert [r[0] for r in rows] == [1, 2, 3, 4] and {r[3] for r in rows} == {rawcodec.BZ2}
        assert sum(r[1] for r in rows) == len(frames) and sum(r[2] for r in rows) == sum(len(f.data) for f in frames)
        assert [r["data"] for r in reader.rows("raw_frames")] == [f.data for f in sorted(frames, key=lambda f: f.time)]
    assert read_rx_frames(path) == [f.data for f in frames if f.direction == "rx" and f.data]


def test_a_refused_frame_is_dropped_alone(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    with SessionRecorder(path) as rec:
        rec.on_items([RawFrame(T0, "rx", b"a")])
        rec.on_items([RawFrame(T0 + 1, "sideways", b"b")])
        rec.on_items([RawFrame(float("inf"), "rx", b"c")])
        rec.on_items([RawFrame(float("nan"), "rx", b"d")])
        rec.on_items([RawFrame(T0 + 2, "tx", b"e")])
        assert not rec.flush() and rec.rejected_rows == 3 and rec.running
    with RecordReader.open(path) as reader:
        assert [(f.direction, f.data) for f in reader.raw_frames()] == [("rx", b"a"), ("tx", b"e")]
        assert reader.conn.execute("SELECT count(DISTINCT piece) FROM raw_pieces").fetchone()[0] == 1


def test_frames_a_little_out_of_time_order_stay_in_one_piece_in_arrival_order(tmp_path: Path) -> None:
    """A request is stamped when sent, the answer read with it when read: times may step back."""
    path = tmp_path / "s.db"
    frames = [RawFrame(T0 + i // 2 * 0.5 + (0.004 if i % 2 == 0 else 0.0), "rx" if i % 2 == 0 else "tx",
                       bytes([i]) * 50) for i in range(200)]  # each tx 4 ms before the rx before it
    with SessionRecorder(path) as rec:
        rec.on_items(frames)
        assert rec.flush()
    with RecordReader.open(path) as reader:
        _same(reader.raw_frames(), frames)
        assert reader.conn.execute("SELECT count(DISTINCT piece) FROM raw_pieces").fetchone()[0] == 1


def test_a_version_3_record_reads_as_it_was_and_resumes_into_pieces(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    for version in range(3):
        conn.executescript(f"BEGIN;\n{MIGRATIONS[version]}\nPRAGMA user_version = {version + 1};\nCOMMIT;")
    old = [RawFrame(T0 + i * 0.25, "rx" if i % 3 else "tx", bytes([i]) * (i + 1)) for i in range(40)]
    conn.executemany("INSERT INTO raw_frames (t, direction, data) VALUES (?, ?, ?)",
                     [(f.time, f.direction, f.data) for f in old])
    conn.commit()
    conn.close()
    before = path.read_bytes()
    with RecordReader.open(path, closed=True) as reader:  # read as it is, nothing written
        assert reader.schema_version() == 3
        assert reader.raw_frames() == old
    assert path.read_bytes() == before
    new = _frames(50, 20.0)
    with SessionRecorder(path) as rec:  # resumed by this version: migrated, new frames in pieces
        rec.on_items(new)
        assert rec.flush()
    with RecordReader.open(path) as reader:
        assert reader.schema_version() == SCHEMA_VERSION >= 4
        back = reader.raw_frames()
        assert reader.conn.execute("SELECT count(*) FROM raw_frames").fetchone()[0] == len(old)  # left as they were
    assert back[:len(old)] == old
    _same(back[len(old):], new)


WRITER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from kapmonitor.model.samples import RawFrame
    from kapmonitor.recording.recorder import SessionRecorder

    rec = SessionRecorder(Path(sys.argv[1]), commit_interval=0.5).start()
    i = 0
    while True:
        # one frame per 10 ms holding its own index, wall time of submission as t
        rec.on_items([RawFrame(time.time(), "rx", b"\\x7e" + i.to_bytes(4, "big") + bytes(200) + b"\\x7e")])
        i += 1
        if i == 50:
            print("writing", flush=True)
        time.sleep(0.01)
    """
)


def test_kill_9_mid_piece_loses_at_most_the_last_second(tmp_path: Path) -> None:
    path = tmp_path / "crash.db"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "writing"
        time.sleep(2.5)
        killed_at = time.time()
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    conn = open_read_only(path)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert {r[0] for r in conn.execute("SELECT encoding FROM raw_pieces")} == {rawcodec.ZSTREAM}  # mid-piece
    frames = RecordReader(conn).raw_frames()
    conn.close()
    assert [int.from_bytes(f.data[1:5], "big") for f in frames] == list(range(len(frames)))  # nothing in between
    assert killed_at - frames[-1].time <= 1.0  # at most the last second lost, as for every other row


def test_a_damaged_piece_says_so() -> None:
    piece = rawcodec.PieceEncoder(T0)
    piece.add(T0, "rx", b"x" * 100)
    encoding, blob = piece.close()
    with pytest.raises(ValueError, match="damaged raw frame piece"):
        list(rawcodec.decode(encoding, [blob[:20]], T0))
    with pytest.raises(ValueError, match="unknown raw frame encoding"):
        list(rawcodec.decode(9, [blob], T0))


@pytest.mark.skipif(not DB00.exists(), reason="shared GE S/5 capture not present")
def test_a_ge_s5_session_stores_its_raw_frames_in_a_tenth_of_their_size(tmp_path: Path) -> None:
    db = tmp_path / "ge.db"
    replay_to_session(DB00, "ge-s5", db)
    capture = DB00.read_bytes()
    with RecordReader.open(db, closed=True) as reader:
        assert b"".join(reader.rx_frames()) == capture  # every byte, in order
        seconds = reader.record_end() - float(reader.conn.execute("SELECT min(t) FROM samples").fetchone()[0])
        stored = reader.conn.execute("SELECT sum(length(data)) FROM raw_pieces").fetchone()[0]
    hours = seconds / 3600
    assert stored <= len(capture) / 10  # bzip2 over 5-min pieces: about 12 times smaller
    # the raw frames add at most 0.5 MB an hour to the record (one row per frame: 5.8 MB an hour)
    assert stored / hours <= 0.5e6


def test_an_hour_of_ge_s5_output_records_in_under_1_5_mb_with_every_byte_and_sample(tmp_path: Path) -> None:
    """One hour of the GE emulator's encoder (displayed values every second, 100 Hz pleth) replayed
    into a record: the whole record, raw frames kept, stays within the 1.5 MB an hour of issue 17."""
    from benchmarks.bench_replay import make_capture

    capture, db = tmp_path / "ge.raw", tmp_path / "ge.db"
    pleth = make_capture(capture, 3600)
    replay_to_session(capture, "ge-s5", db)
    with RecordReader.open(db, closed=True) as reader:
        assert b"".join(reader.rx_frames()) == capture.read_bytes()
        assert sum(len(r["data"]) // 4 for r in reader.rows("waves", "t0")) == pleth  # no sample dropped
    assert db.stat().st_size <= 1.5e6  # one row per raw frame: about 7 MB
