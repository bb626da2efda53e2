# SPDX-License-Identifier: Apache-2.0
"""Reader, Writer and crc32c over libpipemode through ctypes."""

import collections
import ctypes
import os
from operator import add as _add

from . import _lib
from ._errors import EOF, OK, make_error

_string_at = ctypes.string_at

# Average record size from which a batch is copied out record by record
# rather than as one span sliced into records (see _copy_out).
_SPAN_MAX_AVG = 4096


def _decode(b):
    return b.decode("utf-8", "replace") if b is not None else ""


def _escape(value):
    return value.replace("\\", "\\\\").replace(",", "\\,")


def _value_text(key, value):
    # bool first: it is an int too
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError("option %s: %r is not a finite number"
                             % (key, value))
        return repr(value)
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if isinstance(value, bytes):
        value = os.fsdecode(value)
    if isinstance(value, str):
        return value
    raise TypeError("option %s: a str, int, float or bool, not %s"
                    % (key, type(value).__name__))


def format_options(**options):
    """The library's option string for keyword arguments.

    Values may be str (or a path), int, float or bool (written 1/0); a comma
    or backslash in a value is escaped; ``None`` leaves the key out (the
    library's default applies).  ``format_options(format="recordio",
    open_timeout=2.5)`` gives ``"format=recordio,open_timeout=2.5"``.
    Keys are checked by the library when it opens: an unknown one is an
    ``OptionError`` naming it.
    """
    parts = []
    for key, value in options.items():
        if value is None:
            continue
        if not key or "=" in key or "," in key or "\\" in key:
            raise ValueError("bad option name %r" % (key,))
        parts.append("%s=%s" % (key, _escape(_value_text(key, value))))
    return ",".join(parts)


Stats = collections.namedtuple(
    "Stats",
    [
        "records",        # records returned
        "payload_bytes",  # their payload bytes
        "skipped",        # records skipped by skip_corrupt
        "bytes_read",     # bytes taken from the source
        "read_calls",     # read() calls made
        "read_wait_ns",   # time inside those calls
        "library_ns",     # time inside the library (only with timing=1)
        "open_wait_ns",   # time pipemode_open waited for FIFO and writer
        "epoch",          # the channel epoch (-1: not a channel)
        "files",          # files opened (File mode: one per file)
    ],
)
Stats.__doc__ = """A reader's counters (pipemode_stats); ``._asdict()``
gives a dict."""


def _copy_out(addrs, lens, k):
    """The k records of a batch as bytes.

    Every record of a batch but the last lies in the reader's buffer (only
    a record the framer joined in its own memory is elsewhere, and a batch
    ends after it), so when those are small and packed closely one
    string_at of their span and a slice each costs less than a string_at
    each (the loops here are C-level: min, max, sum, map): that copies
    every byte twice, which pays below some 4 KiB a record.  Otherwise, one
    string_at a record (one copy).
    """
    sa = _string_at
    if k > 2:
        a = addrs[:-1]
        ln = lens[:-1]
        total = sum(ln)
        if total >= _SPAN_MAX_AVG * (k - 1):
            return [sa(x, y) for x, y in zip(addrs, lens)]
        base = min(a)
        end = max(map(_add, a, ln))
        if end - base <= 2 * total + 64 * (k - 1):
            span = sa(base, end - base)
            out = [span[x - base:x - base + y] for x, y in zip(a, ln)]
            out.append(sa(addrs[-1], lens[-1]))
            return out
    return [sa(x, y) for x, y in zip(addrs, lens)]


