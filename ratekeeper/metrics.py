"""The metrics configuration (``[collect] metrics_conf``), CloudKitty's
metrics.yml format: ``{"metrics": {name: {unit, alt_name, groupby,
metadata, mutate, factor, offset, extra_args, ...}}}``.

It is read at each use, so an operator's edit shows without a restart.
"""
import fractions
import os

import voluptuous as vol
import yaml

PACKAGED = os.path.join(os.path.dirname(__file__), 'etc', 'metrics.yml')
MUTATORS = ('NONE', 'NUMBOOL', 'NOTNUMBOOL', 'FLOOR', 'CEIL', 'MAP')

_NAME = vol.All(str, vol.Length(min=1))
_NUMBER = vol.Any(int, float, vol.Coerce(fractions.Fraction))

METRIC_SCHEMA = vol.Schema({
    vol.Optional('description'): _NAME,
    vol.Required('unit'): _NAME,
    vol.Required('factor', default=1): _NUMBER,
    vol.Required('offset', default=0): _NUMBER,
    vol.Optional('alt_name'): _NAME,
    vol.Required('groupby', default=list): [_NAME],
    vol.Required('metadata', default=list): [_NAME],
    vol.Required('mutate', default='NONE'): vol.In(MUTATORS),
    vol.Optional('mutate_map'): dict,
    vol.Optional('extra_args'): dict,
    vol.Optional('skip_datapoints_expression'): _NAME,
})


class Unavailable(Exception):
    """The file is missing, unreadable or not YAML; ``reason`` says why
    without naming the file (clients see it)."""

    def __init__(self, path, reason):
        super().__init__('%s: %s' % (path, reason))
        self.reason = reason


class Invalid(Exception):
    """The file is YAML but does not describe metrics correctly."""


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


def validated(document):
    """{name: metric with defaults and alt_name filled}; raises Invalid."""
    metrics = document.get('metrics') if isinstance(document, dict) else None
    if not isinstance(metrics, dict) or not metrics:
        raise Invalid('no "metrics" mapping')
    output = {}
    for name, metric in metrics.items():
        try:
            output[name] = METRIC_SCHEMA(metric)
        except vol.Invalid as exc:
            raise Invalid('metric %s: %s' % (name, exc))
        output[name].setdefault('alt_name', name)
        _check_no_overlap(name, output[name])
    return output


def _check_no_overlap(name, metric):
    shared = set(metric['groupby']) & set(metric['metadata'])
    if shared:
        raise Invalid('metric %s: %s both in groupby and metadata'
                      % (name, ', '.join(sorted(shared))))
    if metric['mutate'] == 'MAP' and 'mutate_map' not in metric:
        raise Invalid('metric %s: mutate MAP needs a mutate_map' % name)


def load_metrics(conf):
    return validated(load(conf))
