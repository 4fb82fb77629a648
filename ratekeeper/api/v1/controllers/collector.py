"""/v1/collector: service to collector mappings and collector states.

Deprecated in CloudKitty but still served, with every URL form its client
and functional suite use: ``/mappings/{collector}/{service}`` or a JSON
body for creation, ``DELETE /mappings/`` with ``{"service"}``,
``/states?name=N`` or ``/{name}/states``. States live in the module-state
table as ``collector_<name>``; unlike CloudKitty's, they really stop and
start the processor's collection (ratekeeper.processor.orchestrator).
"""
import logging

import sqlalchemy as sa
from pecan import rest
from wsme import types as wtypes

from ratekeeper import db
from ratekeeper import errors
from ratekeeper import policy
from ratekeeper.api.v1 import base
from ratekeeper.api.v1.datamodels import collector as models
from ratekeeper.db import models as db_models
from ratekeeper.policies import collector as policies

LOG = logging.getLogger(__name__)
NAME_LENGTH = 255
STATE_PREFIX = 'collector_'


def _required(value, name, max_length=NAME_LENGTH):
    if not value:
        raise errors.InvalidInput('%s is mandatory.' % name)
    if not isinstance(value, str):
        raise errors.InvalidInput('%s must be a string.' % name)
    if len(value) > max_length:
        raise errors.InvalidInput('%s is longer than %d characters.'
                                  % (name, max_length))
    return value


def _mapping(row):
    return models.ServiceToCollectorMapping(service=row.service,
                                            collector=row.collector)


def _no_mapping(service):
    return errors.NotFound('No mapping for service: %s' % service)


def _deprecated():
    LOG.warning("Collector mappings are deprecated and shouldn't be used.")


class MappingsController(rest.RestController):
    """/v1/collector/mappings"""

    @base.wsexpose(models.ServiceToCollectorMappingCollection, wtypes.text)
    def get_all(self, collector=None):
        """Every mapping, or those of one collector."""
        _deprecated()
        policy.authorize(base.request_context(), policies.LIST_MAPPINGS, {})
        query = sa.select(db_models.CollectorMapping).order_by(
            db_models.CollectorMapping.service)
        if collector:
            query = query.where(
                db_models.CollectorMapping.collector == collector)
        with db.transaction(base.request_conf()) as session:
            rows = session.scalars(query).all()
        return models.ServiceToCollectorMappingCollection(
            mappings=[_mapping(row) for row in rows])

    @base.wsexpose(models.ServiceToCollectorMapping, wtypes.text)
    def get_one(self, service):
        """The mapping of one service."""
        _deprecated()
        policy.authorize(base.request_context(), policies.GET_MAPPING, {})
        with db.transaction(base.request_conf()) as session:
            row = session.get(db_models.CollectorMapping, service)
        if row is None:
            raise _no_mapping(service)
        return _mapping(row)

    @base.wsexpose(models.ServiceToCollectorMapping, wtypes.text,
                   wtypes.text)
    def post(self, collector=None, service=None):
        """Map a service to a collector (replacing its mapping)."""
        _deprecated()
        policy.authorize(base.request_context(), policies.MANAGE_MAPPING, {})
        _required(collector, 'collector')
        _required(service, 'service')
        with db.transaction(base.request_conf()) as session:
            row = session.get(db_models.CollectorMapping, service)
            if row is None:
                session.add(db_models.CollectorMapping(service=service,
                                                       collector=collector))
            else:
                row.collector = collector
        return models.ServiceToCollectorMapping(service=service,
                                                collector=collector)

    @base.wsexpose(None, wtypes.text, status_code=204)
    def delete(self, service=None):
        """Remove the mapping of a service."""
        _deprecated()
        policy.authorize(base.request_context(), policies.MANAGE_MAPPING, {})
        _required(service, 'service')
        with db.transaction(base.request_conf()) as session:
            deleted = session.execute(sa.delete(
                db_models.CollectorMapping).where(
                db_models.CollectorMapping.service == service)).rowcount
        if not deleted:
            raise _no_mapping(service)


def _state_name(name):
    return STATE_PREFIX + _required(
        name, 'name', NAME_LENGTH - len(STATE_PREFIX))


class StatesController(rest.RestController):
    """/v1/collector/states and /v1/collector/{name}/states"""

    @base.wsexpose(models.CollectorInfos, wtypes.text)
    def get(self, name=None):
        """Whether the collector is enabled. Never set, it is enabled when
        it is the processor's ``[collect] collector`` (which collects
        unless disabled here), else not."""
        policy.authorize(base.request_context(), policies.GET_STATE, {})
        key = _state_name(name)
        conf = base.request_conf()
        with db.transaction(conf) as session:
            row = session.get(db_models.ModuleState, key)
        enabled = row.enabled if row is not None else \
            name == conf.collect.collector
        return models.CollectorInfos(name=name, enabled=bool(enabled))

    @base.wsexpose(models.CollectorInfos, wtypes.text,
                   body=models.CollectorInfos)
    def put(self, name=None, infos=None):
        """Enable or disable a collector; the name comes from the path or,
        failing that, from the body."""
        policy.authorize(base.request_context(), policies.UPDATE_STATE, {})
        if infos is None:
            raise errors.InvalidInput('A body {"enabled": bool} is '
                                      'mandatory.')
        if not isinstance(infos.enabled, bool):
            raise errors.InvalidInput('"enabled" must be true or false.')
        name = name or (infos.name if isinstance(infos.name, str) else None)
        key = _state_name(name)
        with db.transaction(base.request_conf()) as session:
            row = session.get(db_models.ModuleState, key)
            if row is None:
                session.add(db_models.ModuleState(
                    name=key, enabled=infos.enabled, priority=1))
            else:
                row.enabled = infos.enabled
        return models.CollectorInfos(name=name, enabled=infos.enabled)


class CollectorController(rest.RestController):
    mappings = MappingsController()
    states = StatesController()

    @base.wsexpose(None, status_code=204)
    def get(self):
        """Nothing to show: the collectors live under mappings and states.

        Its varargs signature is also what lets pecan route
        ``/{name}/states`` to ``states`` with the name as argument."""
