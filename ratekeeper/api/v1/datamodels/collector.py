"""WSME types of /v1/collector."""
from wsme import types as wtypes


class CollectorInfos(wtypes.Base):
    """Whether a collector is enabled."""

    name = wtypes.wsattr(wtypes.text, mandatory=False)
    enabled = wtypes.wsattr(bool, mandatory=True)

    @classmethod
    def sample(cls):
        return cls(name='gnocchi', enabled=True)


class ServiceToCollectorMapping(wtypes.Base):
    """Which collector collects a service."""

    service = wtypes.text
    collector = wtypes.text

    @classmethod
    def sample(cls):
        return cls(service='compute', collector='gnocchi')


class ServiceToCollectorMappingCollection(wtypes.Base):
    mappings = [ServiceToCollectorMapping]

    @classmethod
    def sample(cls):
        return cls(mappings=[ServiceToCollectorMapping.sample()])
