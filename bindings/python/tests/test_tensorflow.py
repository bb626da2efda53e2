# SPDX-License-Identifier: Apache-2.0
"""pipemode.tensorflow.PipeModeDataset with the real TensorFlow."""

import pytest

tf = pytest.importorskip(
    "tensorflow", reason="tensorflow is not installed (pip install "
    "tensorflow-cpu): PipeModeDataset tests skipped")

from pipemode.tensorflow import PipeModeDataset, \
    PipeModeDatasetException  # noqa: E402

from conftest import encode, make_lines, make_records  # noqa: E402


def dataset(channels, channel="train", **kw):
    opts = channels.options
    return PipeModeDataset(channel, state_dir=opts["state_dir"],
                           pipe_dir=opts["pipe_dir"],
                           config_dir=opts["config_dir"],
                           open_timeout=opts["open_timeout"], **kw)


def values(ds):
    return [x.numpy() for x in ds]


def test_signature_and_defaults_match_aws():
    import inspect
    sig = inspect.signature(PipeModeDataset.__init__)
    params = list(sig.parameters.values())[1:]
    assert [(p.name, p.default) for p in params[:8]] == [
        ("channel", inspect.Parameter.empty),
        ("record_format", "RecordIO"),
        ("state_dir", "/opt/ml/pipe_state"),
        ("pipe_dir", "/opt/ml/input/data"),
        ("config_dir", "/opt/ml/input/config"),
        ("benchmark", False),
        ("benchmark_records_interval", 0),
        ("max_corrupted_records_to_skip", 0),
    ]


@pytest.mark.parametrize("record_format,fmt", [("RecordIO", "recordio"),
                                               ("TFRecord", "tfrecord"),
                                               ("TextLine", "lines")])
def test_iterate_scalar_strings(channels, record_format, fmt):
    recs = make_lines(700) if fmt == "lines" else make_records(700)
    channels.feed("train", [encode(recs, fmt)])
    ds = dataset(channels, record_format=record_format)
    assert isinstance(ds, tf.data.Dataset)
    assert ds.element_spec == tf.TensorSpec([], tf.string)
    got = []
    for x in ds:
        assert x.dtype == tf.string and x.shape == ()
        got.append(x.numpy())
    assert got == recs


def test_default_format_is_recordio(channels):
    recs = make_records(50)
    channels.feed("train", [encode(recs, "recordio")])
    assert values(dataset(channels)) == recs


def test_each_iteration_reads_the_next_epoch(channels):
    epochs = [make_records(100, seed=e) for e in range(3)]
    feeder = channels.feed("train", [encode(e, "recordio") for e in epochs])
    ds = dataset(channels)
    assert values(ds) == epochs[0]
    assert values(ds) == epochs[1]
    it = iter(ds)
    assert next(it).numpy() == epochs[2][0]
    assert [x.numpy() for x in it] == epochs[2][1:]
    feeder.join()
    assert channels.epoch_counter("train") == 3


def test_repeat_map_batch_prefetch(channels):
    epochs = [make_records(250, 20, seed=e) for e in range(2)]
    channels.feed("train", [encode(e, "tfrecord") for e in epochs])
    ds = dataset(channels, record_format="TFRecord")
    pipeline = (ds.repeat(2)
                .map(lambda x: tf.strings.length(x),
                     num_parallel_calls=tf.data.AUTOTUNE)
                .batch(32)
                .prefetch(tf.data.AUTOTUNE))
    lengths = [int(v) for b in pipeline for v in b.numpy()]
    assert lengths == [len(r) for r in epochs[0] + epochs[1]]


def test_inside_tf_function_and_take(channels):
    recs = make_records(300, 10)
    channels.feed("train", [encode(recs, "recordio")] * 2)
    ds = dataset(channels)

    @tf.function
    def total_length(d):
        return d.reduce(tf.constant(0, tf.int64),
                        lambda acc, x: acc + tf.cast(tf.strings.length(x),
                                                     tf.int64))

    assert int(total_length(ds)) == sum(map(len, recs))
    # leaving an epoch early closes it; the next iteration opens the next
    assert values(ds.take(5)) == recs[:5]


def _example(x, y):
    return tf.train.Example(features=tf.train.Features(feature={
        "x": tf.train.Feature(float_list=tf.train.FloatList(value=x)),
        "y": tf.train.Feature(float_list=tf.train.FloatList(value=[y])),
    })).SerializeToString()


