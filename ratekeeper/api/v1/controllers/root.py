"""The v1 root: one child controller per family."""
from pecan import rest

from ratekeeper.api.v1.controllers import report


class V1Controller(rest.RestController):
    report = report.ReportController()
