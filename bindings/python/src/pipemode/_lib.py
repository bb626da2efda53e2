# SPDX-License-Identifier: Apache-2.0
"""Finding libpipemode and declaring its functions for ctypes.

Nothing here is compiled: the package works with any libpipemode.so.1
(1.0 or later) that the dynamic loader can be pointed at.  Where from, in
this order:

1. ``$PIPEMODE_LIBRARY``: the path of the shared library (or of the
   directory holding ``libpipemode.so.1``);
2. ``ctypes.util.find_library("pipemode")`` (the ldconfig cache, so a
   ``make install`` into ``/usr/local`` followed by ``ldconfig``);
3. ``pkg-config --variable=libdir libpipemode`` (an install under a prefix
   that ``PKG_CONFIG_PATH`` names);
4. ``libpipemode.so.1`` by name (``LD_LIBRARY_PATH``, the loader's
   defaults).
"""

import ctypes
import ctypes.util
import os
import shutil
import subprocess

SONAME = "libpipemode.so.1"


class Record(ctypes.Structure):
    """pipemode_record: one record of a batch."""

    _fields_ = [("data", ctypes.c_void_p), ("len", ctypes.c_size_t)]


class Stats(ctypes.Structure):
    """pipemode_stats as of 1.0 (size first: the library fills what it
    covers)."""

    _fields_ = [
        ("size", ctypes.c_size_t),
        ("records", ctypes.c_uint64),
        ("payload_bytes", ctypes.c_uint64),
        ("skipped", ctypes.c_uint64),
        ("bytes_read", ctypes.c_uint64),
        ("read_calls", ctypes.c_uint64),
        ("read_wait_ns", ctypes.c_uint64),
        ("library_ns", ctypes.c_uint64),
        ("open_wait_ns", ctypes.c_uint64),
        ("epoch", ctypes.c_int64),
        ("files", ctypes.c_uint64),
    ]


def _pkg_config_libdir():
    exe = shutil.which("pkg-config")
    if exe is None:
        return None
    try:
        out = subprocess.run(
            [exe, "--variable=libdir", "libpipemode"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    libdir = out.stdout.decode("utf-8", "replace").strip()
    if out.returncode != 0 or not libdir:
        return None
    return libdir


def _candidates():
    """(what, how to load) in the order tried."""
    env = os.environ.get("PIPEMODE_LIBRARY")
    if env:
        path = os.path.join(env, SONAME) if os.path.isdir(env) else env
        # Only this one: a user who names a library means that one.
        return [("PIPEMODE_LIBRARY=" + env, path)]
    found = []
    name = ctypes.util.find_library("pipemode")
    if name:
        found.append(("ctypes.util.find_library('pipemode')", name))
    libdir = _pkg_config_libdir()
    if libdir:
        found.append(
            ("pkg-config libdir " + libdir, os.path.join(libdir, SONAME))
        )
    found.append((SONAME + " by name", SONAME))
    return found


def _load():
    tried = []
    for what, path in _candidates():
        try:
            return ctypes.CDLL(path), path
        except OSError as e:
            tried.append("%s: %s" % (what, e))
    raise ImportError(
        "pipemode: cannot load the C library libpipemode (install it, e.g. "
        "./bootstrap && make && make install && ldconfig, or set "
        "PIPEMODE_LIBRARY to the path of libpipemode.so.1). Tried:\n  "
        + "\n  ".join(tried)
    )


lib, path = _load()

_c_int = ctypes.c_int
_p = ctypes.c_void_p
_pp = ctypes.POINTER(ctypes.c_void_p)
_str = ctypes.c_char_p
_size = ctypes.c_size_t


def _fn(name, restype, *argtypes):
    try:
        f = getattr(lib, name)
    except AttributeError:
        raise ImportError(
            "pipemode: %s (%s) has no %s: libpipemode is too old for these "
            "bindings" % (path, _version_of_loaded(), name)
        ) from None
    f.restype = restype
    f.argtypes = list(argtypes)
    return f


def _version_of_loaded():
    try:
        f = lib.pipemode_version_string
        f.restype = _str
        return "version " + f().decode()
    except Exception:  # pragma: no cover - a library that is not ours
        return "unknown version"


version_number = _fn("pipemode_version_number", ctypes.c_uint)
version_string = _fn("pipemode_version_string", _str)
strerror = _fn("pipemode_strerror", _str, _c_int)
code_name = _fn("pipemode_code_name", _str, _c_int)

open_channel = _fn("pipemode_open", _c_int, _pp, _str, _str)
open_path = _fn("pipemode_open_path", _c_int, _pp, _str, _str)
open_fd = _fn("pipemode_open_fd", _c_int, _pp, _c_int, _str)
next_record = _fn(
    "pipemode_next", _c_int, _p, _pp, ctypes.POINTER(_size)
)
# records is passed as a flat array of 2 * max size_t (data, len, ...):
# slicing that gives Python ints without a struct object per record.
next_batch = _fn(
    "pipemode_next_batch", _c_int, _p, _p, _size, ctypes.POINTER(_size)
)
close = _fn("pipemode_close", _c_int, _p)
errmsg = _fn("pipemode_errmsg", _str, _p)
record_index = _fn("pipemode_record_index", ctypes.c_uint64, _p)
byte_offset = _fn("pipemode_byte_offset", ctypes.c_uint64, _p)
source_name = _fn("pipemode_source_name", _str, _p)
get_stats = _fn("pipemode_get_stats", _c_int, _p, ctypes.POINTER(Stats))

writer_open_path = _fn("pipemode_writer_open_path", _c_int, _pp, _str, _str)
writer_open_fd = _fn("pipemode_writer_open_fd", _c_int, _pp, _c_int, _str)
write = _fn("pipemode_write", _c_int, _p, _p, _size)
writer_flush = _fn("pipemode_writer_flush", _c_int, _p)
writer_close = _fn("pipemode_writer_close", _c_int, _p)
writer_errmsg = _fn("pipemode_writer_errmsg", _str, _p)

crc32c = _fn("pipemode_crc32c", ctypes.c_uint32, ctypes.c_uint32, _p, _size)

if ctypes.sizeof(Record) != 2 * ctypes.sizeof(_size):  # pragma: no cover
    raise ImportError("pipemode: unexpected pipemode_record layout")
