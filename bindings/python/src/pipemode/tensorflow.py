# SPDX-License-Identifier: Apache-2.0
"""``PipeModeDataset``: a drop-in for ``sagemaker_tensorflow.PipeModeDataset``
on libpipemode, for every TensorFlow 2.x from 2.12 on.

Nothing is compiled against TensorFlow: the dataset is made of
TensorFlow's own tf.data ops (those under ``Dataset.from_generator``,
``Dataset.map`` and ``Dataset.unbatch``) over ``pipemode.Reader``, called
through ``tf.py_function``: records are fetched in steps of up to 2048
records or 1 MiB, handed to TensorFlow as one string tensor per step, and
split back into scalar elements; see the comment above ``_Graph`` for how
and why.  It is a ``tf.data.Dataset`` subclass, so that ``isinstance`` and
the constructor look like AWS's.

Same signature, defaults and behaviour as AWS's::

    PipeModeDataset(channel, record_format='RecordIO',
                    state_dir='/opt/ml/pipe_state',
                    pipe_dir='/opt/ml/input/data',
                    config_dir='/opt/ml/input/config', benchmark=False,
                    benchmark_records_interval=0,
                    max_corrupted_records_to_skip=0)

- Elements are scalar ``tf.string`` tensors, one per record.
- Each iteration (each ``iter()``, each ``repeat()`` pass, each Keras epoch,
  each ``evaluate``) opens the channel's next epoch ``<pipe_dir>/<channel>_<N>``,
  N from the epoch counter in ``state_dir`` that AWS's op uses too.
- ``record_format``: ``'RecordIO'``, ``'TFRecord'`` or ``'TextLine'``.
- ``max_corrupted_records_to_skip``: TFRecord records whose payload CRC
  fails that may be skipped in a row (the library's ``skip_corrupt``); an
  error for the other formats, as in AWS's.
- ``benchmark=True`` prints, when an iteration ends, the records, bytes and
  time read, split into the time spent waiting for the FIFO and the time
  inside the library (``timing=1``); ``benchmark_records_interval=N``
  prints the counts every N records.

Differences, all additions: an ``inputdataconfig.json`` is optional (when
present it must list the channel, as AWS's requires); a channel in File
or FastFile mode is read too; a FIFO or writer that does not come within
``open_timeout`` seconds (a keyword, default 120) raises instead of
waiting forever; a record that is corrupt, truncated or too big raises an
error naming the record, its byte offset and the FIFO.  Extra keywords are
library options (``open_timeout=30``, ``max_record_size="64M"``,
``compression="gzip"``...).

Errors inside an iteration reach TensorFlow as ``tf.errors.OpError``
(usually ``InvalidArgumentError`` or ``UnknownError``) whose message holds
the ``pipemode`` error's class and message.
"""

import itertools
import json
import os
import sys
import threading
import time

import numpy as np
import tensorflow as tf
# TensorFlow's own building blocks of Dataset.from_generator and Dataset.map
# (present, with these signatures, from 2.12 to 2.21 at least): they let
# the dataset be built of functions traced once per process, and run the
# step's function in the consuming thread (see _Graph).
from tensorflow.python.data.ops import structured_function as _sfw
from tensorflow.python.framework import ops as _ops
from tensorflow.python.ops import gen_dataset_ops as _gen

from ._core import Reader

__all__ = ["PipeModeDataset", "PipeModeDatasetException"]

_FORMATS = {"RecordIO": "recordio", "TFRecord": "tfrecord",
            "TextLine": "lines"}

# Records handed to TensorFlow per step: enough to amortise the cost of a
# Python call per step (some 50-100 us), small enough to keep latency and
# memory low.
_STEP_RECORDS = 2048
_STEP_BYTES = 1 << 20

# The library's read buffer unless buffer_size is given: a step's worth, so
# that a step of large records is one read of the FIFO (whose pipe buffer
# the library makes 1M) and not a read and a move of the partial record
# every 256K (the library's default).
_BUFFER_SIZE = "1M"


class PipeModeDatasetException(Exception):
    """An error using a PipeModeDataset (as AWS's class of that name)."""


