# SPDX-License-Identifier: Apache-2.0
"""The library's error codes as exceptions, one class per code.

Codes and their values are pinned in pipemode.h (PIPEMODE_ERRNO_MAP); the
table below repeats them so that a code the loaded library adds later still
maps to ``Error``.
"""

OK = 0
EOF = 1
EINVAL = -1
ENOMEM = -2
EIO = -3
EOPTION = -4
EUNSUPPORTED = -5
ETRUNCATED = -6
ECORRUPT = -7
ECRC = -8
ETOOBIG = -9
ESTATE = -10
EFORMAT = -11
ETIMEDOUT = -12
ECONFIG = -13


class Error(Exception):
    """An error libpipemode reported.

    Attributes: ``code`` (the negative PIPEMODE_E* value), ``name`` (its
    name without the prefix, e.g. ``"ECRC"``), ``message`` (the library's
    message: source, framer, record and byte), ``record_index`` and
    ``byte_offset`` (where the error was found, as the library reports them;
    ``None`` for errors not tied to a position, such as a failed open),
    ``source`` (what was being read: a path, ``"fd N"``, a channel's FIFO).
    """

    code = None

    def __init__(self, message, code=None, record_index=None,
                 byte_offset=None, source=None, name=None):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.name = name
        self.record_index = record_index
        self.byte_offset = byte_offset
        self.source = source

    def __str__(self):
        return self.message


class InvalidArgumentError(Error, ValueError):
    """PIPEMODE_EINVAL: a bad argument (e.g. a channel name SageMaker would
    not accept)."""
    code = EINVAL


class OutOfMemoryError(Error, MemoryError):
    """PIPEMODE_ENOMEM."""
    code = ENOMEM


class PipeModeIOError(Error, OSError):
    """PIPEMODE_EIO: open, read or write failed; the message has errno's
    text."""
    code = EIO


class OptionError(Error, ValueError):
    """PIPEMODE_EOPTION: an unknown option or a bad value (the message
    names the key)."""
    code = EOPTION


class UnsupportedError(Error):
    """PIPEMODE_EUNSUPPORTED: not supported, e.g. a writer for lines."""
    code = EUNSUPPORTED


class DataError(Error):
    """Base of the errors about the data itself (truncated, corrupt, a bad
    CRC, too big, an unknown format)."""


class TruncatedError(DataError):
    """PIPEMODE_ETRUNCATED: the stream ends inside a record."""
    code = ETRUNCATED


class CorruptError(DataError):
    """PIPEMODE_ECORRUPT: framing that cannot be trusted (e.g. a bad length
    CRC, a bad RecordIO magic)."""
    code = ECORRUPT


class CRCError(DataError):
    """PIPEMODE_ECRC: a record's payload CRC32C does not match (beyond
    skip_corrupt)."""
    code = ECRC


class TooBigError(DataError):
    """PIPEMODE_ETOOBIG: a record larger than max_record_size."""
    code = ETOOBIG


class StateError(Error):
    """PIPEMODE_ESTATE: the handle failed to open and can only be closed."""
    code = ESTATE


class FormatError(DataError):
    """PIPEMODE_EFORMAT: format=auto (or compression=auto) could not tell."""
    code = EFORMAT


class PipeModeTimeoutError(Error, TimeoutError):
    """PIPEMODE_ETIMEDOUT: a channel's FIFO or its writer did not come
    within open_timeout.  Also a builtin ``TimeoutError``."""
    code = ETIMEDOUT


class ConfigError(Error):
    """PIPEMODE_ECONFIG: a bad inputdataconfig.json (or one without the
    channel), or a state file that is not a number."""
    code = ECONFIG


_BY_CODE = {
    cls.code: cls
    for cls in (
        InvalidArgumentError, OutOfMemoryError, PipeModeIOError, OptionError,
        UnsupportedError, TruncatedError, CorruptError, CRCError, TooBigError,
        StateError, FormatError, PipeModeTimeoutError, ConfigError,
    )
}


def error_class(code):
    """The exception class for a code (``Error`` for one this version does
    not know)."""
    return _BY_CODE.get(code, Error)


def make_error(code, message, record_index=None, byte_offset=None,
               source=None, name=None):
    cls = error_class(code)
    e = cls(message, code=code, record_index=record_index,
            byte_offset=byte_offset, source=source, name=name)
    return e