class Reader:
    """Records of one SageMaker Pipe Mode stream, as ``bytes``.

    Exactly one of:

    - ``channel``: the next epoch of a SageMaker channel (``pipemode_open``:
      ``<pipe_dir>/<channel>_<N>`` with N from the shared epoch counter; or,
      in File mode, one pass over the channel's files);
    - ``path``: a file or FIFO;
    - ``fd``: an open descriptor, which stays the caller's.

    ``format`` and every other keyword are library options (see the C
    library's README): ``format="recordio"``, ``compression="auto"``,
    ``skip_corrupt=3``, ``open_timeout=30``, ``pipe_dir=...``.
    ``batch_size`` (not a library option) is how many records are fetched
    per call into the library (``pipemode_next_batch``); 1 makes
    ``record_index`` and ``byte_offset`` those of the record just returned.

    A Reader is an iterator of ``bytes`` and a context manager::

        with pipemode.Reader(channel="training", format="recordio") as r:
            for record in r:
                ...

    Errors are raised as ``pipemode.Error`` subclasses.  After an error, or
    at the end, iterating again raises the same error or stops again.  A
    Reader is used by one thread at a time.
    """

    def __init__(self, channel=None, *, path=None, fd=None, format=None,
                 batch_size=256, **options):
        self._h = None
        given = [n for n, v in (("channel", channel), ("path", path),
                                ("fd", fd)) if v is not None]
        if len(given) != 1:
            raise TypeError("Reader: give exactly one of channel, path, fd "
                            "(got %s)" % (", ".join(given) or "none"))
        batch_size = int(batch_size)
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        opts = format_options(format=format, **options).encode("utf-8")
        h = ctypes.c_void_p()
        if channel is not None:
            if not isinstance(channel, str):
                raise TypeError("channel must be a str")
            rc = _lib.open_channel(ctypes.byref(h), channel.encode("utf-8"),
                                   opts)
            self._what = "channel " + channel
        elif path is not None:
            rc = _lib.open_path(ctypes.byref(h), os.fsencode(path), opts)
            self._what = os.fsdecode(path)
        else:
            if isinstance(fd, bool) or not isinstance(fd, int):
                fd = fd.fileno()
            rc = _lib.open_fd(ctypes.byref(h), fd, opts)
            self._what = "fd %d" % fd
        if h.value is None:
            raise MemoryError("pipemode: out of memory opening "
                              + self._what)
        if rc != OK:
            e = make_error(rc, _decode(_lib.errmsg(h)),
                           source=_decode(_lib.source_name(h)),
                           name=_decode(_lib.code_name(rc)))
            _lib.close(h)
            raise e
        self._h = h
        self._max = batch_size
        self._recs = (ctypes.c_size_t * (2 * batch_size))()
        self._n = ctypes.c_size_t()
        self._it = None       # records fetched but not yet handed out
        self._gen = None      # the generator next() uses

    # -- the library calls

    def _raise(self, rc):
        h = self._h
        raise make_error(rc, _decode(_lib.errmsg(h)),
                         record_index=_lib.record_index(h),
                         byte_offset=_lib.byte_offset(h),
                         source=_decode(_lib.source_name(h)),
                         name=_decode(_lib.code_name(rc)))

    def _fetch(self, max_records):
        """One pipemode_next_batch: a list of bytes, [] at the end."""
        h = self._h
        if h is None:
            raise ValueError("I/O operation on a closed pipemode.Reader")
        n = self._n
        rc = _lib.next_batch(h, self._recs, max_records, ctypes.byref(n))
        if rc == OK:
            k = n.value
            flat = self._recs[:2 * k]
            return _copy_out(flat[0::2], flat[1::2], k)
        if rc == EOF:
            return []
        self._raise(rc)

    def _records(self):
        while True:
            it = self._it
            if it is not None:
                yield from it
                if self._it is not it:
                    # next_batch() took or replaced the rest meanwhile
                    continue
                self._it = None
            batch = self._fetch(self._max)
            if not batch:
                return
            self._it = iter(batch)

    # -- iteration

    def __iter__(self):
        return self._records()

    def __next__(self):
        g = self._gen
        if g is None:
            g = self._gen = self._records()
        try:
            return next(g)
        except BaseException:
            # a finished generator cannot be resumed: the next call asks
            # the library again (which repeats its end or its error)
            self._gen = None
            raise

    def next_batch(self, max_records=None):
        """Up to ``max_records`` (default ``batch_size``) next records as a
        list of bytes; ``[]`` at the end.  A list may be shorter than asked
        even mid-stream (it ends where the library's buffer does)."""
        if max_records is None:
            max_records = self._max
        max_records = int(max_records)
        if max_records < 1:
            raise ValueError("max_records must be at least 1")
        if self._it is not None:
            rest = list(self._it)
            if rest:
                self._it = iter(rest[max_records:])
                return rest[:max_records]
            self._it = None
        if max_records > self._max:
            self._max = max_records
            self._recs = (ctypes.c_size_t * (2 * max_records))()
        return self._fetch(max_records)

    def batches(self, max_records=None):
        """An iterator of lists of records (see ``next_batch``)."""
        while True:
            b = self.next_batch(max_records)
            if not b:
                return
            yield b

    # -- where and how much

    @property
    def record_index(self):
        """The library's record index: of the last record it framed (with
        batch_size > 1 it reads ahead of what iteration has handed out by
        up to a batch), or where an error was found, or at the end the
        number of records framed."""
        return _lib.record_index(self._handle())

    @property
    def byte_offset(self):
        """The byte offset that goes with ``record_index``."""
        return _lib.byte_offset(self._handle())

    @property
    def source_name(self):
        """What is being read: the path, ``"fd N"``, the channel's FIFO,
        in File mode the current file."""
        return _decode(_lib.source_name(self._handle()))

    def stats(self):
        """The reader's counters as a ``Stats`` named tuple."""
        st = _lib.Stats()
        st.size = ctypes.sizeof(st)
        rc = _lib.get_stats(self._handle(), ctypes.byref(st))
        if rc != OK:  # pragma: no cover - cannot fail on an open handle
            self._raise(rc)
        return Stats(st.records, st.payload_bytes, st.skipped, st.bytes_read,
                     st.read_calls, st.read_wait_ns, st.library_ns,
                     st.open_wait_ns, st.epoch, st.files)

    def _handle(self):
        if self._h is None:
            raise ValueError("I/O operation on a closed pipemode.Reader")
        return self._h

    # -- closing

    @property
    def closed(self):
        return self._h is None

    def close(self):
        """Close the reader (and the file it opened).  Idempotent."""
        h, self._h = self._h, None
        self._it = None
        self._gen = None
        if h is not None:
            rc = _lib.close(h)
            if rc != OK:
                raise make_error(rc, "pipemode: closing %s failed"
                                 % self._what, source=self._what,
                                 name=_decode(_lib.code_name(rc)))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def __del__(self):
        if getattr(self, "_h", None) is not None:
            try:
                self.close()
            except Exception:
                pass

    def __repr__(self):
        state = "closed" if self._h is None else "open"
        return "<pipemode.Reader %s %s>" % (self._what, state)


