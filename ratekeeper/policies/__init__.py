"""oslo.policy rules defined in code, one module per endpoint family.

Each module (``list_rules()``) is registered under the entry point group
``ratekeeper.policies``, the built-in ones as any other package's: a plugin
family brings its rules the same way. ``base`` (the shared check strings)
comes first, the others by entry point name.
"""
import importlib.metadata
import itertools

NAMESPACE = 'ratekeeper.policies'


def families():
    entry_points = sorted(importlib.metadata.entry_points(group=NAMESPACE),
                          key=lambda ep: (ep.name != 'base', ep.name))
    return tuple(ep.load() for ep in entry_points)


def list_rules():
    return list(itertools.chain.from_iterable(
        family.list_rules() for family in families()))
