# SPDX-License-Identifier: Apache-2.0
"""Fixtures: data written by the library's writer (through the bindings'
Writer), and FIFOs fed from a thread the way SageMaker feeds a channel.

Every test is bounded: by pytest-timeout when it is installed, else by
SIGALRM; and every FIFO wait by a deadline here and by the library's
open_timeout.
"""

import errno
import fcntl
import json
import os
import random
import signal
import stat
import tempfile
import threading
import time

import pytest

import pipemode

TEST_TIMEOUT = 300       # seconds, a whole test
FEED_TIMEOUT = 30        # seconds a feeder waits for a reader per epoch
OPEN_TIMEOUT = 20        # the library's open_timeout in the tests


def pytest_collection_modifyitems(config, items):
    if config.pluginmanager.hasplugin("timeout"):
        for item in items:
            if item.get_closest_marker("timeout") is None:
                item.add_marker(pytest.mark.timeout(TEST_TIMEOUT))


@pytest.fixture(autouse=True)
def _alarm_bound(request):
    """Without pytest-timeout: SIGALRM ends a test that hangs."""
    if request.config.pluginmanager.hasplugin("timeout") or \
            threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_alarm(signum, frame):
        raise TimeoutError("test took more than %d s" % TEST_TIMEOUT)

    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(TEST_TIMEOUT)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


# ------------------------------------------------------------------ data

def make_records(n, size=100, seed=1, vary=True):
    """n deterministic records of about size bytes (0 to 2*size when
    vary), some empty."""
    rnd = random.Random(seed)
    out = []
    for i in range(n):
        ln = rnd.randint(0, 2 * size) if vary else size
        if vary and i % 17 == 5:
            ln = 0
        out.append(rnd.randbytes(ln))
    return out


def make_lines(n, seed=1):
    rnd = random.Random(seed)
    alphabet = b"abcdefghijklmnopqrstuvwxyz ,;\\0123456789"
    return [bytes(rnd.choice(alphabet) for _ in range(rnd.randint(0, 80)))
            for _ in range(n)]


def encode(records, format="tfrecord", tmpdir=None, **options):
    """The bytes the library's writer makes of records (lines: joined by
    '\\n' here, as the library has no lines writer)."""
    if format in ("lines", "TextLine"):
        return b"".join(r + b"\n" for r in records)
    with tempfile.TemporaryFile(dir=tmpdir) as f:
        with pipemode.Writer(fd=f.fileno(), format=format, **options) as w:
            for rec in records:
                w.write(rec)
        f.seek(0)
        return f.read()


# ------------------------------------------------------------------ FIFOs

def _open_writer(path, deadline):
    """Open a FIFO for writing once a reader has it open (ENXIO until
    then), by the deadline; None if no reader came."""
    while True:
        try:
            fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError as e:
            if e.errno != errno.ENXIO:
                raise
            if time.monotonic() > deadline:
                return None
            time.sleep(0.005)
            continue
        flags = fcntl.fcntl(fd, fcntl.F_GETFL)
        fcntl.fcntl(fd, fcntl.F_SETFL, flags & ~os.O_NONBLOCK)
        return fd


def serve_fifo(path, data, timeout=FEED_TIMEOUT, chunk=65536):
    """Make the FIFO path (if missing), wait for a reader, write data in
    pieces, close.  Returns bytes written, or None if no reader came.  A
    reader that leaves early is not an error here."""
    if not os.path.exists(path):
        os.mkfifo(path, 0o644)
    fd = _open_writer(path, time.monotonic() + timeout)
    if fd is None:
        return None
    sent = 0
    try:
        view = memoryview(data)
        while sent < len(data):
            sent += os.write(fd, view[sent:sent + chunk])
    except BrokenPipeError:
        pass
    finally:
        os.close(fd)
    return sent


class Feeder:
    """Serve epochs of a channel from a thread, as SageMaker does:
    <pipe_dir>/<channel>_<E> for E = first, first + 1, ..., each made, fed
    once a reader opens it, closed and removed."""

    def __init__(self, pipe_dir, channel, epochs, first=0,
                 timeout=FEED_TIMEOUT):
        self.pipe_dir = str(pipe_dir)
        self.channel = channel
        self.epochs = list(epochs)
        self.first = first
        self.timeout = timeout
        self.served = []       # (epoch, bytes written or None)
        self.error = None
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        try:
            for i, data in enumerate(self.epochs):
                if self._stop.is_set():
                    return
                e = self.first + i
                path = os.path.join(self.pipe_dir, "%s_%d" % (self.channel,
                                                              e))
                n = serve_fifo(path, data, self.timeout)
                self.served.append((e, n))
                try:
                    os.unlink(path)
                except FileNotFoundError:
                    pass
                if n is None:
                    return
        except BaseException as e:  # reported by join()
            self.error = e

    def join(self, timeout=FEED_TIMEOUT * 2):
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "feeder still running"
        if self.error is not None:
            raise self.error
        return self.served

    def stop(self):
        self._stop.set()


class Channels:
    """pipe_dir, state_dir and config_dir under tmp_path, and the options
    that point the library at them."""

    def __init__(self, root):
        self.root = root
        self.pipe_dir = root / "input" / "data"
        self.state_dir = root / "pipe_state"
        self.config_dir = root / "input" / "config"
        self.pipe_dir.mkdir(parents=True)
        self.config_dir.mkdir(parents=True)
        self.feeders = []

    @property
    def options(self):
        return dict(pipe_dir=str(self.pipe_dir), state_dir=str(self.state_dir),
                    config_dir=str(self.config_dir),
                    open_timeout=OPEN_TIMEOUT)

    def feed(self, channel, epochs, first=0, timeout=FEED_TIMEOUT):
        f = Feeder(self.pipe_dir, channel, epochs, first, timeout)
        self.feeders.append(f)
        return f

    def write_config(self, config):
        (self.config_dir / "inputdataconfig.json").write_text(
            json.dumps(config))

    def epoch_counter(self, channel):
        p = self.state_dir / (".%s-pipe_mode-state" % channel)
        return int(p.read_text()) if p.exists() else 0

    def close(self):
        for f in self.feeders:
            f.stop()
        # a feeder waiting for a reader that never came: give it one that
        # leaves at once, so the thread ends
        for f in self.feeders:
            deadline = time.monotonic() + 5
            while f.thread.is_alive() and time.monotonic() < deadline:
                for name in os.listdir(self.pipe_dir):
                    p = os.path.join(self.pipe_dir, name)
                    try:
                        if stat.S_ISFIFO(os.stat(p).st_mode):
                            fd = os.open(p, os.O_RDONLY | os.O_NONBLOCK)
                            os.close(fd)
                    except OSError:
                        pass
                f.thread.join(0.05)


@pytest.fixture
def channels(tmp_path):
    c = Channels(tmp_path)
    yield c
    c.close()
