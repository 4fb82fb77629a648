"""WSME types of /v1/storage.

GET /v1/storage/dataframes streams its answer (it can hold every point of
a month), so these types document its shape and validate nothing at run
time; the controller writes the same JSON chunk by chunk.
"""
import datetime
import decimal

from wsme import types as wtypes


class RatedResource(wtypes.Base):
    """One rated point: desc is its metadata merged with its groupby."""

    rating = decimal.Decimal
    service = wtypes.text
    desc = {wtypes.text: wtypes.text}
    volume = decimal.Decimal

    @classmethod
    def sample(cls):
        return cls(rating=decimal.Decimal('1.0'), service='instance',
                   volume=decimal.Decimal('1.0'),
                   desc={'flavor_name': 'm1.tiny', 'project_id':
                         '69d12143688f413cbf5c3cfe03ed0a12'})


class DataFrame(wtypes.Base):
    """The points of one metric type in one stored period."""

    begin = datetime.datetime
    end = datetime.datetime
    tenant_id = wtypes.text
    resources = [RatedResource]

    @classmethod
    def sample(cls):
        return cls(begin=datetime.datetime(2015, 4, 22, 7),
                   end=datetime.datetime(2015, 4, 22, 8),
                   tenant_id='69d12143688f413cbf5c3cfe03ed0a12',
                   resources=[RatedResource.sample()])


class DataFrameCollection(wtypes.Base):
    dataframes = [DataFrame]

    @classmethod
    def sample(cls):
        return cls(dataframes=[DataFrame.sample()])
