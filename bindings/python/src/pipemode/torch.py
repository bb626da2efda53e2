# SPDX-License-Identifier: Apache-2.0
"""``PipeModeIterableDataset``: a SageMaker Pipe Mode channel for PyTorch's
``DataLoader``.

Each ``__iter__`` (each pass of a ``for`` over the DataLoader) opens the
channel's next epoch, as ``pipemode.Reader(channel=...)`` does.

One FIFO has one reader: DataLoader workers cannot share a channel.  With
``num_workers`` of 0 or 1 a channel name is enough.  With more workers,
give each worker its own channel (SageMaker makes one per channel in the
job: e.g. ``train_0`` ... ``train_3`` fed from S3 prefixes, or shards
by ``ShardedByS3Key`` across instances), as either:

- a list (or tuple) of channel names, one per worker: worker ``k`` reads
  ``channel[k]``; the list's length must equal ``num_workers`` (with
  ``num_workers=0`` it must hold one name);
- a callable ``channel(worker_id, num_workers) -> str``.

A single name with ``num_workers > 1`` raises ``RuntimeError`` in the
workers (the DataLoader re-raises it) instead of letting two workers split
one FIFO's bytes between them.
"""

import torch.utils.data

from ._core import Reader

__all__ = ["PipeModeIterableDataset"]


class PipeModeIterableDataset(torch.utils.data.IterableDataset):
    """Records of a channel as ``bytes`` (or ``transform(bytes)``).

    ``channel``: a name, a list of names (one per DataLoader worker) or a
    callable ``(worker_id, num_workers) -> name``.  ``format``: the
    library's (``"tfrecord"``, ``"recordio"``, ``"lines"``, aliases
    ``"TFRecord"``, ``"RecordIO"``, ``"TextLine"``); None: the library's
    default (TFRecord, or RecordIO when inputdataconfig.json says so).
    ``transform``: applied to each record (e.g. to parse it), in the worker.
    Every other keyword is a library option: ``pipe_dir``, ``state_dir``,
    ``config_dir``, ``open_timeout``, ``skip_corrupt``...
    """

    def __init__(self, channel, format=None, transform=None, **options):
        super().__init__()
        if not (isinstance(channel, str) or callable(channel)
                or isinstance(channel, (list, tuple))):
            raise TypeError("channel: a name, a list of names or a callable")
        if isinstance(channel, (list, tuple)):
            if not channel or not all(isinstance(c, str) for c in channel):
                raise TypeError("channel: a non-empty list of names")
            channel = list(channel)
        for key in ("path", "fd"):
            if key in options:
                raise TypeError("PipeModeIterableDataset reads channels; "
                                "%s is not an option" % key)
        self.channel = channel
        self.format = format
        self.transform = transform
        self.options = options

    def channel_for(self, worker_id, num_workers):
        """The channel worker ``worker_id`` of ``num_workers`` reads
        (``num_workers`` 0 means the main process)."""
        c = self.channel
        if callable(c):
            name = c(worker_id, num_workers)
            if not isinstance(name, str):
                raise TypeError("channel(%d, %d) returned %r, not a str"
                                % (worker_id, num_workers, name))
            return name
        if isinstance(c, list):
            want = max(num_workers, 1)
            if len(c) != want:
                raise RuntimeError(
                    "PipeModeIterableDataset: %d channels for %d DataLoader "
                    "workers; give one channel per worker" % (len(c), want))
            return c[worker_id]
        if num_workers > 1:
            raise RuntimeError(
                "PipeModeIterableDataset: channel %r cannot be shared by %d "
                "DataLoader workers (one FIFO has one reader: the workers "
                "would split its bytes). Use num_workers=0 or 1, or give one "
                "channel per worker: a list of names, or a callable "
                "channel(worker_id, num_workers)" % (c, num_workers))
        return c

    def __iter__(self):
        info = torch.utils.data.get_worker_info()
        if info is None:
            worker_id, num_workers = 0, 0
        else:
            worker_id, num_workers = info.id, info.num_workers
        name = self.channel_for(worker_id, num_workers)
        transform = self.transform
        with Reader(channel=name, format=self.format,
                    **self.options) as reader:
            if transform is None:
                yield from reader
            else:
                for record in reader:
                    yield transform(record)
