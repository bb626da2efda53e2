# SPDX-License-Identifier: Apache-2.0
"""pipemode.Reader, Writer, crc32c and the errors, over files, descriptors,
FIFOs and channels."""

import os
import re
import struct
import threading

import pytest

import pipemode
from conftest import OPEN_TIMEOUT, encode, make_lines, make_records, \
    serve_fifo

FORMATS = ["tfrecord", "recordio", "lines"]


def records_for(fmt, n=500, size=100, seed=3):
    if fmt == "lines":
        return make_lines(n, seed)
    return make_records(n, size, seed)


def tfrecord_offsets(records):
    off, out = 0, []
    for r in records:
        out.append(off)
        off += 16 + len(r)
    return out


def write_file(path, data):
    with open(path, "wb") as f:
        f.write(data)
    return str(path)


# ------------------------------------------------------------ basics

def test_versions_and_library():
    assert pipemode.__version__ == "1.0.0"
    v = pipemode.library_version()
    assert re.fullmatch(r"\d+\.\d+\.\d+", v)
    assert int(v.split(".")[0]) == 1
    assert os.path.basename(pipemode.library_path()).startswith("libpipemode")


def test_crc32c():
    assert pipemode.crc32c(b"123456789") == 0xE3069283
    assert pipemode.crc32c(b"") == 0
    a, b = b"hello, ", b"world"
    assert pipemode.crc32c(b, pipemode.crc32c(a)) == pipemode.crc32c(a + b)
    assert pipemode.crc32c(bytearray(b"123456789")) == 0xE3069283
    assert pipemode.crc32c(memoryview(b"xx123456789")[2:]) == 0xE3069283
    assert pipemode.crc32c(b"123456789", crc=0) == 0xE3069283


def test_format_options_escapes_and_converts():
    f = pipemode.format_options
    assert f(format="recordio", open_timeout=2.5, skip_corrupt=3,
             verify_crc=False, timing=True) == \
        "format=recordio,open_timeout=2.5,skip_corrupt=3,verify_crc=0,timing=1"
    assert f(name="a,b\\c") == "name=a\\,b\\\\c"
    assert f(name=None, format="lines") == "format=lines"
    assert f() == ""
    with pytest.raises(TypeError):
        f(name=["x"])
    with pytest.raises(ValueError):
        f(open_timeout=float("nan"))


def test_option_values_reach_the_library_unescaped(tmp_path):
    data = encode([b"x"])
    p = write_file(tmp_path / "f", data)
    name = "odd, name\\with=signs"
    with pipemode.Reader(path=p, name=name) as r:
        assert r.source_name == name
        assert list(r) == [b"x"]


def test_exactly_one_source():
    with pytest.raises(TypeError):
        pipemode.Reader()
    with pytest.raises(TypeError):
        pipemode.Reader("train", path="/x")
    with pytest.raises(TypeError):
        pipemode.Reader(path="/x", fd=0)
    with pytest.raises(TypeError):
        pipemode.Writer()
    with pytest.raises(ValueError):
        pipemode.Reader(path="/x", batch_size=0)


# ------------------------------------------------------------ path and fd

@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("batch_size", [1, 7, 256])
def test_reader_over_a_file(tmp_path, fmt, batch_size):
    recs = records_for(fmt)
    p = write_file(tmp_path / "data", encode(recs, fmt))
    with pipemode.Reader(path=p, format=fmt, batch_size=batch_size) as r:
        assert list(r) == recs
        # the end repeats
        assert list(r) == []
        with pytest.raises(StopIteration):
            next(r)
        st = r.stats()
        assert st.records == len(recs)
        assert st.payload_bytes == sum(map(len, recs))
        assert st.bytes_read == os.path.getsize(p)
        assert st.epoch == -1
        assert st.files == 1
        assert st._asdict()["records"] == len(recs)
        assert r.source_name == p
        assert r.record_index == len(recs)
        assert r.byte_offset == os.path.getsize(p)


