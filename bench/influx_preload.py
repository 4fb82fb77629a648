#!/usr/bin/env python3
"""Write the shared generator's points straight into an InfluxDB 1.x
database in CloudKitty's layout (what CloudKitty 25's InfluxDB storage
writes: measurement ``dataframes``, the groupby attributes and ``type``
as tags, the metadata attributes, ``qty``, ``price``, ``unit`` and the
key lists ``groupby``/``metadata`` as fields, the period begin as time).

Much faster than posting them through an API, for the 10M-point runs:

    .venv/bin/python bench/influx_preload.py --port 8086 --database bench \
        -n 10000000 --scale 100
"""
import argparse
import datetime
import importlib.util
import os
import sys

import influxdb
from influxdb import line_protocol

HERE = os.path.dirname(os.path.abspath(__file__))
USAGEGEN = os.path.join(HERE, '..', '..', 'shared', 'bench', 'usagegen.py')
EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)


def load_generator(path):
    spec = importlib.util.spec_from_file_location('usagegen', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def tag_text(text):
    return (text.replace(' ', '\\ ').replace(',', '\\,')
            .replace('=', '\\='))


def resource_lines(resources):
    """Per resource: the line of its point without the time."""
    lines = []
    for kind, groupby, metadata, unit, qty, price in resources:
        tags = dict(groupby, type=kind)
        fields = dict(metadata, qty=float(qty), price=float(price),
                      unit=unit, groupby='|'.join(groupby),
                      metadata='|'.join(metadata))
        head = 'dataframes' + ''.join(
            ',%s=%s' % (tag_text(k), tag_text(v))
            for k, v in sorted(tags.items()))
        line = line_protocol.make_line('dataframes', fields=fields)
        lines.append(head + line[len('dataframes'):].rstrip('\n'))
    return lines


def preload(host, port, database, points, scale, start=None,
            usagegen=USAGEGEN, batch=20000):
    module = load_generator(usagegen)
    start = start or module.month_start_utc()
    generator = module.Generator(20, scale, 42, False)
    lines = resource_lines(generator.resources)
    client = influxdb.InfluxDBClient(host, port, database=database,
                                     timeout=600)
    client.create_database(database)
    pending, written, hour = [], 0, 0
    while written < points:
        moment = (start + datetime.timedelta(hours=hour) - EPOCH) \
            // datetime.timedelta(seconds=1)
        take = min(len(lines), points - written)
        pending.extend('%s %d' % (line, moment) for line in lines[:take])
        written += take
        hour += 1
        if len(pending) >= batch or written >= points:
            client.write_points(pending, time_precision='s',
                                protocol='line', batch_size=batch)
            pending = []
    client.close()
    return written


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--host', default='127.0.0.1')
    parser.add_argument('--port', type=int, default=8086)
    parser.add_argument('--database', default='cloudkitty')
    parser.add_argument('-n', type=int, default=100000)
    parser.add_argument('--scale', type=int, default=1)
    parser.add_argument('--usagegen', default=USAGEGEN)
    args = parser.parse_args()
    print(preload(args.host, args.port, args.database, args.n, args.scale,
                  usagegen=args.usagegen))


if __name__ == '__main__':
    sys.exit(main())
