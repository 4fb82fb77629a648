#!/usr/bin/env python3
"""Print one day of sample usage as OpenMetrics, for
``promtool tsdb create-blocks-from openmetrics``: usagegen.py's resources
(instances, volumes, images) of N projects, one sample every 10 minutes,
ending at the last full hour. The metric names match
etc/metrics-prometheus.yml.

usage: tools/prometheus_sample.py [--projects 2] [--hours 24] > history.om
"""
import argparse
import datetime
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                '..'))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                '..', 'bench'))

import usagegen  # noqa: E402
from tests import prometheus_server  # noqa: E402

METRIC_OF_TYPE = {'instance': ('instance_up', 1),
                  'volume': ('volume_size_gib', 1),
                  'image': ('image_size_bytes', 1048576)}


def history(resources, begin, hours):
    families = {}
    start = int(begin.timestamp())
    for kind, groupby, metadata, _unit, qty, _price in resources:
        metric, multiplier = METRIC_OF_TYPE[kind]
        samples = [(start + hour * 3600 + offset, qty * multiplier)
                   for hour in range(hours)
                   for offset in range(60, 3600, 600)]
        families.setdefault(metric, []).append(
            (dict(groupby, **metadata), samples))
    return families


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=(
        argparse.RawDescriptionHelpFormatter))
    parser.add_argument('--projects', type=int, default=2)
    parser.add_argument('--scale', type=int, default=1)
    parser.add_argument('--hours', type=int, default=24)
    args = parser.parse_args()
    generator = usagegen.Generator(projects=args.projects, scale=args.scale)
    now = datetime.datetime.now(datetime.timezone.utc)
    begin = now.replace(minute=0, second=0, microsecond=0) - \
        datetime.timedelta(hours=args.hours)
    sys.stdout.write(prometheus_server.openmetrics(
        history(generator.resources, begin, args.hours)))


if __name__ == '__main__':
    main()
