"""The v1 root: one child controller per family."""
from pecan import rest

from ratekeeper.api.v1.controllers import rating
from ratekeeper.api.v1.controllers import report


class V1Controller(rest.RestController):
    rating = rating.RatingController()
    billing = rating  # CloudKitty serves /v1/billing as /v1/rating
    report = report.ReportController()
