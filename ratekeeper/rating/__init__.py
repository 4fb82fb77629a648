"""Rating modules: a registry found through entry points, their states in
the database, and the pipeline that prices a batch with them.

A module is a class registered under the entry point group
``ratekeeper.rating.modules`` (so another package can add one) and built
with the configuration. It prices a dataframe.PointBatch in place by
adding to ``batch.price``. Whether it runs, and in which order (highest
priority first, as CloudKitty), is kept in the core table rk_module_states.
A module's configuration API, if it has one, is registered apart under
the module's name (see ratekeeper.api.v1.module_config).
"""
import dataclasses
import decimal
import threading
import time

from stevedore import extension

from ratekeeper import dataframe
from ratekeeper import db
from ratekeeper import errors
from ratekeeper.db import models

NAMESPACE = 'ratekeeper.rating.modules'
POLL_SECONDS = 1.0  # how stale another process's module change may be


class RatingModule:
    """What every rating module provides."""

    name = None
    description = ''
    hot_config = False          # rule changes apply without a reload
    default_enabled = False

    def __init__(self, conf):
        self.conf = conf

    def always_enabled(self):
        return False

    def process(self, batch, tenant_scoped=True):
        """Add this module's price to every point of ``batch``; without
        ``tenant_scoped`` only rules for every tenant apply (quotes)."""
        raise NotImplementedError

    def quote(self, batch):
        """The Decimal price this module gives each point of ``batch``
        with the rules for every tenant (a quote's). By default the points
        are priced as ingest prices them, in floats."""
        priced = dataclasses.replace(batch, price=[0.0] * len(batch))
        self.process(priced, tenant_scoped=False)
        return [decimal.Decimal(repr(price)) for price in priced.price]

    def quote_into(self, batch, prices):
        """The Decimal prices of ``batch`` after this module, given those
        of the modules before it (a quote's pipeline). By default this
        module's own prices are added."""
        own = self.quote(batch)
        if not own:
            return prices
        return [price + mine for price, mine in zip(prices, own)]

    def reload(self):
        """Forget anything cached from the database."""


class ModuleNotFound(errors.NotFound):
    pass


class PriceOutOfRange(errors.BadRequest):
    code = errors.RATING_FAILED


def _check_prices(batch):
    """Refuse prices storage cannot sum (a cost of 1e11 on a quantity of
    1e14 is priced 1e25), as a sent price out of range is."""
    try:
        dataframe.check_numbers(batch.price, 'price')
    except dataframe.InvalidDataframe as exc:
        raise PriceOutOfRange('A point is priced %s (%s).'
                              % (exc.reason, exc.path)) from None


class Registry:
    """The modules installed, and their states."""

    def __init__(self, conf):
        self.conf = conf
        self._lock = threading.Lock()
        self._states = None
        self.modules = self._load()

    def _load(self):
        manager = extension.ExtensionManager(
            NAMESPACE, invoke_on_load=True, invoke_args=(self.conf,))
        return {ext.name: ext.obj for ext in sorted(manager,
                                                    key=lambda e: e.name)}

    def reload(self):
        with self._lock:
            for module in self.modules.values():
                module.reload()
            self.modules = self._load()
            self._states = None

    def refresh(self):
        """Read the module states and rules from the database at their
        next use: what another process changed less than POLL_SECONDS ago
        applies too (a reprocessing asked right after a rule change)."""
        self._states = None
        for module in self.modules.values():
            module.reload()

    def get(self, name):
        module = self.modules.get(name)
        if module is None:
            raise ModuleNotFound('Module not found.')
        return module

    def states(self):
        """{name: (enabled, priority)} of every installed module; read
        from the database at most every POLL_SECONDS (at once after an
        update made by this process)."""
        now = time.monotonic()
        cached = self._states
        if cached is not None and now - cached[0] < POLL_SECONDS:
            return cached[1]
        states = self._read_states()
        self._states = (now, states)
        return states

    def _read_states(self):
        with db.transaction(self.conf) as session:
            rows = {row.name: row for row in session.query(
                models.ModuleState).filter(
                    models.ModuleState.name.in_(list(self.modules)))}
        return {name: self._state(module, rows.get(name))
                for name, module in self.modules.items()}

    def state(self, name):
        return self.states()[self.get(name).name]

    @staticmethod
    def _state(module, row):
        enabled = module.default_enabled if row is None else row.enabled
        priority = (row.priority if row is not None else 1) or 1
        if module.always_enabled():
            return True, 1
        return bool(enabled), priority

    def update(self, name, enabled=None, priority=None):
        """Change what is given; returns the new (enabled, priority)."""
        module = self.get(name)
        with db.transaction(self.conf) as session:
            row = session.get(models.ModuleState, name)
            if row is None:
                row = models.ModuleState(
                    name=name, enabled=module.default_enabled, priority=1)
                session.add(row)
            if enabled is not None and enabled != row.enabled:
                row.enabled = enabled
            if priority is not None and priority != row.priority:
                row.priority = priority
        self._states = None
        return self.state(name)

    def enabled_in_order(self):
        states = self.states()
        running = [(states[name][1], name) for name in self.modules
                   if states[name][0]]
        running.sort(key=lambda item: (-item[0], item[1]))
        return [self.modules[name] for _, name in running]

    def rate(self, batch, tenant_scoped=True):
        """Price ``batch`` from zero with every enabled module, in order."""
        self._price(batch, tenant_scoped)
        _check_prices(batch)
        return batch

    def _price(self, batch, tenant_scoped=True):
        batch.price = [0.0] * len(batch)
        for module in self.enabled_in_order():
            module.process(batch, tenant_scoped)

    def quote(self, batch):
        """The exact total of ``batch`` priced by every enabled module, each
        given the prices of those before it."""
        prices = [decimal.Decimal(0)] * len(batch)
        for module in self.enabled_in_order():
            prices = module.quote_into(batch, prices)
        return sum(prices, decimal.Decimal(0))

    def rate_points(self, batch, indexes):
        """Price only the points at ``indexes``; the others keep theirs."""
        kept = list(batch.price)
        self._price(batch)
        priced = batch.price
        for i in indexes:
            kept[i] = priced[i]
        batch.price = kept
        _check_prices(batch)
        return batch


def one_per_conf(factory):
    """A function giving the one ``factory(conf)`` of each configuration
    object (built on first use; ``.made`` holds them)."""
    made, lock = {}, threading.Lock()

    def get(conf):
        with lock:
            thing = made.get(id(conf))
            if thing is None or thing.conf is not conf:
                thing = made[id(conf)] = factory(conf)
            return thing
    get.made = made
    return get


get_registry = one_per_conf(Registry)