# How a PipeModeDataset is built, without compiling anything: three tf.data
# ops of TensorFlow's own, over four functions traced once per process
# (_Graph); the dataset's only input is the key of its settings in _SOURCES.
#
#   GeneratorDataset  init:     key -> iteration id (Python: a new _Iteration)
#                     next:     id -> id            (no Python)
#                     finalize: id -> 0             (Python: close it)
#   MapDataset        id -> the iteration's next records, a 1-D tf.string
#                     tensor made by tf.py_function (Python: _Iteration.step
#                     and the tensor), run in the thread that asks for the
#                     element (use_inter_op_parallelism false), StopIteration
#                     there ending the sequence (preserve_cardinality false)
#   UnbatchDataset    one scalar element a record
#
# That is Dataset.from_generator(...).unbatch() without two costs that made
# it 0.4-0.6 times as fast as AWS's op with 100 KiB records:
#
# - unbatch copied every record: it moves a string out of the step's
#   tensor only when the tensor owns its buffer and nothing else refers to
#   it, and from_generator's tensors (numpy_function's conversion of an
#   object array) wrap a buffer TensorFlow does not own.  The tensor made
#   of a list of bytes in tf.py_function is TensorFlow's, referred to by
#   nothing once the call returns: unbatch moves its strings;
# - from_generator, unbatch and map trace functions for every dataset made
#   (~30 ms a dataset: the benchmark makes one a measurement); these are
#   traced once.
#
# What is left at 100 KiB is copying: each record is copied from the
# library's buffer into a bytes object and from it into the tensor's
# string, two copies that AWS's op, which reads the FIFO straight into the
# tensor's string, does not make, and that only compiled code could avoid
# (TensorFlow makes string tensors from Python out of bytes or str only).
# The step is made in the thread that consumes it, not read ahead in a
# thread of its own (a PrefetchDataset here): that overlapped the copies
# with the consumer's work on an idle machine, but it cost more CPU (the
# strings, made in one thread and freed in another, were page-faulted in
# again more often) and, on a busy machine, a wait for the other thread to
# be scheduled at every hand-over; it was no faster at 100 KiB.  A
# pipeline that wants it adds .prefetch() after its own map and batch.

_SOURCES = {}        # key -> _Source (kept, as from_generator keeps its
                     # generator: a few hundred bytes a dataset)
_ITERATIONS = {}     # iteration id -> _Iteration
_COUNTER = itertools.count(1)
_LOCK = threading.Lock()
_GRAPH = []


def _start(key):
    """init: a new iteration of the dataset whose key this is."""
    iid = next(_COUNTER)
    _ITERATIONS[iid] = _Iteration(_SOURCES[int(key)])
    return np.int64(iid)


def _strings_public(records):
    return tf.constant(records, dtype=tf.string)


def _strings(records):
    """A 1-D tf.string tensor of a list of bytes, in TensorFlow's memory.

    What tf.constant(records, tf.string) does, less what it does per call to
    place the tensor on the current device (~10 us): with no device given
    the tensor is made on the host's CPU, where tf.py_function's result is
    wanted.  Checked once (in tf.py_function, where the eager context is
    initialised), tf.constant if it does not do that.
    """
    global _strings
    try:
        t = _ops.EagerTensor(records, None, tf.string.as_datatype_enum)
        if (t.dtype != tf.string or t.shape != (len(records),)
                or "CPU" not in t.backing_device):
            raise ValueError("not a tensor of strings on the CPU")
    except Exception:  # pragma: no cover - a TensorFlow that changed it
        _strings = _strings_public
        return _strings(records)
    _strings = _strings_fast
    return t


def _strings_fast(records):
    return _ops.EagerTensor(records, None, _DT_STRING)


_DT_STRING = tf.string.as_datatype_enum


def _step(iid):
    """The map (in tf.py_function): the iteration's next records."""
    it = _ITERATIONS.get(int(iid))
    if it is None:
        raise StopIteration
    return _strings(it.step())


def _finish(iid):
    """finalize: the iterator is going away."""
    it = _ITERATIONS.pop(int(iid), None)
    if it is not None:
        it.close()
    return np.int64(0)