class Writer:
    """Write records as TFRecord or RecordIO (optionally gzip/zlib).

    Exactly one of ``path`` (created or truncated; a FIFO blocks until a
    reader comes) or ``fd`` (stays the caller's).  ``format`` and every other
    keyword are writer options: ``format="recordio"``,
    ``compression="gzip"``, ``recordio_multipart="dmlc"``.
    """

    def __init__(self, path=None, *, fd=None, format=None, **options):
        self._w = None
        if (path is None) == (fd is None):
            raise TypeError("Writer: give exactly one of path, fd")
        opts = format_options(format=format, **options).encode("utf-8")
        w = ctypes.c_void_p()
        if path is not None:
            rc = _lib.writer_open_path(ctypes.byref(w), os.fsencode(path),
                                       opts)
            self._what = os.fsdecode(path)
        else:
            if isinstance(fd, bool) or not isinstance(fd, int):
                fd = fd.fileno()
            rc = _lib.writer_open_fd(ctypes.byref(w), fd, opts)
            self._what = "fd %d" % fd
        if w.value is None:
            raise MemoryError("pipemode: out of memory opening "
                              + self._what)
        if rc != OK:
            e = make_error(rc, _decode(_lib.writer_errmsg(w)),
                           source=self._what,
                           name=_decode(_lib.code_name(rc)))
            _lib.writer_close(w)
            raise e
        self._w = w

    def _raise(self, rc):
        raise make_error(rc, _decode(_lib.writer_errmsg(self._w)),
                         source=self._what, name=_decode(_lib.code_name(rc)))

    def _handle(self):
        if self._w is None:
            raise ValueError("I/O operation on a closed pipemode.Writer")
        return self._w

    def write(self, data):
        """Append one record (any bytes-like object)."""
        w = self._handle()
        if isinstance(data, bytes):
            rc = _lib.write(w, data, len(data))
        else:
            mv = memoryview(data)
            if not mv.c_contiguous or mv.readonly:
                buf = mv.tobytes()
                rc = _lib.write(w, buf, len(buf))
            else:
                mv = mv.cast("B")
                n = len(mv)
                arr = (ctypes.c_char * n).from_buffer(mv) if n else None
                rc = _lib.write(w, arr, n)
        if rc != OK:
            self._raise(rc)

    def write_all(self, records):
        """Write every record of an iterable."""
        for r in records:
            self.write(r)

    def flush(self):
        rc = _lib.writer_flush(self._handle())
        if rc != OK:
            self._raise(rc)

    @property
    def closed(self):
        return self._w is None

    def close(self):
        """Flush and close.  Idempotent.  Raises if the last records could
        not be written."""
        if self._w is None:
            return
        rc = _lib.writer_flush(self._w)
        msg = _decode(_lib.writer_errmsg(self._w)) if rc != OK else None
        w, self._w = self._w, None
        rc2 = _lib.writer_close(w)
        if rc != OK:
            raise make_error(rc, msg, source=self._what,
                             name=_decode(_lib.code_name(rc)))
        if rc2 != OK:
            raise make_error(rc2, "pipemode: closing %s failed" % self._what,
                             source=self._what,
                             name=_decode(_lib.code_name(rc2)))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def __del__(self):
        if getattr(self, "_w", None) is not None:
            try:
                self.close()
            except Exception:
                pass

    def __repr__(self):
        state = "closed" if self._w is None else "open"
        return "<pipemode.Writer %s %s>" % (self._what, state)


def crc32c(data, crc=0):
    """CRC32C (Castagnoli) of ``data`` (bytes-like), continuing ``crc``:
    ``crc32c(b"123456789") == 0xe3069283``; ``crc32c(b, crc32c(a)) ==
    crc32c(a + b)``."""
    if isinstance(data, bytes):
        return _lib.crc32c(crc, data, len(data))
    mv = memoryview(data)
    if not mv.c_contiguous or mv.readonly:
        b = mv.tobytes()
        return _lib.crc32c(crc, b, len(b))
    mv = mv.cast("B")
    n = len(mv)
    if n == 0:
        return crc & 0xFFFFFFFF
    return _lib.crc32c(crc, (ctypes.c_char * n).from_buffer(mv), n)


def library_version():
    """The version of the libpipemode loaded, e.g. ``"1.0.0"``."""
    return _decode(_lib.version_string())


def library_path():
    """Where the loaded libpipemode came from."""
    return _lib.path
