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

import json
import os
import sys
import time

import tensorflow as tf

from ._core import Reader

__all__ = ["PipeModeDataset", "PipeModeDatasetException"]

_FORMATS = {"RecordIO": "recordio", "TFRecord": "tfrecord",
            "TextLine": "lines"}

# Records handed to TensorFlow per generator step: enough to amortise the
# cost of a Python call per step, small enough to keep latency low.
_STEP_RECORDS = 2048
_STEP_BYTES = 1 << 20


class PipeModeDatasetException(Exception):
    """An error using a PipeModeDataset (as AWS's class of that name)."""


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
        self._source = tf.data.Dataset.from_generator(
            self._steps,
            output_signature=tf.TensorSpec(shape=[None], dtype=tf.string),
        ).unbatch()
        super().__init__(self._source._variant_tensor)

    # tf.data.Dataset's abstract parts
    def _inputs(self):
        return [self._source]

    @property
    def element_spec(self):
        return tf.TensorSpec(shape=[], dtype=tf.string)

    def _reader(self):
        opts = dict(self.options)
        opts.setdefault("pipe_dir", self.pipe_dir)
        opts.setdefault("state_dir", self.state_dir)
        opts.setdefault("config_dir", self.config_dir)
        if self.max_corrupted_records_to_skip:
            opts["skip_corrupt"] = self.max_corrupted_records_to_skip
        if self.benchmark:
            opts["timing"] = True
        return Reader(channel=self.channel,
                      format=_FORMATS[self.record_format],
                      batch_size=_STEP_RECORDS, **opts)

    def _steps(self):
        """One iteration: the next epoch, as lists of records."""
        clock = time.perf_counter
        t0 = clock()
        reader = self._reader()
        interval = self.benchmark_records_interval
        reported = 0
        read_time = [clock() - t0]
        try:
            step = []
            size = 0
            while True:
                t = clock()
                batch = reader.next_batch(_STEP_RECORDS)
                read_time[0] += clock() - t
                if not batch:
                    break
                step.extend(batch)
                size += sum(map(len, batch))
                if len(step) >= _STEP_RECORDS or size >= _STEP_BYTES:
                    yield step
                    step = []
                    size = 0
                if interval:
                    reported = self._report_interval(reader, reported)
            if step:
                yield step
            if interval:
                self._report_interval(reader, reported)
        finally:
            if self.benchmark:
                self._report(reader, read_time[0], clock() - t0)
            reader.close()

    def _report_interval(self, reader, reported):
        n = reader.stats().records // self.benchmark_records_interval
        while reported < n:
            reported += 1
            st = reader.stats()
            print("PipeModeDataset %s epoch %d records: %d read_bytes: %d "
                  "read_wait_ms: %.1f library_ms: %.1f"
                  % (self.channel, st.epoch,
                     reported * self.benchmark_records_interval,
                     st.payload_bytes, st.read_wait_ns / 1e6,
                     st.library_ns / 1e6), file=sys.stdout, flush=True)
        return reported

    def _report(self, reader, read_seconds, elapsed):
        """As AWS's op prints when an iterator ends (total read_time_ms,
        read_bytes, read_GB/s: the time spent getting records), with the
        records, and that time split into waiting for the FIFO's writer
        and data, and work in the library (timing=1); the rest of the read
        time is the copy into Python and TensorFlow."""
        if reader.closed:
            return
        st = reader.stats()
        gb = st.payload_bytes / float(1 << 30)
        tag = "PipeModeDataset %s epoch %d" % (self.channel, st.epoch)
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

    def __repr__(self):
        return ("<PipeModeDataset channel=%r record_format=%r pipe_dir=%r>"
                % (self.channel, self.record_format, self.pipe_dir))