class _Graph:
    """The functions of every PipeModeDataset, traced once per process."""

    def __init__(self):
        def wrap(fn):
            return _sfw.StructuredFunctionWrapper(
                fn, "PipeModeDataset",
                input_structure=tf.TensorSpec([], tf.int64))

        def init(key):
            iid = tf.numpy_function(_start, [key], tf.int64, stateful=True)
            iid.set_shape([])
            return iid

        def finalize(iid):
            done = tf.numpy_function(_finish, [iid], tf.int64, stateful=True)
            done.set_shape([])
            return done

        def step(iid):
            records = tf.py_function(_step, [iid], tf.string)
            records.set_shape([None])
            return records

        self.init = wrap(init)
        self.next = wrap(tf.identity)
        self.finalize = wrap(finalize)
        self.step = wrap(step)

    def variant(self, key):
        """The dataset of _SOURCES[key], as a variant tensor."""
        ids = _gen.generator_dataset(
            [tf.constant(key, tf.int64)] + self.init.function.captured_inputs,
            self.next.function.captured_inputs,
            self.finalize.function.captured_inputs,
            init_func=self.init.function, next_func=self.next.function,
            finalize_func=self.finalize.function,
            output_types=[tf.int64], output_shapes=[tf.TensorShape([])])
        steps = _gen.map_dataset(
            ids, self.step.function.captured_inputs, f=self.step.function,
            output_types=[tf.string], output_shapes=[tf.TensorShape([None])],
            use_inter_op_parallelism=False, preserve_cardinality=False)
        # Dataset.unbatch() without the map it adds to normalize its input
        return tf.raw_ops.UnbatchDataset(
            input_dataset=steps, output_types=[tf.string],
            output_shapes=[tf.TensorShape([])])


def _graph():
    with _LOCK:
        if not _GRAPH:
            # in the eager context even when the first dataset is made in a
            # tf.function: the functions outlive that function's graph
            with tf.init_scope():
                _GRAPH.append(_Graph())
        return _GRAPH[0]


class _Source:
    """What an iteration needs of its dataset (not the dataset itself)."""

    def __init__(self, channel, fmt, options, benchmark, interval):
        self.channel = channel
        self.format = fmt
        self.options = options
        self.benchmark = benchmark
        self.interval = interval

    def reader(self):
        return Reader(channel=self.channel, format=self.format,
                      batch_size=_STEP_RECORDS, **self.options)


class _Iteration:
    """One iteration: the channel's next epoch, read a step at a time."""

    def __init__(self, source):
        self.source = source
        self.reader = None
        self.done = False
        self.reported = 0
        self.read_time = 0.0
        self.t0 = None

    def step(self):
        """The next records, a list of bytes: up to _STEP_RECORDS of them,
        ending with the one that reaches _STEP_BYTES; StopIteration at the
        end.  The reader is opened by the first call, closed at the end or
        on an error (which is raised here; the iteration then ends)."""
        if self.done:
            raise StopIteration
        src = self.source
        clock = time.perf_counter
        recs = []
        size = 0
        end = False
        try:
            r = self.reader
            if r is None:
                self.t0 = clock()
                r = self.reader = src.reader()
                self.read_time = clock() - self.t0
            while True:
                t = clock()
                batch = r.next_batch(_STEP_RECORDS - len(recs))
                self.read_time += clock() - t
                if not batch:
                    end = True
                    break
                recs.extend(batch)
                size += sum(map(len, batch))
                if src.interval:
                    self._report_interval()
                if len(recs) >= _STEP_RECORDS or size >= _STEP_BYTES:
                    break
            if end and src.interval:
                self._report_interval()
        except BaseException:
            self.close()
            raise
        if end:
            self.close()
            if not recs:
                raise StopIteration
        return recs

    def close(self):
        """The end, an error, or the iterator dropped: close the reader,
        after the report with benchmark=True.  Idempotent."""
        self.done = True
        r, self.reader = self.reader, None
        if r is None:
            return
        try:
            if self.source.benchmark:
                self._report(r)
        finally:
            r.close()

    def _report_interval(self):
        src = self.source
        n = self.reader.stats().records // src.interval
        while self.reported < n:
            self.reported += 1
            st = self.reader.stats()
            print("PipeModeDataset %s epoch %d records: %d read_bytes: %d "
                  "read_wait_ms: %.1f library_ms: %.1f"
                  % (src.channel, st.epoch, self.reported * src.interval,
                     st.payload_bytes, st.read_wait_ns / 1e6,
                     st.library_ns / 1e6), file=sys.stdout, flush=True)

    def _report(self, reader):
        """As AWS's op prints when an iterator ends (total read_time_ms,
        read_bytes, read_GB/s: the time spent getting records), with the
        records, and that time split into waiting for the FIFO's writer
        and data, and work in the library (timing=1); the rest of the read
        time is the copy into Python."""
        read_seconds = self.read_time
        elapsed = time.perf_counter() - self.t0
        st = reader.stats()
        gb = st.payload_bytes / float(1 << 30)
        tag = "PipeModeDataset %s epoch %d" % (self.source.channel, st.epoch)
        print("%s total records: %d (%s)\n"
              "%s total read_bytes: %d\n"
              "%s total read_time_ms: %d (waiting for the FIFO: %d ms, "
              "opening it: %d ms, in the library: %d ms; elapsed %d ms)\n"
              "%s total read_GB/s: %.3f (records/s: %.0f)"
              % (tag, st.records, reader.source_name,
                 tag, st.payload_bytes,
                 tag, read_seconds * 1000, st.read_wait_ns // 1000000,
                 st.open_wait_ns // 1000000, st.library_ns // 1000000,
                 elapsed * 1000,
                 tag, gb / read_seconds if read_seconds > 0 else 0.0,
                 st.records / read_seconds if read_seconds > 0 else 0.0),
              file=sys.stdout, flush=True)


