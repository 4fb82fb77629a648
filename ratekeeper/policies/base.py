"""Check strings shared by every family's rules."""
from oslo_policy import policy

ADMIN = 'role:admin'
PROJECT_READER = 'role:reader and project_id:%(project_id)s'
PROJECT_READER_OR_ADMIN = 'rule:project_reader_api or rule:context_is_admin'
UNPROTECTED = ''

rules = [policy.RuleDefault(name=name, check_str=check_str,
                            description=description)
         for name, check_str, description in (
             ('context_is_admin', ADMIN,
              'Decides who is an administrator: sees every project.'),
             ('project_reader_api', PROJECT_READER,
              'A reader of the project the target belongs to.'),
             ('project_reader_or_admin', PROJECT_READER_OR_ADMIN,
              'A reader of the target project, or an administrator.'),
             ('default', UNPROTECTED,
              'Applies to a rule that is not defined.'))]


def list_rules():
    return rules


def documented(name, check_str, description, path, methods,
               deprecated_name=None):
    """A project-scoped DocumentedRuleDefault, optionally replacing a
    CloudKitty rule name so that an operator's policy file keeps working."""
    deprecated = None
    if deprecated_name:
        deprecated = policy.DeprecatedRule(
            name=deprecated_name, check_str=check_str,
            deprecated_reason='ratekeeper names its rules '
                              '<service>:<family>:<action>.',
            deprecated_since='0.1.0')
    return policy.DocumentedRuleDefault(
        name=name, check_str=check_str, description=description,
        operations=[{'path': path, 'method': m} for m in methods],
        scope_types=['project'], deprecated_rule=deprecated)