@pytest.mark.parametrize("fmt", FORMATS)
def test_reader_over_a_descriptor_leaves_it_open(tmp_path, fmt):
    recs = records_for(fmt)
    p = write_file(tmp_path / "data", encode(recs, fmt))
    fd = os.open(p, os.O_RDONLY)
    try:
        with pipemode.Reader(fd=fd, format=fmt) as r:
            assert r.source_name == "fd %d" % fd
            assert list(r) == recs
        os.fstat(fd)  # still open
        os.lseek(fd, 0, os.SEEK_SET)
        with open(fd, "rb", closefd=False) as f:
            with pipemode.Reader(fd=f, format=fmt) as r:
                assert list(r) == recs
    finally:
        os.close(fd)


@pytest.mark.parametrize("fmt", FORMATS)
def test_reader_over_a_fifo(tmp_path, fmt):
    recs = records_for(fmt, n=3000)
    data = encode(recs, fmt)
    p = str(tmp_path / "fifo")
    os.mkfifo(p)
    sent = []
    t = threading.Thread(target=lambda: sent.append(serve_fifo(p, data,
                                                               chunk=999)))
    t.start()
    with pipemode.Reader(path=p, format=fmt) as r:
        assert list(r) == recs
    t.join(30)
    assert sent == [len(data)]


@pytest.mark.parametrize("compression", ["gzip", "zlib"])
def test_compressed_streams(tmp_path, compression):
    recs = make_records(2000, 300)
    p = write_file(tmp_path / "data", encode(recs, "recordio",
                                             compression=compression))
    for c in (compression, "auto"):
        with pipemode.Reader(path=p, format="recordio", compression=c) as r:
            assert list(r) == recs


def test_format_auto(tmp_path):
    for fmt in ("tfrecord", "recordio"):
        recs = make_records(100)
        p = write_file(tmp_path / fmt, encode(recs, fmt))
        with pipemode.Reader(path=p, format="auto") as r:
            assert list(r) == recs


def test_empty_and_large_records(tmp_path):
    recs = [b"", b"a", b"", os.urandom(3 << 20), b"", os.urandom(70000)]
    for fmt in ("tfrecord", "recordio"):
        p = write_file(tmp_path / fmt, encode(recs, fmt))
        with pipemode.Reader(path=p, format=fmt, batch_size=3) as r:
            assert list(r) == recs


def test_batch_size_1_gives_each_records_position(tmp_path):
    recs = make_records(50)
    offs = tfrecord_offsets(recs)
    p = write_file(tmp_path / "f", encode(recs))
    with pipemode.Reader(path=p, batch_size=1) as r:
        for i, rec in enumerate(r):
            assert rec == recs[i]
            assert r.record_index == i
            assert r.byte_offset == offs[i]


def test_next_batch_batches_and_iteration_mix(tmp_path):
    recs = make_records(5000, 50)
    p = write_file(tmp_path / "f", encode(recs))
    got = []
    with pipemode.Reader(path=p, batch_size=64) as r:
        got.append(next(r))
        b = r.next_batch(10)
        assert 1 <= len(b) <= 10
        got.extend(b)
        got.extend(r.next_batch(1000))
        for _, rec in zip(range(100), r):
            got.append(rec)
        b = next(r.batches(5))
        assert 1 <= len(b) <= 5
        got.extend(b)
        got.append(next(r))
        for b in r.batches():
            assert b
            got.extend(b)
        assert r.next_batch() == []
    assert got == recs


def test_close_is_idempotent_and_use_after_close_is_an_error(tmp_path):
    p = write_file(tmp_path / "f", encode([b"a", b"b"]))
    r = pipemode.Reader(path=p)
    assert next(r) == b"a"
    assert not r.closed
    r.close()
    r.close()
    assert r.closed
    with pytest.raises(ValueError):
        next(r)
    with pytest.raises(ValueError):
        r.stats()
    with pytest.raises(ValueError):
        r.record_index
    assert "closed" in repr(r)


