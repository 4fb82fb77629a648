"""Where rated points come from: CloudKitty's v1 SQL storage, CloudKitty's
InfluxDB storage, or a ratekeeper storage.

Every source has the same four methods:

- ``describe()``: a text naming it (part of the resume checkpoint's key);
- ``window()``: (first period begin, last period end) of its points, or
  None when it has none;
- ``batches(begin, end, size)``: PointBatches of at most ``size`` points
  whose period begins in [begin, end), in order of period begin, read as
  they are yielded (memory stays bounded whatever the size);
- ``totals(begin, end)``: {(month 'YYYY-MM', scope, type): [qty, price]}.
"""
import datetime
import itertools
import urllib.parse

import orjson
import sqlalchemy as sa

from ratekeeper import dataframe
from ratekeeper import metrics
from ratekeeper.importer import ImportRefused

UTC = datetime.timezone.utc
# CloudKitty's InfluxDB layout (cloudkitty/storage/v2/influx.py): one
# measurement, groupby attributes and the type as tags, metadata and the
# numbers as fields, the keys of each kind listed in two fields.
INFLUX_MEASUREMENT = 'dataframes'
INFLUX_PERIOD_FIELD = '__ck_collect_period'
# where CloudKitty 25 writes a point's description (a field it never reads
# back; its processor loses descriptions before storage, bug B9)
INFLUX_DESCRIPTION_FIELD = 'description'
# CloudKitty's default metrics group by these; a v1 point of a type the
# metrics configuration does not know keeps them as groupby.
DEFAULT_GROUPBY = ('id', 'user_id', 'project_id')
INFLUX_CHUNK = 10000
EARLIEST = datetime.datetime(1970, 1, 1, tzinfo=UTC)


def month_of(moment):
    return moment.strftime('%Y-%m')


def add_total(totals, moment, scope, metric_type, qty, price):
    entry = totals.setdefault((month_of(moment), scope or '', metric_type),
                              [0.0, 0.0])
    entry[0] += float(qty or 0)
    entry[1] += float(price or 0)


def aware(moment):
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def naive(moment):
    return moment.astimezone(UTC).replace(tzinfo=None)


def batched(points, size):
    """PointBatches of at most ``size`` of ``points``, each point a tuple
    (begin, end, type, unit, qty, price, groupby, metadata, description);
    without the description (a source that has none) every point of the
    batch has none."""
    batch = dataframe.PointBatch()
    columns = _columns(batch)
    for point in points:
        for column, value in zip(columns, point):
            column.append(value)
        if len(batch) >= size:
            yield batch
            batch = dataframe.PointBatch()
            columns = _columns(batch)
    if len(batch):
        yield batch


def _columns(batch):
    return (batch.begin, batch.end, batch.type, batch.unit, batch.qty,
            batch.price, batch.groupby, batch.metadata, batch.description)


def groupby_keys_by_type(conf):
    """{metric type: its groupby keys} from the metrics configuration; a
    metric is stored under its alt_name when it has one."""
    try:
        document = metrics.load(conf) or {}
    except metrics.Unavailable:
        return {}
    keys = {}
    for name, metric in (document.get('metrics') or {}).items():
        if isinstance(metric, dict):
            groupby = frozenset(metric.get('groupby') or ())
            keys[name] = keys[metric.get('alt_name') or name] = groupby
    return keys


