"""oslo.policy rules defined in code, one module per endpoint family."""
import itertools

from ratekeeper.policies import base
from ratekeeper.policies import collector
from ratekeeper.policies import dataframes
from ratekeeper.policies import info
from ratekeeper.policies import rating
from ratekeeper.policies import report
from ratekeeper.policies import scope
from ratekeeper.policies import storage
from ratekeeper.policies import summary
from ratekeeper.policies import task

FAMILIES = (base, summary, dataframes, report, info, storage, collector,
            rating, scope, task)


def list_rules():
    return list(itertools.chain.from_iterable(
        family.list_rules() for family in FAMILIES))


def get_enforcer():
    """The enforcer for oslopolicy-* tools (entry point
    oslo.policy.enforcer)."""
    from ratekeeper import conf as rk_conf
    from ratekeeper import policy
    rk_conf.load([])
    return policy.get_enforcer(rk_conf.CONF)