class PipeModeDataset(tf.data.Dataset):
    """A SageMaker Pipe Mode channel as a ``tf.data.Dataset`` of scalar
    ``tf.string`` records; see the module's documentation."""

    def __init__(self, channel, record_format="RecordIO",
                 state_dir="/opt/ml/pipe_state",
                 pipe_dir="/opt/ml/input/data",
                 config_dir="/opt/ml/input/config", benchmark=False,
                 benchmark_records_interval=0,
                 max_corrupted_records_to_skip=0, **options):
        if record_format not in _FORMATS:
            raise PipeModeDatasetException(
                "Invalid record format: %s (one of RecordIO, TFRecord, "
                "TextLine)" % (record_format,))
        if max_corrupted_records_to_skip > 0 and record_format != "TFRecord":
            raise PipeModeDatasetException(
                "max_corrupted_records_to_skip can only be set for "
                "record_format='TFRecord'")
        os.makedirs(state_dir, exist_ok=True)
        config = os.path.join(config_dir, "inputdataconfig.json")
        if os.path.exists(config):
            with open(config) as f:
                self.input_data_config = json.load(f)
            if channel not in self.input_data_config:
                raise PipeModeDatasetException(
                    "Channel {} not found in Training Job InputDataConfig"
                    .format(channel))
        else:
            self.input_data_config = None
        self.record_format = record_format
        self.channel = channel
        self.pipe_dir = pipe_dir
        self.state_dir = state_dir
        self.config_dir = config_dir
        self.benchmark = bool(benchmark)
        self.benchmark_records_interval = int(benchmark_records_interval)
        self.max_corrupted_records_to_skip = int(
            max_corrupted_records_to_skip)
        self.options = dict(options)
        for key in ("channel", "path", "fd"):
            if key in self.options:
                raise TypeError("PipeModeDataset: %s is not an option" % key)
        opts = dict(self.options)
        opts.setdefault("pipe_dir", self.pipe_dir)
        opts.setdefault("state_dir", self.state_dir)
        opts.setdefault("config_dir", self.config_dir)
        opts.setdefault("buffer_size", _BUFFER_SIZE)
        if self.max_corrupted_records_to_skip:
            opts["skip_corrupt"] = self.max_corrupted_records_to_skip
        if self.benchmark:
            opts["timing"] = True
        key = next(_COUNTER)
        _SOURCES[key] = _Source(channel, _FORMATS[record_format], opts,
                                self.benchmark,
                                self.benchmark_records_interval)
        super().__init__(_graph().variant(key))

    # tf.data.Dataset's abstract parts: a source dataset
    def _inputs(self):
        return []

    @property
    def element_spec(self):
        return tf.TensorSpec(shape=[], dtype=tf.string)

    def __repr__(self):
        return ("<PipeModeDataset channel=%r record_format=%r pipe_dir=%r>"
                % (self.channel, self.record_format, self.pipe_dir))
