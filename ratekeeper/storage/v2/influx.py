"""The v2 backend on InfluxDB 1.x, in CloudKitty's layout.

A database CloudKitty 25 fills reads here, and what ratekeeper writes
CloudKitty reads: one measurement, ``dataframes``; a point's groupby
attributes and its metric ``type`` are tags; its metadata attributes,
``qty``, ``price`` (floats), ``unit``, and the key lists ``groupby`` and
``metadata`` (keys joined by ``|``) are fields; its time is the period
begin (the end is begin + ``[collect] period``, as CloudKitty reads it).

A point's description (the metric's) is the field ``description``, where
CloudKitty 25 writes it too (and never reads it back); a point whose
metadata has a ``description`` key keeps that value there instead, as
the key list says (its own description is then not stored).

ratekeeper adds two fields CloudKitty does not read, ``rk_push`` (a
number rising with the push time) and ``rk_seq`` (the point's rank in its
push): within a period,
points come back in the order they were pushed (CloudKitty's own points,
without it, in series order). As in CloudKitty, a point with the same
tags (groupby and type) and period as a stored one replaces it.

What the layout cannot give back is refused (400), before anything is
written: a metadata key named as one of its own fields (``qty``,
``price``, ``unit``, ``groupby``, ``metadata``, ``rk_push``, ``rk_seq``;
CloudKitty writes the point's value over it) or ``time`` (InfluxDB drops
it), a groupby key ``type`` (the metric's tag) or ``time``, and a key
holding ``|``. A metadata key named as a tag (``type``, or another
point's groupby key) is stored: reads group by the tags that share a
field's name, so that those come apart from the fields.

total() is summed by InfluxDB (float sums, as CloudKitty's) when every
key it filters or groups on is a tag and never a field; otherwise, and
for the other reads, InfluxDB selects time and type and the rest
(filters on metadata, calendar keys, groupby on any attribute, exact
decimal sums) is done on the points read back. Values reach queries as
bind parameters and keys as quoted identifiers.
"""
import datetime
import decimal
import itertools
import threading
import time

import influxdb
from influxdb import exceptions as influx_errors
import requests

from ratekeeper import dataframe
from ratekeeper import errors
from ratekeeper.storage import v2 as storage_v2
from ratekeeper.storage.v2 import influx_rollup
from ratekeeper.storage.v2 import query

MEASUREMENT = 'dataframes'
UTC = datetime.timezone.utc
EPOCH = datetime.datetime(1970, 1, 1, tzinfo=UTC)
LAST_MOMENT = datetime.datetime(2262, 1, 1, tzinfo=UTC)  # int64 ns
CENT = decimal.Decimal('1e-12')
SEQ_FIELD = 'rk_seq'
DESCRIPTION_FIELD = 'description'
PUSH_FIELD = 'rk_push'
UNREACHABLE = (requests.exceptions.RequestException, OSError)
# Names the layout keeps for itself: a metadata key of one of these names
# would be stored as (or over) that field, a groupby key ``type`` over
# the metric's tag; InfluxDB drops a field named ``time`` and refuses
# such a tag
LAYOUT_FIELDS = frozenset({'qty', 'price', 'unit', 'groupby', 'metadata',
                           PUSH_FIELD, SEQ_FIELD, 'time'})
LAYOUT_TAGS = frozenset({'type', 'time'})
KEY_LIST_SEPARATOR = '|'


def quote_identifier(name):
    return '"%s"' % name.replace('\\', '\\\\').replace('"', '\\"')


def rfc3339(moment):
    return moment.astimezone(UTC).strftime('%Y-%m-%dT%H:%M:%S.%fZ')


def parse_time(text):
    return dataframe.parse_datetime(text.replace('Z', '+00:00'))


def exact(value):
    return decimal.Decimal(repr(float(value))).quantize(CENT)


def key_list(text):
    return [key for key in (text or '').split(KEY_LIST_SEPARATOR) if key]


