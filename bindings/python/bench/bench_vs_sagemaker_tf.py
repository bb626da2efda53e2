#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Records/s of pipemode.tensorflow.PipeModeDataset against AWS's
sagemaker_tensorflow.PipeModeDataset, on the same FIFO data, in one run.

For each format (RecordIO, TFRecord) and record size (100 B, 1 KiB,
100 KiB) one data file is written with pipemode.Writer; then, for each
reader, a fresh channel directory is made (inputdataconfig.json, state
dir), a separate feeder process streams the file into the FIFO
<pipe_dir>/bench_0 (sendfile), and the reader consumes it:

- aws:       sagemaker_tensorflow.PipeModeDataset (the C++ op), if it loads
- pipemode:  pipemode.tensorflow.PipeModeDataset
  both measured as ``ds.batch(128).reduce(...)`` counting records and
  summing their lengths: the whole loop runs inside TensorFlow, so this is
  the input pipeline's own rate (with --map, ``ds.map(length).batch(128)
  .reduce(...)``: each record is mapped to its length first, as a pipeline
  parses records before batching them, and the batch copies numbers, not
  the records);
- reader:    pipemode.Reader in a Python loop (bytes objects, no TF);
- raw:       a plain Python loop over the FIFO (buffered reads, header
  parsing, no CRC check): what a program would do by hand.

Each measurement is repeated (--repeat, default 5), the readers taking
turns (one run of each, then the next round, each round starting with the
next reader), and the median is reported, with the count of records and
bytes checked every time.  As with timeit, garbage is collected before each
run and the collector is off while it is timed.  --formats and
--sizes select a part of the table.

Run (the environment where sagemaker-tensorflow installs: Python 3.10 with
tensorflow-cpu==2.14.0 sagemaker-tensorflow==2.14.0.1.20.0, see
BENCHMARKS.rst):

    PIPEMODE_LIBRARY=/path/to/libpipemode.so.1 \\
        python bench_vs_sagemaker_tf.py [--repeat 5] [--scale 1.0] [--rst OUT]
            [--formats RecordIO TFRecord] [--sizes 100B 1KiB 100KiB]
            [--map] [--verbose]
"""

import argparse
import gc
import json
import os
import platform
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf  # noqa: E402

import pipemode  # noqa: E402
from pipemode.tensorflow import PipeModeDataset as OurDataset  # noqa: E402

try:
    from sagemaker_tensorflow import PipeModeDataset as AwsDataset
    AWS_ERROR = None
except Exception as e:  # noqa: BLE001 - reported as is
    AwsDataset = None
    AWS_ERROR = "%s: %s" % (type(e).__name__, e)

SIZES = [(100, "100 B", 1_000_000), (1024, "1 KiB", 200_000),
         (102400, "100 KiB", 5_000)]
FORMATS = ["RecordIO", "TFRecord"]
CHANNEL = "bench"

FEEDER = r"""
import os, sys
src, fifo = sys.argv[1], sys.argv[2]
fd = os.open(fifo, os.O_WRONLY)
s = os.open(src, os.O_RDONLY)
n = os.fstat(s).st_size
off = 0
try:
    while off < n:
        k = os.sendfile(fd, s, off, n - off)
        if k == 0:
            break
        off += k
except BrokenPipeError:
    pass