class CloudKittyV1Storage:
    """The ``rated_data_frames`` table of CloudKitty's v1 SQL storage.

    A row keeps groupby and metadata merged in ``desc``: they are split
    again by the metrics configuration's groupby keys (plus the scope key,
    which holds the row's tenant when ``desc`` lacks it)."""

    def __init__(self, engine, conf):
        self.engine = engine
        self.scope_key = conf.collect.scope_key
        self.groupby_keys = groupby_keys_by_type(conf)
        self.default_groupby = frozenset(DEFAULT_GROUPBY) | {self.scope_key}

    def describe(self):
        return 'cloudkitty-v1:%s' % self.engine.url.render_as_string(
            hide_password=True)

    def window(self):
        with self.engine.connect() as connection:
            first, last = connection.execute(sa.text(
                'SELECT MIN(begin), MAX(%s) FROM rated_data_frames'
                % self._quoted('end'))).one()
        if first is None:
            return None
        return aware(_datetime(first)), aware(_datetime(last))

    def _quoted(self, name):
        return self.engine.dialect.identifier_preparer.quote(name)

    def _split(self, metric_type, tenant_id, desc):
        keys = self.groupby_keys.get(metric_type, self.default_groupby)
        groupby, metadata = {}, {}
        for key, value in desc.items():
            target = groupby if key in keys or key == self.scope_key \
                else metadata
            target[key] = value
        if tenant_id is not None and self.scope_key not in groupby:
            groupby[self.scope_key] = tenant_id
        return groupby, metadata

    def batches(self, begin, end, size):
        return batched(self._points(begin, end, size), size)

    def _points(self, begin, end, size):
        query = sa.text(
            'SELECT begin, %s, res_type, unit, qty, rate, tenant_id, %s '
            'FROM rated_data_frames WHERE begin >= :begin AND begin < :end '
            'ORDER BY begin, id' % (self._quoted('end'), self._quoted('desc'))
        ).columns(qty=sa.Numeric(15, 5, asdecimal=False), rate=sa.Float)
        moments = Moments()
        with self.engine.connect() as connection:
            rows = connection.execution_options(
                stream_results=True, yield_per=size).execute(
                    query, {'begin': naive(begin), 'end': naive(end)})
            for (first, last, metric_type, unit, qty, price, tenant_id,
                 desc) in rows:
                groupby, metadata = self._split(
                    metric_type, tenant_id, orjson.loads(desc or '{}'))
                yield (moments[first], moments[last], metric_type, unit, qty,
                       price or 0.0, groupby, metadata)

    def _price_sum(self):
        # ``rate`` is a FLOAT column: single precision on MariaDB/MySQL,
        # whose rows read back as their 6-digit text (0.01) while SUM()
        # adds the binary singles (0.0099999998). Sum what rows read.
        if self.engine.dialect.name in ('mysql', 'mariadb'):
            return 'SUM(CAST(CAST(rate AS CHAR) AS DOUBLE))'
        return 'SUM(rate)'

    def totals(self, begin, end):
        query = sa.text(
            'SELECT tenant_id, res_type, begin, SUM(qty), %s '
            'FROM rated_data_frames WHERE begin >= :begin AND begin < :end '
            'GROUP BY tenant_id, res_type, begin' % self._price_sum()
        ).columns(begin=sa.DateTime)
        totals = {}
        with self.engine.connect() as connection:
            for scope, metric_type, first, qty, price in connection.execute(
                    query, {'begin': naive(begin), 'end': naive(end)}):
                add_total(totals, first, scope, metric_type, qty, price)
        return totals


class Moments(dict):
    """Stored datetimes (text on SQLite) as aware UTC, each distinct one
    converted once: a period's begin repeats for all its points."""

    def __missing__(self, raw):
        moment = self[raw] = aware(_datetime(raw))
        return moment


def _datetime(value):
    """SQLite hands MIN()/MAX() of a DATETIME back as text."""
    if isinstance(value, str):
        return datetime.datetime.fromisoformat(value)
    return value