def check_keys(groupby, metadata):
    """InvalidInput unless CloudKitty's layout can give the keys back:
    none of the names it keeps for itself, no ``|`` (it joins the key
    lists with it)."""
    for keys, reserved, kind in ((groupby, LAYOUT_TAGS, 'groupby'),
                                 (metadata, LAYOUT_FIELDS, 'metadata')):
        taken = reserved.intersection(keys)
        if taken:
            raise errors.InvalidInput(
                'InfluxDB (in CloudKitty\'s layout) cannot store a %s key '
                'named %r: it keeps that name for itself.'
                % (kind, sorted(taken)[0]))
        for key in keys:
            if KEY_LIST_SEPARATOR in key:
                raise errors.InvalidInput(
                    'InfluxDB (in CloudKitty\'s layout) cannot store an '
                    'attribute key holding %r: %r.'
                    % (KEY_LIST_SEPARATOR, key))


class InfluxStorage(storage_v2.BaseStorage):
    shared_by_processes = True

    def __init__(self, conf):
        super().__init__(conf)
        self.options = conf.storage_influxdb
        self._local = threading.local()
        self._push_count = itertools.count()
        self.scope_key = conf.collect.scope_key
        self._rollups = influx_rollup.Rollups(self)
        self._keys = (None, None)  # (marker, (field keys, tag keys))

    def _client(self):
        client = getattr(self._local, 'client', None)
        if client is None:
            options = self.options
            verify = options.use_ssl and not options.insecure
            if verify and options.cafile:
                verify = options.cafile
            client = self._local.client = influxdb.InfluxDBClient(
                host=options.host, port=options.port,
                username=options.username, password=options.password,
                database=options.database, ssl=options.use_ssl,
                verify_ssl=verify, timeout=options.timeout)
        return client

    def _call(self, method, *args, **kwargs):
        try:
            return getattr(self._client(), method)(*args, **kwargs)
        except influx_errors.InfluxDBClientError as exc:
            raise storage_v2.StorageError('InfluxDB: %s' % exc) from exc
        except (influx_errors.InfluxDBServerError,) + UNREACHABLE as exc:
            raise storage_v2.StorageError(
                'InfluxDB is out of reach: %s' % exc) from exc

    # -- life cycle -------------------------------------------------------
    def init(self):
        self._call('create_database', self.options.database)

    def close(self):
        client = getattr(self._local, 'client', None)
        if client is not None:
            client.close()
        self._local = threading.local()

    # -- writes -----------------------------------------------------------
    def push(self, batch):
        if not len(batch):
            return
        for moment in (min(batch.begin), max(batch.end)):
            if not EPOCH <= moment < LAST_MOMENT:
                raise errors.InvalidInput(
                    'Periods must lie between 1970-01-01 and 2262-01-01 '
                    'with this storage.')
        push_id = time.time_ns() // 1000 * 1024 + \
            next(self._push_count) % 1024
        descriptions = batch.descriptions()
        points = [self._point(batch, index, push_id, descriptions)
                  for index in range(len(batch))]
        self._call('write_points', points, time_precision='u',
                   retention_policy=self.options.retention_policy,
                   protocol='line')

    def _point(self, batch, index, push_id, descriptions):
        groupby = {k: dataframe.text(v)
                   for k, v in batch.groupby[index].items() if v is not None}
        metadata = {k: dataframe.text(v)
                    for k, v in batch.metadata[index].items()
                    if v is not None}
        check_keys(groupby, metadata)
        fields = dict(metadata)
        fields.update(qty=float(batch.qty[index]),
                      price=float(batch.price[index]),
                      unit=batch.unit[index],
                      groupby=KEY_LIST_SEPARATOR.join(groupby),
                      metadata=KEY_LIST_SEPARATOR.join(metadata))
        fields[PUSH_FIELD] = push_id
        fields[SEQ_FIELD] = index
        if descriptions[index] is not None and \
                DESCRIPTION_FIELD not in fields:
            fields[DESCRIPTION_FIELD] = descriptions[index]
        tags = dict(groupby, type=batch.type[index])
        return '%s%s %s %d' % (
            MEASUREMENT,
            ''.join(',%s=%s' % (tag_text(k), tag_text(v))
                    for k, v in sorted(tags.items()) if k and v),
            ','.join('%s=%s' % (field_key_text(k), field_value(v))
                     for k, v in sorted(fields.items())),
            _micros(batch.begin[index]))

    def delete(self, begin=None, end=None, filters=None):
        if not filters:
            params = query.NamedParams()
            clauses = self._time_clauses(begin, end, params)
            where = ' WHERE ' + ' AND '.join(clauses) if clauses else ''
            self._query('DELETE FROM %s%s' % (MEASUREMENT, where), params)
            self._mark_change(begin, end)
            return
        # InfluxQL deletes by tags and time only: delete each matching
        # point's series at its time
        for point in self._points(begin, end, filters, None):
            moment, tags = point[0], dict(point[6], type=point[2])
            params = query.NamedParams()
            clauses = ['time = %s' % ('$' + _bind(params, rfc3339(moment)))]
            for key, value in tags.items():
                clauses.append('%s = $%s' % (quote_identifier(key),
                                             _bind(params, value)))
            self._query('DELETE FROM %s WHERE %s'
                        % (MEASUREMENT, ' AND '.join(clauses)), params)
        self._mark_change(begin, end)

    def _mark_change(self, begin, end):
        """Write one point into each shard that [begin, end) overlaps,
        so that every process sees its rollups of them are stale
        (InfluxDB counts writes, not deletes)."""
        low = -2 ** 62 if begin is None else _micros(begin)
        high = 2 ** 62 if end is None else _micros(end)
        self._rollups.shards.clear()
        ranges = self._rollups.shard_ranges([None])
        lines = ['%s n=1i %d' % (influx_rollup.MARK_MEASUREMENT,
                                 max(start, low))
                 for start, stop in sorted(set(ranges.values()))
                 if start < high and stop > low]
        if lines:
            self._call('write_points', lines, time_precision='u',
                       retention_policy=self.options.retention_policy,
                       protocol='line')

    # -- reads ------------------------------------------------------------
    def _query(self, text, params, epoch='u'):
        return self._call('query', text, bind_params=dict(params) or None,
                          epoch=epoch)

    def _key_sets(self, marker=None):
        """The field keys and the tag keys of the measurement (kept while
        ``marker``, the shards' change marker, stays the same)."""
        if marker is not None and self._keys[0] == marker:
            return self._keys[1]
        fields, tags = self._query(
            'SHOW FIELD KEYS FROM {0}; SHOW TAG KEYS FROM {0}'.format(
                MEASUREMENT), {})
        keys = ({row['fieldKey'] for row in fields.get_points()},
                {row['tagKey'] for row in tags.get_points()})
        if marker is not None:
            self._keys = (marker, keys)
        return keys

    def _field_keys(self, marker=None):
        return self._key_sets(marker)[0]

    def _tag_filters(self, filters, fields):
        """InfluxQL of the filters on keys that are tags only (never a
        field, nor a calendar key), bound in ``params`` later."""
        return {key: values for key, values in (filters or {}).items()
                if key not in fields
                and key not in storage_v2.CALENDAR_FORMATS}

    def _time_clauses(self, begin, end, params):
        """Bounds moved within [EPOCH, LAST_MOMENT], where every stored
        point lies (the same points): a time literal beyond InfluxDB's
        nanoseconds (after 2262-04-11) is an error there."""
        clauses = []
        if begin is not None:
            clauses.append('time >= $' + _bind(
                params, rfc3339(_stored_range(begin))))
        if end is not None:
            clauses.append('time < $' + _bind(
                params, rfc3339(_stored_range(end))))
        return clauses

    def _points(self, begin, end, filters, metric_types, key_sets=None):
        """The matching points as (begin, end, type, unit, qty, price,
        groupby, metadata, description, seq), in time then push
        order."""
        params = query.NamedParams()
        clauses = self._time_clauses(begin, end, params)
        if metric_types:
            clauses.append('(%s)' % ' OR '.join(
                '"type"::tag = $' + _bind(params, t) for t in metric_types))
        fields, tags = key_sets or self._key_sets()
        if filters:
            for key, values in self._tag_filters(filters, fields).items():
                clauses.append('(%s)' % ' OR '.join(
                    '%s::tag = $%s' % (quote_identifier(key),
                                       _bind(params, str(v)))
                    for v in values))
        where = ' WHERE ' + ' AND '.join(clauses) if clauses else ''
        # SELECT * names a tag <name>_1 in every point once one point of
        # the shards read has a field <name>: such tags are grouped by,
        # so that they come apart from the fields (only those: grouping
        # by every tag makes a page read ~40% slower)
        shadowed = sorted(fields & tags)
        if shadowed:
            where += ' GROUP BY ' + ', '.join(map(quote_identifier,
                                                  shadowed))
        result = self._query('SELECT * FROM %s%s' % (MEASUREMENT, where),
                             params)
        period = datetime.timedelta(seconds=self.period)
        moments = {}
        points = []
        for grouped, row in _tagged_rows(result):
            moment = moments.get(row['time'])
            if moment is None:
                moment = moments[row['time']] = from_micros(row['time'])
            metadata_keys = key_list(row.get('metadata'))
            groupby = {k: (grouped[k] if k in grouped else row.get(k)) or ''
                       for k in key_list(row.get('groupby'))}
            metadata = {k: '' if row.get(k) is None else str(row[k])
                        for k in metadata_keys}
            point = (moment, moment + period,
                     grouped['type'] if 'type' in grouped else row['type'],
                     row.get('unit'),
                     row.get('qty'), row.get('price'), groupby, metadata,
                     None if DESCRIPTION_FIELD in metadata_keys
                     else row.get(DESCRIPTION_FIELD),
                     (row.get(PUSH_FIELD) or 0, row.get(SEQ_FIELD) or 0))
            if _matches(point, filters):
                points.append(point)
        points.sort(key=lambda p: (p[0], p[9]))
        return points

    def retrieve(self, begin, end, filters=None, metric_types=None,
                 offset=0, limit=100):
        paged = self._rollup_page(begin, end, filters, metric_types,
                                  offset, limit)
        if paged is not None:
            return paged
        points = self._points(begin, end, filters, metric_types)
        page = [p[:9] for p in points[offset:offset + limit]]
        return {'total': len(points),
                'dataframes': dataframe.frames_from_rows(page)}

    def stream(self, begin, end, filters=None, metric_types=None,
               batch_size=5000):
        points = [p[:9] for p in self._points(begin, end, filters,
                                              metric_types)]
        for start in range(0, len(points), batch_size):
            yield points[start:start + batch_size]

    def total(self, begin, end, groupby=None, filters=None,
              metric_types=None, offset=0, limit=None):
        groupby = list(groupby or [])
        summed = self._rollup_total(begin, end, groupby, filters,
                                    metric_types, offset, limit)
        if summed is not None:
            return summed
        if self._sums_on_server(begin, end, groupby, filters):
            return self._server_total(begin, end, groupby, filters,
                                      metric_types, offset, limit)
        points = self._points(begin, end, filters, metric_types)
        if not groupby:
            if not points:
                return query.grand_total(begin, end, 0, 0, 0, offset)
            qty = sum(exact(p[4]) for p in points)
            rate = sum(exact(p[5]) for p in points)
            return query.grand_total(begin, end, float(qty), float(rate),
                                     len(points), offset)
        sums = {}
        for point in points:
            group = tuple(self._group_value(point, key) for key in groupby)
            qty, rate = sums.get(group, (0, 0))
            sums[group] = (qty + exact(point[4]), rate + exact(point[5]))
        groups = sorted(sums)
        stop = None if limit is None else offset + limit
        rows = [group + (float(sums[group][0]), float(sums[group][1]))
                for group in groups[offset:stop]]
        return query.grouped_total(rows, groupby, len(groups), begin, end,
                                   self.period)

    def _sums_on_server(self, begin, end, groupby, filters):
        """Whether InfluxDB can sum and group: every attribute asked for
        is a tag, never a field (a field holding it would win over a
        missing tag) and no calendar key; begin and end are known."""
        keys = [k for k in groupby if k not in ('time', 'type')]
        keys += list(filters or {})
        if begin is None or end is None or any(
                k in storage_v2.CALENDAR_FORMATS for k in keys):
            return False
        if not keys:
            return True
        fields = self._field_keys()
        return not fields.intersection(keys)

    def _server_total(self, begin, end, groupby, filters, metric_types,
                      offset, limit):
        """total() summed by InfluxDB (float sums, as CloudKitty's)."""
        params = query.NamedParams()
        clauses = self._time_clauses(begin, end, params)
        if metric_types:
            clauses.append('(%s)' % ' OR '.join(
                '"type"::tag = $' + _bind(params, t) for t in metric_types))
        for key, values in (filters or {}).items():
            clauses.append('(%s)' % ' OR '.join(
                '%s::tag = $%s' % (quote_identifier(key),
                                   _bind(params, str(v))) for v in values))
        dimensions = [quote_identifier(k) for k in groupby if k != 'time']
        if 'time' in groupby:
            dimensions.append('time(%ds)' % int(self.period))
        text = ('SELECT SUM(qty) AS qty, SUM(price) AS price, COUNT(qty) '
                'AS points FROM %s WHERE %s' % (MEASUREMENT,
                                                ' AND '.join(clauses)))
        if dimensions:
            text += ' GROUP BY ' + ', '.join(dimensions)
        result = self._query(text, params)
        rows = []
        for (_, tags), series in result.items():
            tags = tags or {}
            for row in series:
                if not row.get('points'):
                    continue  # an empty time bucket
                group = tuple(from_micros(row['time']) if key == 'time'
                              else tags.get(key) or '' for key in groupby)
                rows.append(group + (row['qty'], row['price']))
        if not groupby:
            if not rows:
                return query.grand_total(begin, end, 0, 0, 0, offset)
            return query.grand_total(begin, end, rows[0][0], rows[0][1], 1,
                                     offset)
        rows.sort(key=lambda row: row[:-2])
        stop = None if limit is None else offset + limit
        return query.grouped_total(rows[offset:stop], groupby, len(rows),
                                   begin, end, self.period)

    def _group_value(self, point, key):
        if key == 'time':
            seconds = int((point[0] - EPOCH).total_seconds())
            return EPOCH + datetime.timedelta(
                seconds=seconds - seconds % int(self.period))
        if key == 'type':
            return point[2]
        value = attribute(point, key)
        return '' if value is None else value

    # -- reads from the day rollups (influx_rollup) -----------------------
    def _rollup_keys(self, begin, end, keys):
        """The change marker when the day rollups can answer a read on
        attribute ``keys`` (tags only: no field, no calendar key) over a
        known window; else None."""
        if begin is None or end is None or begin >= end or any(
                k in storage_v2.CALENDAR_FORMATS for k in keys) or \
                end - begin > influx_rollup.MAX_WINDOW:
            return None
        marker = self._rollups.marker()
        if marker is None or self._field_keys(marker).intersection(keys):
            return None
        return marker

    def _rollup_total(self, begin, end, groupby, filters, metric_types,
                      offset, limit):
        tags = [k for k in groupby if k not in ('time', 'type')]
        if 'time' in groupby and (tags or set(filters or ()) - {
                self.scope_key}):
            return None  # the (time, type, scope) cells know no other tag
        marker = self._rollup_keys(begin, end, tags + list(filters or {}))
        if marker is None:
            return None
        low, high = _micros(begin), _micros(end)
        types = frozenset(metric_types or ())
        if 'time' in groupby:
            days = self._rollups.fresh_days(low, high, marker)
            sums = self._time_sums(days, low, high, types,
                                   _scopes(filters, self.scope_key),
                                   'type' in groupby)
            groups = sorted(sums)
            sums = {tuple(g[0] if k == 'time' else g[1] for k in groupby):
                    sums[g] for g in groups}
        else:
            days = self._rollups.covering(low, high, marker)
            if days is None:
                return None
            wanted = tuple(sorted((k, frozenset(str(v) for v in values))
                                  for k, values in (filters or {}).items()))
            sums = {}
            for day in days:
                for group, cell in day.view(tuple(groupby), wanted,
                                            types).items():
                    total = sums.setdefault(group, [0, 0, 0])
                    total[0] += cell[0]
                    total[1] += cell[1]
                    total[2] += cell[2]
        if not groupby:
            qty, rate, count = sums.get((), (0, 0, 0))
            return query.grand_total(begin, end, influx_rollup.to_float(qty),
                                     influx_rollup.to_float(rate), count,
                                     offset)
        groups = sorted(sums)
        stop = None if limit is None else offset + limit
        rows = [group + (influx_rollup.to_float(sums[group][0]),
                         influx_rollup.to_float(sums[group][1]))
                for group in groups[offset:stop]]
        return query.grouped_total(rows, groupby, len(groups), begin, end,
                                   self.period)

    def _time_sums(self, days, low, high, types, scopes, by_type):
        """Sums per (period start, type or '') of the points in [low,
        high) from the days' (time, type, scope) cells."""
        period = int(self.period) * 10 ** 6
        sums = {}
        for day in days:
            for (moment, kind, scope), cell in day.times.items():
                if not low <= moment < high or (types and kind not in types
                                                or scopes is not None
                                                and scope not in scopes):
                    continue
                group = (from_micros(moment - moment % period),
                         kind if by_type else '')
                total = sums.setdefault(group, [0, 0, 0])
                total[0] += cell[0]
                total[1] += cell[1]
                total[2] += cell[2]
        return sums

    def _rollup_page(self, begin, end, filters, metric_types, offset,
                     limit):
        """A page of points: the rollups count the points of each
        period (each day when filtered on tags), and only the periods
        the page falls in are read."""
        marker = self._rollup_keys(begin, end, list(filters or {}))
        if marker is None or any('' in map(str, values)
                                 for values in (filters or {}).values()):
            return None  # (an empty value: a point's own groupby decides)
        low, high = _micros(begin), _micros(end)
        types = frozenset(metric_types or ())
        scopes = _scopes(filters, self.scope_key)
        if filters and scopes is None:
            days = self._rollups.covering(low, high, marker)
            if days is None:
                return None
            wanted = tuple(sorted((k, frozenset(str(v) for v in values))
                                  for k, values in filters.items()))
            buckets = []
            for day in days:
                count = sum(c[2] for c in day.view((), wanted,
                                                   types).values())
                if count:
                    buckets.append((day.first, day.last + 1, count))
        else:
            days = self._rollups.fresh_days(low, high, marker)
            counts = {}
            for day in days:
                for (moment, kind, scope), cell in day.times.items():
                    if low <= moment < high and (
                            not types or kind in types) and (
                            scopes is None or scope in scopes):
                        counts[moment] = counts.get(moment, 0) + cell[2]
            buckets = [(t, t + 1, counts[t]) for t in sorted(counts)]
        total = sum(b[2] for b in buckets)
        seen, start, stop = 0, None, None
        for first, last, count in buckets:
            if stop is not None and seen >= offset + limit:
                break
            if seen + count > offset:
                if start is None:
                    start, skip = first, offset - seen
                stop = last
            seen += count
        page = []
        if start is not None and limit:
            points = self._points(from_micros(start), from_micros(stop),
                                  filters, metric_types,
                                  self._key_sets(marker))
            page = [p[:9] for p in points[skip:skip + limit]]
        return {'total': total, 'dataframes': dataframe.frames_from_rows(page)}

    def scope_ids(self, begin, end, scope_key):
        if scope_key not in self._field_keys() and \
                scope_key not in storage_v2.CALENDAR_FORMATS:
            # a tag: one query of the values present in the window
            params = query.NamedParams()
            clauses = self._time_clauses(begin, end, params)
            where = ' WHERE ' + ' AND '.join(clauses) if clauses else ''
            result = self._query('SELECT COUNT(qty) FROM %s%s GROUP BY %s'
                                 % (MEASUREMENT, where,
                                    quote_identifier(scope_key)), params)
            values = {(tags or {}).get(scope_key) or None
                      for (_, tags), _ in result.items()}
            values.discard(None)
            return sorted(values)
        values = {attribute(p, scope_key)
                  for p in self._points(begin, end, None, None)}
        values.discard(None)
        return sorted(values)