def test_keras_fit_then_evaluate(channels):
    """fit over two epochs, then evaluate on the same dataset: AWS's op
    loops forever here (sagemaker-tensorflow-extensions issue 46); this
    reads epochs 0 and 1 for fit and epoch 2 for evaluate, and an epoch that
    never comes is an error within open_timeout."""
    import random
    rnd = random.Random(0)
    rows = []
    for _ in range(256):
        x = [rnd.uniform(-1, 1) for _ in range(4)]
        rows.append(_example(x, 2 * x[0] - x[1] + 0.5))
    data = encode(rows, "tfrecord")
    feeder = channels.feed("train", [data] * 3)
    spec = {"x": tf.io.FixedLenFeature([4], tf.float32),
            "y": tf.io.FixedLenFeature([1], tf.float32)}

    def parse(r):
        f = tf.io.parse_single_example(r, spec)
        return f["x"], f["y"]

    ds = dataset(channels, record_format="TFRecord")
    train = ds.map(parse).batch(32).prefetch(2)
    model = tf.keras.Sequential([tf.keras.Input(shape=(4,)),
                                 tf.keras.layers.Dense(1)])
    model.compile(optimizer=tf.keras.optimizers.SGD(0.1), loss="mse")
    hist = model.fit(train, epochs=2, verbose=0)
    assert len(hist.history["loss"]) == 2
    loss = model.evaluate(train, verbose=0)
    assert loss == loss and loss < hist.history["loss"][0]
    served = feeder.join()
    assert [e for e, n in served] == [0, 1, 2]
    assert all(n == len(data) for _, n in served)
    assert channels.epoch_counter("train") == 3

    # nothing serves epoch 3: an error within open_timeout, not a hang
    short = PipeModeDataset("train", record_format="TFRecord",
                            state_dir=str(channels.state_dir),
                            pipe_dir=str(channels.pipe_dir),
                            config_dir=str(channels.config_dir),
                            open_timeout=0.5)
    with pytest.raises(tf.errors.OpError, match="timed out|ETIMEDOUT|"
                       "PipeModeTimeoutError|train_3"):
        model.evaluate(short.map(parse).batch(32), verbose=0)


def _corrupt(data, records, i):
    off = sum(16 + len(r) for r in records[:i]) + 12
    b = bytearray(data)
    b[off] ^= 0xFF
    return bytes(b)


def test_max_corrupted_records_to_skip(channels):
    recs = make_records(100, 30, vary=False)
    data = _corrupt(encode(recs, "tfrecord"), recs, 10)
    channels.feed("train", [data, data])
    ds = dataset(channels, record_format="TFRecord",
                 max_corrupted_records_to_skip=1)
    assert values(ds) == recs[:10] + recs[11:]
    strict = dataset(channels, record_format="TFRecord")
    got = []
    with pytest.raises(tf.errors.OpError, match="crc32c|CRCError"):
        for x in strict:
            got.append(x.numpy())
    assert got == recs[:len(got)]


def test_constructor_checks_like_aws(channels, tmp_path):
    with pytest.raises(PipeModeDatasetException):
        dataset(channels, record_format="tfrecord")
    with pytest.raises(PipeModeDatasetException, match="TFRecord"):
        dataset(channels, record_format="RecordIO",
                max_corrupted_records_to_skip=1)
    channels.write_config({"other": {"TrainingInputMode": "Pipe"}})
    with pytest.raises(PipeModeDatasetException, match="not found"):
        dataset(channels)
    sd = tmp_path / "new" / "state"
    PipeModeDataset("other", state_dir=str(sd),
                    pipe_dir=str(channels.pipe_dir),
                    config_dir=str(channels.config_dir))
    assert sd.is_dir()


def test_errors_name_the_record(channels):
    recs = make_records(20, 30, vary=False)
    data = encode(recs, "recordio")
    channels.feed("train", [data[:-7]])
    with pytest.raises(tf.errors.OpError) as ei:
        values(dataset(channels))
    msg = str(ei.value)
    assert "TruncatedError" in msg and "record 19" in msg
    assert "train_0" in msg


def test_benchmark_prints_stats(channels, capfd):
    recs = make_records(1000, 100)
    channels.feed("train", [encode(recs, "recordio")])
    ds = dataset(channels, benchmark=True, benchmark_records_interval=400)
    assert len(values(ds)) == 1000
    out = capfd.readouterr().out
    assert "total records: 1000" in out
    assert "total read_bytes: %d" % sum(map(len, recs)) in out
    assert "waiting for the FIFO" in out and "in the library" in out
    assert "records: 400" in out and "records: 800" in out


def test_library_options_pass_through(channels):
    recs = [b"x" * 10, b"y" * 5000]
    channels.feed("train", [encode(recs, "recordio", compression="gzip")])
    ds = dataset(channels, compression="auto", max_record_size="4K")
    with pytest.raises(tf.errors.OpError, match="TooBigError"):
        values(ds)


def test_example_parsing_roundtrip(channels):
    rows = [_example([float(i)] * 4, float(i)) for i in range(10)]
    channels.feed("train", [encode(rows, "tfrecord")])
    ds = dataset(channels, record_format="TFRecord").map(
        lambda r: tf.io.parse_single_example(
            r, {"y": tf.io.FixedLenFeature([1], tf.float32)})["y"])
    assert [float(v[0]) for v in ds.as_numpy_iterator()] == \
        [float(i) for i in range(10)]
