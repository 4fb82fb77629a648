#!/usr/bin/env python3
"""The ClickHouse server's CPU per 1000 rows inserted, by table layout.

Inserts the shared generator's points (usagegen.py dump), one body an
insert, straight into a table of each layout on a fresh Debian
clickhouse-server (no views), waits for its merges, and prints the
server's user and system CPU per 1000 rows. The layouts are today's
points table and month rollup and the variants weighed against them:
fewer text columns (the four attribute texts as one), a hash as the
month key:

    .venv/bin/python bench/clickhouse_layouts.py -n 400000 --scale 10

Each layout's table is dropped after its measure. On an ext4 without a
journal (these VMs' root file system) the inodes a drop frees make every
file created in their block group in the next minutes cost more system
time, so later measures pay for earlier drops: put the server's data on a
journaled file system there (its directory is made under $TMPDIR):

    truncate -s 4G /var/tmp/ch.img && mkfs.ext4 -q -F /var/tmp/ch.img
    mkdir -p /mnt/chj && mount -o loop /var/tmp/ch.img /mnt/chj
    TMPDIR=/mnt/chj .venv/bin/python bench/clickhouse_layouts.py
"""
import argparse
import datetime
import decimal
import json
import os
import sys

import clickhouse_driver

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..'))
from ratekeeper import dataframe  # noqa: E402
from ratekeeper.storage.v2 import clickhouse as ch_storage  # noqa: E402
from bench import storage_cpu  # noqa: E402
from bench.storage_cpu import USAGEGEN, process_cpu  # noqa: E402
from tests import clickhouse  # noqa: E402

POINT_HEAD = [('begin', "DateTime('UTC')"), ('end', "DateTime('UTC')"),
              ('type', 'String'), ('unit', 'String'), ('qty', 'Float64'),
              ('price', 'Float64'), ('scope', 'String')]
POINT_TAIL = [('push_id', 'UInt64'), ('row', 'UInt32')]
POINTS_ENGINE = ('ENGINE = MergeTree() PARTITION BY toYYYYMM(begin) '
                 'ORDER BY (begin, type, scope, push_id, row)')
MONTH_HEAD = [('type', 'String'), ('scope', 'String'), ('month', 'Date')]
MONTH_SUMS = [('qty', 'Decimal128(12)'), ('price', 'Decimal128(12)'),
              ('n', 'Int64')]
SUMMING = ('ENGINE = SummingMergeTree() PARTITION BY toYYYYMM(month) '
           'ORDER BY (type, scope, month, %s)')
TEXTS = [(name, 'String') for name in ch_storage.TEXT_COLUMNS]
ONE_TEXT = [('attributes', 'String')]
# The four texts as one (a separator the generator's texts do not hold)
ONE_TEXT_SEPARATOR = '\x1d'
# Each layout's (column, type) pairs and engine
LAYOUTS = {
    'points': (POINT_HEAD + TEXTS + POINT_TAIL, POINTS_ENGINE),
    'points_one_text': (POINT_HEAD + ONE_TEXT + POINT_TAIL, POINTS_ENGINE),
    'month': (MONTH_HEAD + TEXTS + MONTH_SUMS,
              SUMMING % ', '.join(ch_storage.TEXT_COLUMNS)),
    'month_hash_key': (MONTH_HEAD + [('attributes_hash', 'UInt64')] + TEXTS
                       + MONTH_SUMS, SUMMING % 'attributes_hash'),
    'month_one_text': (MONTH_HEAD + ONE_TEXT + MONTH_SUMS,
                       SUMMING % 'attributes'),
}


def pushes(args):
    """Per body: its columns by name, every layout's (a rollup's sums as
    decimals, under their type's name)."""
    for push_id, frames in enumerate(storage_cpu.generator_frames(args)):
        batch = dataframe.parse_dataframes(frames)
        count = len(batch)
        texts = (ch_storage.attribute_texts(batch.groupby)
                 + ch_storage.attribute_texts(batch.metadata))
        joined = [ONE_TEXT_SEPARATOR.join(parts) for parts in zip(*texts)]
        yield dict(
            begin=batch.begin, end=batch.end, type=batch.type,
            unit=batch.unit, qty=batch.qty, price=batch.price,
            scope=[g.get('project_id', '') for g in batch.groupby],
            push_id=[push_id] * count, row=list(range(count)),
            month=[datetime.date(b.year, b.month, 1) for b in batch.begin],
            attributes=joined,
            attributes_hash=[hash(text) & (2 ** 64 - 1) for text in joined],
            n=[1] * count, **{'Decimal128(12)': [decimal.Decimal(1)] * count},
            **dict(zip(ch_storage.TEXT_COLUMNS, texts)))


def measure(client, pid, layout, bodies):
    table = 'layout_' + layout
    columns, engine = LAYOUTS[layout]
    client.execute('DROP TABLE IF EXISTS %s' % table)
    client.execute('CREATE TABLE %s (%s) %s' % (
        table, ', '.join(map(' '.join, columns)), engine))
    insert = 'INSERT INTO %s (%s) VALUES' % (
        table, ', '.join(name for name, _ in columns))
    rows = 0
    before = process_cpu(pid)
    for body in bodies:
        client.execute(insert, [
            body['Decimal128(12)' if kind.startswith('Decimal') else name]
            for name, kind in columns], columnar=True)
        rows += len(body['row'])
    storage_cpu.wait_for_merges(client.execute)
    user, system = (after - start for after, start in
                    zip(process_cpu(pid), before))
    client.execute('DROP TABLE %s' % table)
    return {'layout': layout, 'rows': rows,
            'server_user_ms_per_1000': round(user * 1e6 / rows, 2),
            'server_system_ms_per_1000': round(system * 1e6 / rows, 2)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('-n', type=int, default=400000)
    parser.add_argument('--usagegen', default=USAGEGEN)
    parser.add_argument('--scale', type=int, default=10)
    parser.add_argument('--batch', type=int, default=2000)
    parser.add_argument('--rounds', type=int, default=2)
    parser.add_argument('layouts', nargs='*', default=list(LAYOUTS))
    args = parser.parse_args()
    bodies = list(pushes(args))
    server = clickhouse.Server()
    server.start()
    try:
        client = clickhouse_driver.Client('127.0.0.1', port=server.tcp_port)
        for _ in range(args.rounds):
            for layout in args.layouts:
                print(json.dumps(measure(client, server.process.pid, layout,
                                         bodies)), flush=True)
    finally:
        server.remove()


if __name__ == '__main__':
    main()