def tag_text(text):
    """A tag key or value, or a field key, in line protocol. InfluxDB 1.x
    keeps a backslash there as it is (the client library doubles it, and
    the server keeps both: a metadata key holding one read back as
    another key). A text it cannot carry is InvalidInput: a line break
    ends the line, and a backslash at the end escapes the separator
    after it (InfluxDB would store a batch's other points and refuse
    those, or read the next field into the key; a push makes every line
    before it writes)."""
    if '\n' in text or text.endswith('\\'):
        raise errors.InvalidInput(
            'InfluxDB cannot store a type, an attribute key or a groupby '
            'value holding a line break or ending with a backslash: %r.'
            % text)
    return (text.replace(' ', '\\ ').replace(',', '\\,')
            .replace('=', '\\='))


def field_key_text(key):
    """tag_text() of a field key, which InfluxDB 1.x reads differently:
    a backslash before a space, comma or equals sign escapes that
    backslash, and the separator then ends the key (such a key is
    InvalidInput)."""
    if any('\\' + separator in key for separator in ' ,='):
        raise errors.InvalidInput(
            'InfluxDB cannot store a metadata key holding a backslash '
            'before a space, a comma or an equals sign: %r.' % key)
    return tag_text(key)


def field_value(value):
    """A field value in line protocol: a text between double quotes,
    where InfluxDB 1.x undoes only an escaped backslash or double quote
    (the client library also writes a line break as ``\\n``, which came
    back as those two characters; inside the quotes a line break does
    not end the line), an integer, or a float."""
    if isinstance(value, str):
        return '"%s"' % value.replace('\\', '\\\\').replace('"', '\\"')
    if isinstance(value, int):
        return '%di' % value
    return repr(value)