# ------------------------------------------------------------ channels

@pytest.mark.parametrize("fmt", FORMATS)
def test_channel_epochs_in_order(channels, fmt):
    epochs = [records_for(fmt, n=300, seed=10 + e) for e in range(3)]
    feeder = channels.feed("train", [encode(e, fmt) for e in epochs])
    for e, want in enumerate(epochs):
        with pipemode.Reader("train", format=fmt, **channels.options) as r:
            assert r.source_name.endswith("train_%d" % e)
            assert list(r) == want
            st = r.stats()
            assert st.epoch == e
            assert st.records == len(want)
    assert [n for _, n in feeder.join()] == [len(encode(e, fmt))
                                            for e in epochs]
    assert channels.epoch_counter("train") == 3


def test_channel_epoch_option_leaves_the_counter(channels):
    recs = make_records(10)
    channels.feed("val", [encode(recs)], first=5)
    with pipemode.Reader(channel="val", epoch=5, **channels.options) as r:
        assert list(r) == recs
        assert r.stats().epoch == 5
    assert channels.epoch_counter("val") == 0


def test_channel_in_file_mode(channels):
    d = channels.pipe_dir / "train"
    (d / "sub").mkdir(parents=True)
    a, b, c = make_records(20, seed=1), make_records(30, seed=2), \
        make_records(5, seed=3)
    (d / "a.rec").write_bytes(encode(a))
    (d / "sub" / "b.rec").write_bytes(encode(b))
    (d / "z.rec").write_bytes(encode(c))
    for _ in range(2):
        with pipemode.Reader("train", **channels.options) as r:
            assert list(r) == a + b + c
            assert r.stats().files == 3


def test_inputdataconfig_recordio_is_the_default(channels):
    channels.write_config({"train": {"TrainingInputMode": "Pipe",
                                     "RecordWrapperType": "RecordIO"}})
    recs = make_records(100)
    channels.feed("train", [encode(recs, "recordio")])
    with pipemode.Reader("train", **channels.options) as r:
        assert list(r) == recs


# ------------------------------------------------------------ options

def test_options_pass_through(tmp_path):
    recs = [b"a" * 10, b"b" * 100, b"c" * 1000]
    p = write_file(tmp_path / "f", encode(recs))
    with pipemode.Reader(path=p, max_record_size=100) as r:
        assert next(r) == recs[0]
        assert next(r) == recs[1]
        with pytest.raises(pipemode.TooBigError) as ei:
            next(r)
        assert ei.value.record_index == 2
    with pipemode.Reader(path=p, buffer_size="4K", pipe_size=0,
                         timing=True) as r:
        assert list(r) == recs
        assert r.stats().library_ns > 0


def test_unknown_option_and_bad_value_name_the_key(tmp_path):
    p = write_file(tmp_path / "f", encode([b"x"]))
    with pytest.raises(pipemode.OptionError) as ei:
        pipemode.Reader(path=p, no_such_key=1)
    e = ei.value
    assert "no_such_key" in e.message
    assert e.code == -4 and e.name == "EOPTION"
    assert isinstance(e, ValueError)
    with pytest.raises(pipemode.OptionError, match="skip_corrupt"):
        pipemode.Reader(path=p, skip_corrupt="lots")
    with pytest.raises(pipemode.OptionError, match="open_timeout"):
        pipemode.Reader(path=p, open_timeout=1)


# ------------------------------------------------------------ errors

def corrupt_payload(data, records, i):
    """Flip a byte of record i's payload in a TFRecord stream."""
    off = tfrecord_offsets(records)[i] + 12
    b = bytearray(data)
    b[off] ^= 0xFF
    return bytes(b)


