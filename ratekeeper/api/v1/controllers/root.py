"""The v1 root: one child controller per family."""
from ratekeeper.api.v1 import base
from ratekeeper.api.v1.controllers import collector
from ratekeeper.api.v1.controllers import info
from ratekeeper.api.v1.controllers import rating
from ratekeeper.api.v1.controllers import report
from ratekeeper.api.v1.controllers import storage


class V1Controller(base.RoutingRoot):
    collector = collector.CollectorController()
    info = info.InfoController()
    rating = rating.RatingController()
    billing = rating  # CloudKitty serves /v1/billing as /v1/rating
    report = report.ReportController()
    storage = storage.StorageController()
