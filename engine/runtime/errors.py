"""The engine's error vocabulary: what went wrong, in words for the user, and the exit code it means.

| error           | meaning                                              | exit code |
| --------------- | ---------------------------------------------------- | --------- |
| `UsageError`    | a bad argument or option                             | 2         |
| `InputError`    | a bad input file (image, classes file, mask, ...)    | 2         |
| `ModelError`    | a model (or models.toml) that cannot be loaded       | 3         |
| `ResourceError` | the machine ran out of something: disk, memory, lock | 1         |

Every subclass of `EngineError` carries its message written for the user. Errors raised by the standard
library or by model libraries are turned into one of these by `as_engine_error` (a full disk, for one,
becomes a `ResourceError` naming the file), so the CLI and the GUI show one line and the CLI exits with
the code the README documents: 0 done, 1 the job failed, 2 bad usage or input, 3 missing models.
"""

from __future__ import annotations

import errno
import os
import sqlite3

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_MISSING_MODELS = 0, 1, 2, 3

# errno values that mean "the machine is out of room", not "this file is bad"
_NO_SPACE = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC), errno.EFBIG}


class EngineError(Exception):
    """An error whose message is written for the user (bad input, missing model, ...)."""

    exit_code = EXIT_FAILED


class UsageError(EngineError):
    """Bad arguments or options (exit code 2)."""

    exit_code = EXIT_USAGE


class InputError(EngineError):
    """A bad input file: an unreadable image, a malformed classes file, a truncated mask (exit code 2)."""

    exit_code = EXIT_USAGE


class ModelError(EngineError):
    """A model could not be loaded: wrong file, wrong format, bad models.toml entry (exit code 3)."""

    exit_code = EXIT_MISSING_MODELS


class ResourceError(EngineError):
    """The machine ran out of something the job needs: disk space, memory, a lock (exit code 1).

    A run stops on it: every following image would fail the same way."""

    exit_code = EXIT_FAILED


def is_disk_full(error: BaseException) -> bool:
    if isinstance(error, OSError) and error.errno in _NO_SPACE:
        return True
    if isinstance(error, sqlite3.Error):
        return getattr(error, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL or "disk is full" in str(error)
    return False


def is_fatal(error: BaseException) -> bool:
    """True when a batch should stop instead of marking the item failed and going on: a model that cannot
    load, a full disk, no memory."""
    error = as_engine_error(error)
    return isinstance(error, (ModelError, ResourceError))


def as_engine_error(error: BaseException) -> BaseException:
    """`error` in the vocabulary above when it is one of the faults we can name; else unchanged."""
    if isinstance(error, EngineError):
        return error
    if is_disk_full(error):
        where = _filename(error)
        converted = ResourceError(
            f"disk full{f' writing {where}' if where else ''}: free some space and run again "
            "(finished work is kept)"
        )
    elif isinstance(error, MemoryError) or type(error).__name__ == "OutOfMemoryError":
        converted = ResourceError(f"out of memory ({one_line(str(error)) or 'MemoryError'})")
    elif isinstance(error, sqlite3.OperationalError) and "locked" in str(error):
        converted = ResourceError(f"the project store is busy in another process ({error}); try again")
    elif isinstance(error, PermissionError) or (isinstance(error, OSError) and error.errno == errno.EROFS):
        where = _filename(error)
        converted = ResourceError(f"cannot write{f' {where}' if where else ''}: {error.strerror}")
    else:
        return error
    converted.__cause__ = error
    return converted


def exit_code_of(error: BaseException) -> int:
    return int(getattr(as_engine_error(error), "exit_code", EXIT_FAILED))


def user_message(error: BaseException) -> str:
    """One line for the user: the engine's own message, else the library's with its type."""
    converted = as_engine_error(error)
    if isinstance(converted, EngineError):
        return one_line(str(converted)) or type(converted).__name__
    text = one_line(str(error))
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def one_line(text: str) -> str:
    """Collapse a multi-line message (torch's advice, tracebacks in messages) to its first real line."""
    lines = [line.strip() for line in str(text).splitlines() if line.strip()]
    return lines[0] if lines else ""


def printable_path(path: os.PathLike | str) -> str:
    """A path as text that can always be printed or written to JSON (undecodable bytes shown as \\xNN)."""
    raw = os.fsencode(path)
    return raw.decode("utf-8", errors="backslashreplace")


def _filename(error: BaseException) -> str:
    name = getattr(error, "filename", None)
    if not name:
        return ""
    # a temp file beside the target names the target, not the temp file
    base = os.path.basename(os.fsdecode(name))
    if base.startswith(".") and base.endswith(".tmp") and base.count(".") >= 3:
        name = os.path.join(os.path.dirname(os.fsdecode(name)), base[1:].rsplit(".", 2)[0])
    return printable_path(name)