def test_crc_error_carries_where(tmp_path):
    recs = make_records(100, 50, vary=False)
    data = corrupt_payload(encode(recs), recs, 40)
    p = write_file(tmp_path / "f", data)
    got = []
    with pipemode.Reader(path=p) as r:
        with pytest.raises(pipemode.CRCError) as ei:
            for rec in r:
                got.append(rec)
        e = ei.value
        assert got == recs[:40]
        assert e.code == -8 and e.name == "ECRC"
        assert e.record_index == 40
        assert e.byte_offset == tfrecord_offsets(recs)[40]
        assert e.source == p
        assert "record 40" in e.message and p in e.message
        assert str(e) == e.message
        assert isinstance(e, pipemode.DataError)
        assert isinstance(e, pipemode.Error)
        # the error repeats
        with pytest.raises(pipemode.CRCError):
            next(r)
        with pytest.raises(pipemode.CRCError):
            r.next_batch()
    # verify_crc=0 lets it through; skip_corrupt=1 steps over it
    with pipemode.Reader(path=p, verify_crc=False) as r:
        assert len(list(r)) == 100
    with pipemode.Reader(path=p, skip_corrupt=1) as r:
        assert list(r) == recs[:40] + recs[41:]
        assert r.stats().skipped == 1


def test_truncated_corrupt_and_format_errors(tmp_path):
    recs = make_records(30, 50, vary=False)
    data = encode(recs)
    p = write_file(tmp_path / "t", data[:-5])
    with pipemode.Reader(path=p) as r:
        with pytest.raises(pipemode.TruncatedError) as ei:
            list(r)
        assert ei.value.record_index == 29
        assert ei.value.code == -6
    b = bytearray(data)
    b[tfrecord_offsets(recs)[3] + 8] ^= 1   # the length's CRC
    p = write_file(tmp_path / "c", bytes(b))
    with pipemode.Reader(path=p) as r:
        with pytest.raises(pipemode.CorruptError) as ei:
            list(r)
        assert ei.value.record_index == 3
    p = write_file(tmp_path / "g", b"this is text, neither format\n" * 10)
    with pipemode.Reader(path=p, format="auto") as r:
        with pytest.raises(pipemode.FormatError):
            list(r)
    # RecordIO with a bad magic
    p = write_file(tmp_path / "r", encode(recs, "recordio") + b"\0" * 8)
    with pipemode.Reader(path=p, format="recordio") as r:
        with pytest.raises(pipemode.CorruptError) as ei:
            list(r)
        assert ei.value.record_index == 30


def test_open_errors(tmp_path, channels):
    with pytest.raises(pipemode.PipeModeIOError) as ei:
        pipemode.Reader(path=str(tmp_path / "missing"))
    assert isinstance(ei.value, OSError)
    assert "missing" in str(ei.value)
    assert ei.value.record_index is None
    with pytest.raises(pipemode.InvalidArgumentError):
        pipemode.Reader("../etc", **channels.options)
    opts = dict(channels.options, open_timeout=0.2)
    with pytest.raises(pipemode.PipeModeTimeoutError) as ei:
        pipemode.Reader("nobody", **opts)
    assert isinstance(ei.value, TimeoutError)
    assert ei.value.code == -12
    assert "nobody_0" in ei.value.message
    channels.write_config({"other": {"TrainingInputMode": "Pipe"}})
    with pytest.raises(pipemode.ConfigError) as ei:
        pipemode.Reader("train", **channels.options)
    assert ei.value.code == -13


def test_error_classes_by_code():
    for code, cls in [(-1, pipemode.InvalidArgumentError),
                      (-2, pipemode.OutOfMemoryError),
                      (-3, pipemode.PipeModeIOError),
                      (-4, pipemode.OptionError),
                      (-5, pipemode.UnsupportedError),
                      (-6, pipemode.TruncatedError),
                      (-7, pipemode.CorruptError),
                      (-8, pipemode.CRCError),
                      (-9, pipemode.TooBigError),
                      (-10, pipemode.StateError),
                      (-11, pipemode.FormatError),
                      (-12, pipemode.PipeModeTimeoutError),
                      (-13, pipemode.ConfigError),
                      (-99, pipemode.Error)]:
        assert pipemode.error_class(code) is cls
        assert issubclass(cls, pipemode.Error)


