"""Pecan's argument specs, computed once per controller function.

Pecan routes every request by asking for the argument spec of each
controller on the way (seven times for /v1/report/total), and its
``pecan.compat.getargspec`` builds a new namedtuple class on every call
(``collections.namedtuple`` compiles source with ``eval``): about 55 µs a
call, 0.4 ms of every v1 request. A controller's signature does not change
while the process runs, so :func:`install` points pecan at a version
remembering each function's spec.
"""
import collections
import functools
import inspect

from pecan import util as pecan_util

ArgSpec = collections.namedtuple('ArgSpec', 'args varargs keywords defaults')


@functools.lru_cache(maxsize=4096)
def _spec_of(function):
    args, varargs, keywords, defaults = inspect.getfullargspec(function)[:4]
    return tuple(args), varargs, keywords, defaults


def getargspec(function):
    """pecan.compat.getargspec's answer, from the memo. A bound method
    has its function's spec (getfullargspec keeps ``self`` either way);
    ``args`` is a fresh list, as pecan's callers may change it."""
    target = getattr(function, '__func__', function)
    try:
        args, varargs, keywords, defaults = _spec_of(target)
    except TypeError:  # unhashable callable: no memo
        args, varargs, keywords, defaults = inspect.getfullargspec(
            function)[:4]
    return ArgSpec(list(args), varargs, keywords, defaults)


def install():
    """Make pecan's routing use the memo (idempotent)."""
    pecan_util._getargspec = getargspec
