"""Moving an operator's data into ratekeeper: from a CloudKitty 25
database (rules, module states, collector mappings) and its rated data
(v1 SQL storage or InfluxDB), and between two ratekeeper storages.

Layered below ``ratekeeper.cmd`` and above storage and rating; nothing
below imports it.

- ``cloudkitty``: reading a CloudKitty database, checking it is one at
  CloudKitty 25's schema revisions;
- ``rules``: writing its rating rules and states into ratekeeper's
  database in one transaction;
- ``sources``: rated points streamed in period order from CloudKitty's v1
  SQL storage, its InfluxDB storage or a ratekeeper storage, with their
  totals per scope, type and month;
- ``copy``: the resumable copy of a source into a storage, and the
  comparison of totals that ends it.
"""


class ImportRefused(Exception):
    """The import cannot start (or go on); nothing was written by the step
    that refused."""