# ------------------------------------------------------------ writer

def test_writer_formats_and_buffers(tmp_path):
    recs = [b"abc", bytearray(b"defg"), memoryview(b"xxhijk")[2:], b"",
            memoryview(bytearray(b"lmnop"))]
    want = [bytes(r) for r in recs]
    for fmt in ("tfrecord", "recordio"):
        p = str(tmp_path / fmt)
        with pipemode.Writer(p, format=fmt) as w:
            w.write_all(recs)
            w.flush()
        assert w.closed
        with pipemode.Reader(path=p, format=fmt) as r:
            assert list(r) == want
    # a TFRecord the format describes
    data = open(str(tmp_path / "tfrecord"), "rb").read()
    (n,) = struct.unpack("<Q", data[:8])
    assert n == 3 and data[12:15] == b"abc"


def test_writer_errors(tmp_path):
    with pytest.raises(pipemode.UnsupportedError):
        pipemode.Writer(str(tmp_path / "x"), format="lines")
    with pytest.raises(pipemode.OptionError):
        pipemode.Writer(str(tmp_path / "x"), bogus=1)
    with pytest.raises(pipemode.PipeModeIOError):
        pipemode.Writer(str(tmp_path / "no" / "dir"))
    w = pipemode.Writer(str(tmp_path / "y"))
    w.close()
    w.close()
    with pytest.raises(ValueError):
        w.write(b"x")


def test_writer_to_a_fifo_feeds_a_reader(tmp_path):
    recs = make_records(20000, 64)
    p = str(tmp_path / "fifo")
    os.mkfifo(p)

    def produce():
        with pipemode.Writer(p, format="recordio") as w:
            w.write_all(recs)

    t = threading.Thread(target=produce)
    t.start()
    with pipemode.Reader(path=p, format="recordio") as r:
        assert list(r) == recs
    t.join(30)
    assert not t.is_alive()


def test_open_timeout_bounds_the_wait_for_a_writer(channels):
    import time
    os.mkfifo(str(channels.pipe_dir / "train_0"))
    t0 = time.monotonic()
    with pytest.raises(pipemode.PipeModeTimeoutError):
        pipemode.Reader("train", **dict(channels.options, open_timeout=0.3))
    assert time.monotonic() - t0 < OPEN_TIMEOUT


# ------------------------------------------------------------ loading

def _import_in(env):
    import subprocess
    import sys
    code = ("import pipemode; print(pipemode.library_path()); "
            "print(pipemode.library_version())")
    return subprocess.run([sys.executable, "-c", code], env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          timeout=60)


def test_library_is_found_by_env_dir_and_by_name():
    lib = os.path.realpath(pipemode.library_path())
    libdir = os.path.dirname(lib)
    base = {k: v for k, v in os.environ.items()
            if k not in ("PIPEMODE_LIBRARY", "LD_LIBRARY_PATH")}
    if os.path.exists(os.path.join(libdir, "libpipemode.so.1")):
        p = _import_in(dict(base, PIPEMODE_LIBRARY=libdir))
        assert p.returncode == 0, p.stderr
        assert p.stdout.decode().split()[0] == os.path.join(
            libdir, "libpipemode.so.1")
        p = _import_in(dict(base, LD_LIBRARY_PATH=libdir))
        assert p.returncode == 0, p.stderr
    p = _import_in(dict(base, PIPEMODE_LIBRARY="/nonexistent/libpm.so"))
    assert p.returncode != 0
    err = p.stderr.decode()
    assert "ImportError" in err and "PIPEMODE_LIBRARY=/nonexistent" in err