def _scopes(filters, scope_key):
    """The scope values ``filters`` asks for when it filters on the scope
    key alone, else None."""
    if not filters or set(filters) != {scope_key}:
        return None
    return frozenset(str(v) for v in filters[scope_key])


def _tagged_rows(result):
    """(the tags grouped by, the row as a dict) of each row of an answer
    (ResultSet.get_points without its per-row checks)."""
    for series in result.raw.get('series', []):
        tags, columns = series.get('tags') or {}, series['columns']
        for values in series['values']:
            yield tags, dict(zip(columns, values))


def _stored_range(moment):
    return min(max(moment, EPOCH), LAST_MOMENT)


def _micros(moment):
    return (moment - EPOCH) // datetime.timedelta(microseconds=1)


def from_micros(value):
    return EPOCH + datetime.timedelta(microseconds=value)


def _bind(params, value):
    params.add(value)
    return 'p%d' % (len(params) - 1)


def attribute(point, key):
    """A point's attribute: groupby wins over metadata, which wins over
    the calendar keys of its period begin; None when it has none."""
    if key in point[6]:
        return point[6][key]
    if key in point[7]:
        return point[7][key]
    if key in storage_v2.CALENDAR_FORMATS:
        return point[0].strftime(storage_v2.CALENDAR_FORMATS[key])
    return None


def _matches(point, filters):
    for key, values in (filters or {}).items():
        if attribute(point, key) not in {str(v) for v in values}:
            return False
    return True
