"""Policy enforcement: the one place a request is authorized."""
from oslo_policy import policy as oslo_policy

from ratekeeper import errors
from ratekeeper import policies

_ENFORCERS = {}


def get_enforcer(conf):
    enforcer = _ENFORCERS.get(id(conf))
    if enforcer is None:
        enforcer = oslo_policy.Enforcer(conf)
        enforcer.register_defaults(policies.list_rules())
        _ENFORCERS[id(conf)] = enforcer
    return enforcer


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
