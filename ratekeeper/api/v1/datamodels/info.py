"""WSME types of /v1/info."""
import orjson
from wsme import types as wtypes


class JSONValue(wtypes.UserType):
    """Any JSON value, passed through (the raw metrics configuration)."""

    basetype = wtypes.text
    name = 'json'

    def validate(self, value):
        return value

    @staticmethod
    def frombasetype(value):
        return value

    @staticmethod
    def tobasetype(value):
        # YAML may hold dates and other non-JSON scalars: print them.
        return orjson.loads(orjson.dumps(value, default=str))


class MetricInfo(wtypes.Base):
    """A metric of the metrics configuration, named by its alt_name."""

    metric_id = wtypes.text
    metadata = [wtypes.text]
    unit = wtypes.text

    @classmethod
    def sample(cls):
        return cls(metric_id='image.size', unit='MiB',
                   metadata=['container_format', 'disk_format'])


class MetricInfoCollection(wtypes.Base):
    metrics = [MetricInfo]

    @classmethod
    def sample(cls):
        return cls(metrics=[MetricInfo.sample()])


CONFIG_TYPE = {wtypes.text: JSONValue()}
CONFIG_SAMPLE = {'metrics': {'image.size': {
    'unit': 'MiB', 'factor': '1/1048576', 'groupby': ['id', 'project_id'],
    'metadata': ['container_format', 'disk_format']}}}
