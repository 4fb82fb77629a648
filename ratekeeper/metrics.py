"""The metrics configuration file (``[collect] metrics_conf``),
CloudKitty's metrics.yml, read as YAML: what /v1/info/config shows and
what :mod:`ratekeeper.collector.definitions`, the one parser of its
content, reads (/v1/info/metrics and the processor alike).

It is read at each use, so an operator's edit shows without a restart.
"""
import os

import yaml

PACKAGED = os.path.join(os.path.dirname(__file__), 'etc', 'metrics.yml')


class Unavailable(Exception):
    """The file is missing, unreadable or not YAML; ``reason`` says why
    without naming the file (clients see it)."""

    def __init__(self, path, reason):
        super().__init__('%s: %s' % (path, reason))
        self.reason = reason


def path_of(conf):
    return conf.collect.metrics_conf or PACKAGED


def load(conf):
    """The parsed file, as is (an empty file reads as {})."""
    path = path_of(conf)
    try:
        with open(path, encoding='utf-8') as stream:
            document = yaml.safe_load(stream)
    except OSError as exc:
        raise Unavailable(path, 'cannot read it (%s)' % exc.strerror)
    except yaml.YAMLError:
        raise Unavailable(path, 'it is not valid YAML')
    return document or {}
