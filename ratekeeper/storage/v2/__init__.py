"""Version 2 storage: rated points in an analytic backend.

One small interface; backends are found through the entry point group
``ratekeeper.storage.v2.backends`` and chosen by ``[storage] backend``.

Conventions shared by every backend:

- datetimes in and out are timezone-aware UTC;
- ``filters`` maps an attribute key (a groupby or metadata key) to the list
  of accepted values: values of one key are OR-ed, keys are AND-ed;
- ``metric_types`` is a list of types (empty or None: every type);
- a point is in [begin, end) when its period begins in it;
- groupby ``type`` is the metric type, ``time`` the collect period that
  holds the point, and ``day_of_the_year``, ``week_of_the_year``, ``month``
  and ``year`` are taken from the point when it carries them, else derived
  from its period start (as CloudKitty's collector does).
"""
import abc

# the strftime format of each calendar attribute a point may be grouped by
CALENDAR_FORMATS = {
    'day_of_the_year': '%-j',
    'week_of_the_year': '%U',
    'month': '%-m',
    'year': '%Y',
}


class StorageError(Exception):
    """The backend failed or is out of reach (the API answers 503)."""


class Unreachable(StorageError):
    """The backend is out of reach (down, or the connection went away)."""


class BaseStorage(abc.ABC):
    # Whether several processes (API workers, hosts) may use the storage
    # at once; [api] workers > 1 is refused otherwise.
    shared_by_processes = False

    def __init__(self, conf):
        self.conf = conf
        self.period = conf.collect.period

    @abc.abstractmethod
    def init(self):
        """Create what the backend needs (tables, databases); idempotent."""

    @abc.abstractmethod
    def push(self, batch):
        """Store a dataframe.PointBatch, all of it or nothing."""

    @abc.abstractmethod
    def retrieve(self, begin, end, filters=None, metric_types=None,
                 offset=0, limit=100):
        """Points in [begin, end), oldest first, paginated by point.

        Returns {'total': points matching, 'dataframes': wire frames}.
        """

    @abc.abstractmethod
    def stream(self, begin, end, filters=None, metric_types=None,
               batch_size=5000):
        """Yield lists of points, each point a tuple (begin, end, type,
        unit, qty, price, groupby_dict, metadata_dict, description) with
        aware UTC datetimes (description: the metric's, or None), ordered
        by period begin then insertion order; all points in [begin, end)
        matching filters/metric_types (begin/end may be None =
        unbounded)."""

    @abc.abstractmethod
    def total(self, begin, end, groupby=None, filters=None,
              metric_types=None, offset=0, limit=None):
        """Sums of qty and price, grouped.

        Returns {'total': number of groups, 'results': [row, ...]} where a
        row is a dict: begin, end, qty, rate, then each groupby key but
        ``time`` in the order asked (a missing attribute reads '').
        Without ``time`` every row spans [begin, end); with it, its period.
        Periods without points have no row.
        """

    @abc.abstractmethod
    def delete(self, begin=None, end=None, filters=None):
        """Remove the points in [begin, end) that match ``filters``."""

    @abc.abstractmethod
    def scope_ids(self, begin, end, scope_key):
        """Distinct values of ``scope_key`` among points in [begin, end)."""

    def close(self):
        """Release connections; the object is unusable afterwards."""
