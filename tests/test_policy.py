"""Policy checks skip oslo.policy's per-check file lookups, yet an edited
policy file still takes effect without a restart."""
from oslo_policy import opts as policy_opts
import pytest

from ratekeeper import context
from ratekeeper import errors
from ratekeeper import policy
from ratekeeper.policies import report
from ratekeeper.storage import testing


@pytest.fixture
def conf(tmp_path):
    conf = testing.make_conf(str(tmp_path))
    policy_opts.set_defaults(conf, policy_file=str(tmp_path / 'policy.yaml'))
    yield conf
    policy.reset()


def reader(conf):
    return context.RequestContext(conf=conf, project_id='p1',
                                  roles=['reader'])


def test_a_policy_file_written_later_applies_after_the_reload_interval(
        conf, tmp_path, monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(policy.time, 'monotonic', lambda: clock[0])
    target = {'project_id': 'p1'}
    policy.authorize(reader(conf), report.GET_TOTAL, target)

    (tmp_path / 'policy.yaml').write_text(
        '"%s": "role:admin"\n' % report.GET_TOTAL)
    clock[0] += policy.RELOAD_SECONDS / 2
    policy.authorize(reader(conf), report.GET_TOTAL, target)  # not yet

    clock[0] += policy.RELOAD_SECONDS
    with pytest.raises(errors.Forbidden):
        policy.authorize(reader(conf), report.GET_TOTAL, target)


def test_checks_between_reloads_keep_the_registered_defaults(conf):
    admin = context.admin_context(conf)
    for _ in range(3):
        policy.authorize(admin, report.LIST_TENANTS, {})
    with pytest.raises(errors.Forbidden):
        policy.authorize(reader(conf), report.LIST_TENANTS, {})