class CloudKittyInfluxDB:
    """CloudKitty's InfluxDB (1.x) storage, read over HTTP with chunked
    responses, one JSON chunk at a time."""

    def __init__(self, url, conf, timeout=30):
        parsed = urllib.parse.urlsplit(url)
        if parsed.scheme not in ('influxdb', 'influxdbs') or \
                not parsed.hostname or not parsed.path.strip('/'):
            raise ImportRefused('--influxdb takes influxdb://HOST:PORT/'
                                'DATABASE, not %r' % url)
        scheme = 'https' if parsed.scheme == 'influxdbs' else 'http'
        self.endpoint = '%s://%s:%d' % (scheme, parsed.hostname,
                                        parsed.port or 8086)
        self.database = parsed.path.strip('/')
        self.auth = ((urllib.parse.unquote(parsed.username),
                      urllib.parse.unquote(parsed.password or ''))
                     if parsed.username else None)
        self.scope_key = conf.collect.scope_key
        self.timeout = timeout
        import requests  # a dependency of the influxdb client
        self.session = requests.Session()
        self._check()

    def describe(self):
        return 'cloudkitty-influxdb:%s/%s' % (self.endpoint, self.database)

    def _check(self):
        try:
            answer = self._get('/ping')
        except OSError as exc:
            raise ImportRefused('InfluxDB at %s is unreachable: %s'
                                % (self.endpoint, exc)) from None
        if answer.status_code >= 300:
            raise ImportRefused('%s does not answer as InfluxDB (HTTP %d)'
                                % (self.endpoint, answer.status_code))
        names = [values[0] for series in self._series('SHOW DATABASES')
                 for values in series.get('values') or []]
        if self.database not in names:
            raise ImportRefused('InfluxDB at %s has no database %r'
                                % (self.endpoint, self.database))

    def _get(self, path, **params):
        import requests
        try:
            return self.session.get(self.endpoint + path, params=params,
                                    auth=self.auth, timeout=self.timeout,
                                    stream=params.get('chunked') == 'true')
        except requests.RequestException as exc:
            raise OSError(str(exc)) from None

    def _series(self, query):
        answer = self._get('/query', q=query, db=self.database, epoch='s')
        document = answer.json()
        result = (document.get('results') or [{}])[0]
        if 'error' in result or 'error' in document:
            raise ImportRefused('InfluxDB refused %r: %s' % (
                query, result.get('error') or document.get('error')))
        return result.get('series') or []

    def _where(self, begin, end):
        return ("WHERE time >= %d AND time < %d"
                % (begin.timestamp() * 1e9, end.timestamp() * 1e9))

    def window(self):
        first = self._series('SELECT FIRST("qty") FROM %s'
                             % INFLUX_MEASUREMENT)
        last = self._series('SELECT LAST("%s") FROM %s'
                            % (INFLUX_PERIOD_FIELD, INFLUX_MEASUREMENT))
        if not first:
            return None
        begin = first[0]['values'][0][0]
        moment, period = last[0]['values'][0][:2]
        return _from_epoch(begin), _from_epoch(moment + int(period))

    def _rows(self, query):
        """(the tags grouped by, the row as a dict) of each row of a
        query, streamed chunk by chunk."""
        answer = self._get('/query', q=query, db=self.database, epoch='s',
                           chunked='true', chunk_size=str(INFLUX_CHUNK))
        # one JSON document per line, a line per chunk of INFLUX_CHUNK rows
        for line in answer.iter_lines(chunk_size=1 << 20):
            if not line:
                continue
            result = (orjson.loads(line).get('results') or [{}])[0]
            if 'error' in result:
                raise ImportRefused('InfluxDB failed: %s' % result['error'])
            for series in result.get('series') or []:
                tags, columns = series.get('tags') or {}, series['columns']
                for values in series['values']:
                    yield tags, dict(zip(columns, values))

    def _keys(self, kind):
        return {values[0] for series in self._series(
                    'SHOW %s KEYS FROM %s' % (kind, INFLUX_MEASUREMENT))
                for values in series.get('values') or []}

    def _grouping(self):
        """GROUP BY the tags that share a field's name: SELECT * alone
        names such a tag <name>_1 in every point once one point has the
        field (CloudKitty's own reads then take the field for the tag)."""
        shadowed = sorted(self._keys('FIELD') & self._keys('TAG'))
        if not shadowed:
            return ''
        return ' GROUP BY ' + ', '.join(
            '"%s"' % key.replace('\\', '\\\\').replace('"', '\\"')
            for key in shadowed)

    def batches(self, begin, end, size):
        return batched(self._points(begin, end), size)

    def _points(self, begin, end):
        query = 'SELECT * FROM %s %s%s' % (
            INFLUX_MEASUREMENT, self._where(begin, end), self._grouping())
        for grouped, row in self._rows(query):
            first = _from_epoch(row['time'])
            period = datetime.timedelta(seconds=int(row[INFLUX_PERIOD_FIELD]))
            metadata = _attributes(row, row.get('metadata'))
            description = row.get(INFLUX_DESCRIPTION_FIELD)
            if INFLUX_DESCRIPTION_FIELD in metadata or \
                    not isinstance(description, str):
                description = None  # the field holds a metadata value
            tags = dict(row, **{k: v or None for k, v in grouped.items()}) \
                if grouped else row
            yield (first, first + period, tags['type'], row['unit'],
                   row['qty'], row['price'] or 0.0,
                   _attributes(tags, row.get('groupby')), metadata,
                   description)

    def totals(self, begin, end):
        query = ('SELECT SUM("qty"), SUM("price") FROM %s %s GROUP BY '
                 'time(1d), "type", "%s" fill(none)'
                 % (INFLUX_MEASUREMENT, self._where(begin, end),
                    self.scope_key))
        totals = {}
        for series in self._series(query):
            tags = series.get('tags') or {}
            for moment, qty, price in series['values']:
                add_total(totals, _from_epoch(moment),
                          tags.get(self.scope_key), tags.get('type'), qty,
                          price)
        return totals


def _from_epoch(seconds):
    return datetime.datetime.fromtimestamp(seconds, UTC)


def _attributes(row, keys):
    """The attributes named in a '|'-joined key list, absent ones (null
    values) left out as CloudKitty leaves them."""
    if not keys:
        return {}
    return {key: row.get(key) for key in keys.split('|')
            if key and row.get(key) is not None}


class RatekeeperStorage:
    """A configured ratekeeper storage (the source of a migration)."""

    def __init__(self, storage, conf, label):
        self.storage = storage
        self.scope_key = conf.collect.scope_key
        self.label = label

    def describe(self):
        return self.label

    def window(self):
        result = self.storage.total(EARLIEST, dataframe.LATEST_END,
                                    groupby=['time'], limit=None)
        rows = result['results']
        if not rows:
            return None
        return (min(aware(row['begin']) for row in rows),
                max(aware(row['end']) for row in rows))

    def batches(self, begin, end, size):
        points = itertools.chain.from_iterable(
            self.storage.stream(begin, end, batch_size=size))
        return batched(points, size)

    def totals(self, begin, end):
        return storage_totals(self.storage, begin, end, self.scope_key)


def months(begin, end):
    """[month begin, month end) slices covering [begin, end)."""
    current = begin
    while current < end:
        following = (current.replace(day=1, hour=0, minute=0, second=0,
                                     microsecond=0)
                     + datetime.timedelta(days=32)).replace(day=1)
        yield current, min(following, end)
        current = following


def storage_totals(storage, begin, end, scope_key):
    """Totals of a ratekeeper storage, one query per month."""
    totals = {}
    for month_begin, month_end in months(begin, end):
        result = storage.total(month_begin, month_end,
                               groupby=['type', scope_key], limit=None)
        for row in result['results']:
            add_total(totals, month_begin, row.get(scope_key), row['type'],
                      row['qty'], row['rate'])
    return totals
