# SPDX-License-Identifier: Apache-2.0
"""Python bindings of libpipemode: read SageMaker Pipe Mode streams
(TFRecord, RecordIO, text lines; gzip or zlib) record by record.

Pure Python over the C library through ctypes: nothing to compile.  The
library is found through ``$PIPEMODE_LIBRARY``, the ldconfig cache,
``pkg-config libpipemode`` or the loader's search path.

- ``Reader(channel=... | path=... | fd=..., format=..., **options)``:
  an iterator of ``bytes`` and a context manager.
- ``Writer(path=... | fd=..., format=..., **options)`` with ``.write()``.
- ``crc32c(data, crc=0)``.
- ``pipemode.tensorflow.PipeModeDataset``: a drop-in for
  ``sagemaker_tensorflow.PipeModeDataset``.
- ``pipemode.torch.PipeModeIterableDataset``: for PyTorch's DataLoader.
"""

from ._errors import (
    ConfigError,
    CorruptError,
    CRCError,
    DataError,
    Error,
    FormatError,
    InvalidArgumentError,
    OptionError,
    OutOfMemoryError,
    PipeModeIOError,
    PipeModeTimeoutError,
    StateError,
    TooBigError,
    TruncatedError,
    UnsupportedError,
    error_class,
)
from ._core import (
    Reader,
    Stats,
    Writer,
    crc32c,
    format_options,
    library_path,
    library_version,
)

__version__ = "1.0.0"

__all__ = [
    "Reader", "Writer", "Stats", "crc32c", "format_options",
    "library_version", "library_path", "error_class",
    "Error", "DataError", "InvalidArgumentError", "OutOfMemoryError",
    "PipeModeIOError", "OptionError", "UnsupportedError", "TruncatedError",
    "CorruptError", "CRCError", "TooBigError", "StateError", "FormatError",
    "PipeModeTimeoutError", "ConfigError",
]