"""


class Channel:
    """A fresh SageMaker-like layout with the FIFO made and a feeder
    process waiting to stream path into it."""

    def __init__(self, root, path, fmt):
        self.dir = tempfile.mkdtemp(dir=root)
        self.pipe_dir = os.path.join(self.dir, "data")
        self.state_dir = os.path.join(self.dir, "state")
        self.config_dir = os.path.join(self.dir, "config")
        for d in (self.pipe_dir, self.state_dir, self.config_dir):
            os.makedirs(d)
        with open(os.path.join(self.config_dir, "inputdataconfig.json"),
                  "w") as f:
            json.dump({CHANNEL: {"TrainingInputMode": "Pipe",
                                 "RecordWrapperType": "None",
                                 "S3DistributionType": "FullyReplicated"}},
                      f)
        self.fifo = os.path.join(self.pipe_dir, CHANNEL + "_0")
        os.mkfifo(self.fifo)
        self.feeder = subprocess.Popen([sys.executable, "-c", FEEDER, path,
                                        self.fifo])

    def close(self):
        try:
            self.feeder.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.feeder.kill()
            self.feeder.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


BATCH = 128


def _step(acc, x):
    return (acc[0] + tf.size(x, out_type=tf.int64),
            acc[1] + tf.reduce_sum(tf.cast(tf.strings.length(x), tf.int64)))


def _length(x):
    return tf.cast(tf.strings.length(x), tf.int64)


def _step_lengths(acc, x):
    return (acc[0] + tf.size(x, out_type=tf.int64), acc[1] + tf.reduce_sum(x))


# --map: each record mapped to its length before the batch
MAP = False


def reduce_count(ds):
    """(records, bytes), the loop inside TensorFlow: batches of 128 (as a
    training input pipeline batches; Dataset.reduce calls its function at
    some 40 us a call, which would hide the readers' cost element by
    element), each counted and its lengths summed.  With MAP, records are
    mapped to their lengths first (as a pipeline parses records before
    batching them), so that the batch copies numbers, not the records."""
    zero = (tf.constant(0, tf.int64), tf.constant(0, tf.int64))
    if MAP:
        n, b = ds.map(_length).batch(BATCH).reduce(zero, _step_lengths)
    else:
        n, b = ds.batch(BATCH).reduce(zero, _step)
    return int(n), int(b)


def run_tf(cls, ch, fmt):
    ds = cls(CHANNEL, record_format=fmt, state_dir=ch.state_dir,
             pipe_dir=ch.pipe_dir, config_dir=ch.config_dir)
    return reduce_count(ds)


def run_aws(ch, fmt):
    return run_tf(AwsDataset, ch, fmt)


def run_ours(ch, fmt):
    return run_tf(OurDataset, ch, fmt)


def run_reader(ch, fmt):
    n = b = 0
    with pipemode.Reader(path=ch.fifo, format=fmt.lower()) as r:
        for rec in r:
            n += 1
            b += len(rec)
    return n, b


def run_raw(ch, fmt):
    """A hand-written reader: buffered file, parse headers, read payloads.
    No CRC check (TFRecord) and single-part records only (RecordIO)."""
    n = b = 0
    unpack_q = struct.Struct("<Q").unpack
    unpack_ii = struct.Struct("<II").unpack
    with open(ch.fifo, "rb", buffering=1 << 20) as f:
        read = f.read
        if fmt == "TFRecord":
            while True:
                h = read(12)
                if not h:
                    break
                (ln,) = unpack_q(h[:8])
                rec = read(ln)
                read(4)
                n += 1
                b += len(rec)
        else:
            while True:
                h = read(8)
                if not h:
                    break
                _, lrec = unpack_ii(h)
                ln = lrec & ((1 << 29) - 1)
                rec = read(ln)
                pad = (4 - ln % 4) % 4
                if pad:
                    read(pad)
                n += 1
                b += len(rec)
    return n, b


def measure_once(fn, root, path, fmt, want):
    """Seconds for one reader to read the file once through a fresh
    channel, as timeit times: garbage collected before, the collector off
    while timed (a full collection of TensorFlow's objects takes some
    0.2 s, which would fall on whichever reader is being timed)."""
    ch = Channel(root, path, fmt)
    gc.collect()
    gc.disable()
    try:
        t0 = time.perf_counter()
        got = fn(ch, fmt)
        sec = time.perf_counter() - t0
    finally:
        gc.enable()
        ch.close()
    if got != want:
        raise RuntimeError("%s %s: got %s records/bytes, expected %s"
                           % (fn.__name__, fmt, got, want))
    return sec


def measure(readers, root, path, fmt, want, repeat, verbose=False):
    """{name: median seconds}.  The repetitions are interleaved (round
    1 of every reader, then round 2...), so that a change in the machine's
    load during a measurement weighs on every reader alike, and each round
    starts with the next reader, so that none always runs after the same
    one (the C allocator's state, which one run leaves to the next, counts
    at 100 KiB a record)."""
    times = {name: [] for name, _ in readers}
    for i in range(repeat):
        k = i % len(readers)
        for name, fn in readers[k:] + readers[:k]:
            times[name].append(measure_once(fn, root, path, fmt, want))
    if verbose:
        for name, t in times.items():
            print("  %-8s %s" % (name, " ".join("%.0f" % (want[0] / x)
                                                  for x in t)), flush=True)
    return {name: statistics.median(t) for name, t in times.items()}


def write_data(root, fmt, size, count):
    path = os.path.join(root, "data_%s_%d" % (fmt, size))
    payload = os.urandom(size * 16)
    with pipemode.Writer(path, format=fmt.lower()) as w:
        for i in range(count):
            k = (i * 7919) % 15
            w.write(payload[k * size:(k + 1) * size])
    return path


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=5,
                    help="measurements of each reader, interleaved; the "
                    "median is reported (default 5)")
    ap.add_argument("--formats", nargs="+", default=FORMATS,
                    choices=FORMATS)
    ap.add_argument("--sizes", nargs="+",
                    default=[s[1].replace(" ", "") for s in SIZES],
                    choices=[s[1].replace(" ", "") for s in SIZES])
    ap.add_argument("--scale", type=float, default=1.0,
                    help="multiply the record counts (default 1: 100 MB to "
                    "500 MB a file)")
    ap.add_argument("--rst", help="also write the table as RST here")
    ap.add_argument("--verbose", action="store_true",
                    help="print every measurement (records/s), in order")
    ap.add_argument("--map", action="store_true",
                    help="TensorFlow readers: map each record to its length "
                    "before batching (the batch then copies numbers, not "
                    "records)")
    ap.add_argument("--tmp", default=None, help="where data and FIFOs go")
    args = ap.parse_args()
    global MAP
    MAP = args.map

    root = tempfile.mkdtemp(prefix="pmbench-", dir=args.tmp)
    readers = [("aws", run_aws)] if AwsDataset is not None else []
    readers += [("pipemode", run_ours), ("reader", run_reader),
                ("raw", run_raw)]
    env = ("Python %s, TensorFlow %s, libpipemode %s, %s, %d CPUs%s"
           % (platform.python_version(), tf.__version__,
              pipemode.library_version(), platform.machine(),
              os.cpu_count(), ", --map" if args.map else ""))
    print(env)
    if AWS_ERROR:
        print("sagemaker_tensorflow not available: " + AWS_ERROR)
    rows = []
    try:
        for fmt in args.formats:
            for size, label, count in SIZES:
                if label.replace(" ", "") not in args.sizes:
                    continue
                count = max(1, int(count * args.scale))
                path = write_data(root, fmt, size, count)
                want = (count, count * size)
                secs = measure(readers, root, path, fmt, want, args.repeat,
                               args.verbose)
                rates = {name: count / sec for name, sec in secs.items()}
                os.unlink(path)
                rows.append((fmt, label, count, rates))
                cells = "  ".join("%s %11.0f/s" % (k, v)
                                  for k, v in rates.items())
                ratio = ("  pipemode/aws %.2f" % (rates["pipemode"]
                                                  / rates["aws"])
                         if "aws" in rates else "")
                print("%-8s %-7s %9d records  %s%s"
                      % (fmt, label, count, cells, ratio), flush=True)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    if args.rst:
        write_rst(args.rst, env, rows, [n for n, _ in readers])


def write_rst(path, env, rows, names):
    head = ["format", "record", "records"] + ["%s rec/s" % n for n in names]
    if "aws" in names:
        head.append("pipemode / aws")
    table = [head]
    for fmt, label, count, rates in rows:
        line = [fmt, label, str(count)] + ["{:,.0f}".format(rates[n])
                                           for n in names]
        if "aws" in names:
            line.append("%.2f" % (rates["pipemode"] / rates["aws"]))
        table.append(line)
    widths = [max(len(r[i]) for r in table) for i in range(len(head))]
    sep = "  ".join("=" * w for w in widths)
    out = [env, "", sep, "  ".join(c.ljust(w) for c, w in
                                   zip(table[0], widths)), sep]
    for r in table[1:]:
        out.append("  ".join(c.ljust(w) for c, w in zip(r, widths)))
    out.append(sep)
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
