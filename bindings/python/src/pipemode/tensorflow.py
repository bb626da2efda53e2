# SPDX-License-Identifier: Apache-2.0
"""``PipeModeDataset``: a drop-in for ``sagemaker_tensorflow.PipeModeDataset``
on libpipemode, for every TensorFlow 2.x from 2.12 on.

Nothing is compiled against TensorFlow: the dataset is
``tf.data.Dataset.from_generator`` over ``pipemode.Reader`` (records are
fetched in batches, handed to TensorFlow as one string tensor per batch,
and ``unbatch``-ed back into scalar elements), wrapped in a
``tf.data.Dataset`` subclass so that ``isinstance`` and the constructor
look like AWS's.

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
# TensorFlow's own building blocks of tf.data.Dataset.from_generator and
# Dataset.map (present, with these signatures, from 2.12 to 2.21 at least):
# they let the dataset be built from functions traced once per process and
# run the copy into TensorFlow in the consuming thread (see _Graph).
from tensorflow.python.data.ops import structured_function as _sfw
from tensorflow.python.ops import gen_dataset_ops as _gen

from ._core import Reader

__all__ = ["PipeModeDataset", "PipeModeDatasetException"]

_FORMATS = {"RecordIO": "recordio", "TFRecord": "tfrecord",
            "TextLine": "lines"}

# Records handed to TensorFlow per step: enough to amortise the cost of a
# Python call per step, small enough to keep latency and memory low.
_STEP_RECORDS = 2048
_STEP_BYTES = 1 << 20


class PipeModeDatasetException(Exception):
    """An error using a PipeModeDataset (as AWS's class of that name)."""


# How a PipeModeDataset is made, without compiling anything:
#
#   GeneratorDataset  init:     key -> iteration id  (Python: a new _Iteration)
#                     next:     id -> id             (no Python: the id again)
#                     finalize: id -> 0              (Python: close the epoch)
#   MapDataset        id -> 1-D tf.string tensor of the next records (Python:
#                     _Iteration.step; StopIteration ends the iteration),
#                     run in the consuming thread (use_inter_op_parallelism
#                     false) and without preserve_cardinality, so that the
#                     OutOfRange of StopIteration is the end of the sequence
#   FlatMapDataset    Dataset.from_tensor_slices of each step: scalar
#                     elements that share the step's strings, not copies
#
# This is what Dataset.from_generator(...).unbatch() does, less three
# costs that made it slower than AWS's op with large records:
#
# - unbatch copies every record once more (it moves strings only when the
#   batch tensor is not shared, which it is here); from_tensor_slices does
#   not copy them;
# - from_generator calls the generator, and so makes the step's strings,
#   in a thread of TensorFlow's pool, while the consumer (batch, map...)
#   that frees them runs in another: each 100 KiB string was then new
#   memory to the allocator, page-faulted in (some 25 faults, ~50 us a
#   record); AWS's op, and the map here, allocate where they free;
# - from_generator and the transformations trace their functions for each
#   dataset made (~25 ms); these are traced once per process.
#
# A PipeModeDataset is one GeneratorDataset op over these functions, whose
# only input is the key of its settings in _SOURCES.

_SOURCES = {}        # key -> _Source (kept: a few hundred bytes a dataset)
_ITERATIONS = {}     # iteration id -> _Iteration
_COUNTER = itertools.count(1)
_LOCK = threading.Lock()
_GRAPH = []


def _start(key):
    """init_func: a new iteration of the dataset with this key."""
    source = _SOURCES[int(key)]
    iid = next(_COUNTER)
    _ITERATIONS[iid] = _Iteration(source)
    return np.int64(iid)


def _step(iid):
    """The map: the iteration's next records, as a 1-D object array."""
    it = _ITERATIONS.get(int(iid))
    if it is None:
        raise StopIteration
    return it.step()


def _finish(iid):
    """finalize_func: the iterator is going away."""
    it = _ITERATIONS.pop(int(iid), None)
    if it is not None:
        it.close()
    return np.int64(0)


def _py(fn, arg, dtype, shape):
    out = tf.numpy_function(fn, [arg], dtype, stateful=True)
    out.set_shape(shape)
    return out


class _Graph:
    """The functions of every PipeModeDataset, traced once per process."""

    def __init__(self):
        scalar = tf.TensorSpec([], tf.int64)
        name = "PipeModeDataset"
        self.init = _sfw.StructuredFunctionWrapper(
            lambda key: _py(_start, key, tf.int64, []), name,
            input_structure=scalar)
        self.next = _sfw.StructuredFunctionWrapper(
            tf.identity, name, input_structure=scalar)
        self.finalize = _sfw.StructuredFunctionWrapper(
            lambda iid: _py(_finish, iid, tf.int64, []), name,
            input_structure=scalar)
        self.step = _sfw.StructuredFunctionWrapper(
            lambda iid: _py(_step, iid, tf.string, [None]), name,
            input_structure=scalar)

    def variant(self, key):
        """The variant tensor of the dataset whose settings are _SOURCES[key]."""
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
            use_inter_op_parallelism=os.environ.get("PM_INLINE") == "0", preserve_cardinality=False)
        if os.environ.get("PM_SPLIT") == "fts":
            if not hasattr(self, "split"):
                with tf.init_scope():
                    self.split = _sfw.StructuredFunctionWrapper(tf.data.Dataset.from_tensor_slices, "x", input_structure=tf.TensorSpec([None], tf.string))
            return _gen.flat_map_dataset(steps, self.split.function.captured_inputs, f=self.split.function, output_types=[tf.string], output_shapes=[tf.TensorShape([])])
        # Dataset.unbatch() less the map it adds to normalize its input
        return tf.raw_ops.UnbatchDataset(
            input_dataset=steps, output_types=[tf.string],
            output_shapes=[tf.TensorShape([])])


