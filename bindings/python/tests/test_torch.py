# SPDX-License-Identifier: Apache-2.0
"""pipemode.torch.PipeModeIterableDataset with PyTorch's DataLoader."""

import pytest

torch = pytest.importorskip(
    "torch", reason="torch is not installed (pip install torch): "
    "PipeModeIterableDataset tests skipped")

from torch.utils.data import DataLoader  # noqa: E402

from pipemode.torch import PipeModeIterableDataset  # noqa: E402

from conftest import encode, make_records  # noqa: E402


def flat(loader):
    out = []
    for batch in loader:
        out.extend(batch if isinstance(batch, list) else [batch])
    return out


def test_dataloader_without_workers(channels):
    epochs = [make_records(300, seed=e) for e in range(2)]
    feeder = channels.feed("train", [encode(e, "recordio") for e in epochs])
    ds = PipeModeIterableDataset("train", format="RecordIO",
                                 **channels.options)
    assert isinstance(ds, torch.utils.data.IterableDataset)
    loader = DataLoader(ds, batch_size=None, num_workers=0)
    assert flat(loader) == epochs[0]
    # the next pass is the next epoch
    assert flat(loader) == epochs[1]
    feeder.join()
    assert channels.epoch_counter("train") == 2


def test_batches_and_transform(channels):
    recs = make_records(100, seed=4)
    channels.feed("train", [encode(recs, "tfrecord")])
    ds = PipeModeIterableDataset(
        "train", transform=lambda b: torch.tensor(len(b)),
        **channels.options)
    loader = DataLoader(ds, batch_size=16, num_workers=0)
    lengths = torch.cat(list(loader)).tolist()
    assert lengths == [len(r) for r in recs]


def test_one_worker_may_read_one_channel(channels):
    recs = make_records(200, seed=5)
    channels.feed("train", [encode(recs, "tfrecord")])
    ds = PipeModeIterableDataset("train", **channels.options)
    loader = DataLoader(ds, batch_size=None, num_workers=1)
    assert flat(loader) == recs


def test_workers_cannot_share_a_channel(channels):
    ds = PipeModeIterableDataset("train", **channels.options)
    loader = DataLoader(ds, batch_size=None, num_workers=2)
    with pytest.raises(RuntimeError, match="cannot be shared by 2 "
                       "DataLoader workers"):
        list(loader)
    # and no worker opened the channel
    assert channels.epoch_counter("train") == 0


def test_one_channel_per_worker(channels):
    a = make_records(150, seed=6, vary=False)
    b = make_records(170, seed=7, vary=False)
    channels.feed("train_a", [encode(a)])
    channels.feed("train_b", [encode(b)])
    ds = PipeModeIterableDataset(["train_a", "train_b"], **channels.options)
    loader = DataLoader(ds, batch_size=None, num_workers=2)
    got = flat(loader)
    assert sorted(got) == sorted(a + b)
    # each worker's records keep their order
    in_a = set(a)
    assert [r for r in got if r in in_a] == a
    assert [r for r in got if r not in in_a] == b


def test_channel_callable(channels):
    parts = [make_records(50, seed=10 + k) for k in range(2)]
    for k in range(2):
        channels.feed("shard%d" % k, [encode(parts[k])])
    ds = PipeModeIterableDataset(lambda wid, n: "shard%d" % wid,
                                 **channels.options)
    got = flat(DataLoader(ds, batch_size=None, num_workers=2))
    assert sorted(got) == sorted(parts[0] + parts[1])


def test_list_must_match_the_workers(channels):
    ds = PipeModeIterableDataset(["a", "b", "c"], **channels.options)
    with pytest.raises(RuntimeError, match="3 channels for 2"):
        list(DataLoader(ds, batch_size=None, num_workers=2))
    with pytest.raises(RuntimeError, match="3 channels for 1"):
        list(DataLoader(ds, batch_size=None, num_workers=0))
    with pytest.raises(TypeError):
        PipeModeIterableDataset(["a", 1])
    with pytest.raises(TypeError):
        PipeModeIterableDataset("a", path="/x")


def test_errors_reach_the_loop(channels):
    import pipemode
    recs = make_records(20, 40, vary=False)
    channels.feed("train", [encode(recs, "tfrecord")[:-3]])
    ds = PipeModeIterableDataset("train", **channels.options)
    got = []
    with pytest.raises(pipemode.TruncatedError):
        for r in DataLoader(ds, batch_size=None, num_workers=0):
            got.append(r)
    assert got == recs[:19]
