"""Policy enforcement: the one place a request is authorized.

oslo.policy looks for changes of the policy file and directories before
every check (a dozen stat calls, ~60 µs, twice per request: is_admin, then
the endpoint's rule). Here it looks at most once a RELOAD_SECONDS: an edited
policy file still takes effect without a restart, a second later at most.
"""
import time

from oslo_policy import policy as oslo_policy

from ratekeeper import conf as rk_conf
from ratekeeper import errors
from ratekeeper import policies

_ENFORCERS = {}
RELOAD_SECONDS = 1.0


def get_enforcer(conf):
    enforcer = _ENFORCERS.get(id(conf))
    if enforcer is None:
        enforcer = oslo_policy.Enforcer(conf)
        enforcer.register_defaults(policies.list_rules())
        enforcer.next_reload_check = 0.0
        _ENFORCERS[id(conf)] = enforcer
    _reload_when_due(enforcer)
    return enforcer


def _reload_when_due(enforcer):
    """Let the enforcer reread changed policy files, at most once a
    RELOAD_SECONDS; between times its checks skip the file lookups
    (``use_conf`` off)."""
    now = time.monotonic()
    if now < enforcer.next_reload_check:
        return
    enforcer.next_reload_check = now + RELOAD_SECONDS
    enforcer.use_conf = True
    enforcer.load_rules()
    enforcer.use_conf = False


def tools_enforcer():
    """The enforcer of the default configuration, for the oslopolicy-*
    tools (entry point oslo.policy.enforcer)."""
    rk_conf.load([])
    return get_enforcer(rk_conf.CONF)


def reset():
    _ENFORCERS.clear()


def check_is_admin(conf, context):
    credentials = context.to_policy_values()
    return get_enforcer(conf).authorize('context_is_admin', credentials,
                                        credentials)


def authorize(context, rule, target):
    """Raise errors.Forbidden unless ``context`` may apply ``rule``."""
    context.policy_checked = True
    enforcer = get_enforcer(context.conf)
    try:
        enforcer.authorize(rule, target, context.to_policy_values(),
                           do_raise=True)
    except (oslo_policy.PolicyNotAuthorized, oslo_policy.InvalidScope):
        raise errors.Forbidden(
            'Policy does not allow %s to be performed.' % rule)