def _graph():
    with _LOCK:
        if not _GRAPH:
            # traced in the eager context even when the first dataset is
            # made inside a tf.function: the functions outlive that graph
            with tf.init_scope():
                _GRAPH.append(_Graph())
        return _GRAPH[0]


class _Source:
    """What an iteration needs of its dataset: the settings, not the
    dataset (which a running iteration must not keep alive)."""

    def __init__(self, channel, fmt, options, benchmark, interval):
        self.channel = channel
        self.format = fmt
        self.options = options
        self.benchmark = benchmark
        self.interval = interval

    def reader(self):
        opts = dict(self.options)
        if os.environ.get("PM_BUF"):
            opts.setdefault("buffer_size", os.environ["PM_BUF"])
        return Reader(channel=self.channel, format=self.format,
                      batch_size=_STEP_RECORDS, **opts)


class _Iteration:
    """One iteration: the channel's next epoch, read step by step."""

    def __init__(self, source):
        self.source = source
        self.reader = None
        self.done = False
        self.reported = 0
        self.read_time = 0.0
        self.t0 = None

    def step(self):
        if self.done:
            raise StopIteration
        src = self.source
        clock = time.perf_counter
        try:
            r = self.reader
            if r is None:
                self.t0 = clock()
                r = self.reader = src.reader()
                self.read_time = clock() - self.t0
            recs = []
            size = 0
            end = False
            while True:
                t = clock()
                batch = r.next_batch(_STEP_RECORDS)
                self.read_time += clock() - t
                if not batch:
                    end = True
                    break
                recs.extend(batch)
                size += sum(map(len, batch))
                if src.interval:
                    self._report_interval()
                if len(recs) >= _STEP_RECORDS or size >= int(os.environ.get('PM_STEP', _STEP_BYTES)):
                    break
        except BaseException:
            self.close()
            raise
        if end:
            if src.interval:
                self._report_interval()
            self.close()
            if not recs:
                raise StopIteration
        return np.array(recs, dtype=object)

    def close(self):
        """End of the epoch, an error, or the iterator abandoned: close the
        reader (with benchmark=True, after reporting)."""
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
