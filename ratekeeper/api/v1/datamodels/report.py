"""WSME types of /v1/report."""
import datetime

from wsme import types as wtypes


def rate_text(rate):
    """CloudKitty's rendering: rounded to 5 decimals, "0" for nothing."""
    return str(float('%0.5f' % rate)) if rate else '0'


class SummaryModel(wtypes.Base):
    """One row of a report summary."""

    begin = datetime.datetime
    end = datetime.datetime
    tenant_id = wtypes.text
    res_type = wtypes.text
    rate = wtypes.text

    @classmethod
    def sample(cls):
        return cls(begin=datetime.datetime(2015, 4, 22, 7),
                   end=datetime.datetime(2015, 4, 22, 8),
                   tenant_id='69d12143688f413cbf5c3cfe03ed0a12',
                   res_type='compute', rate='1')


class SummaryCollectionModel(wtypes.Base):
    summary = [SummaryModel]

    @classmethod
    def sample(cls):
        return cls(summary=[SummaryModel.sample()])
