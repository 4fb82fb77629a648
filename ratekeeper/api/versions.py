"""The API versions a deployment serves, and their discovery documents.

Statuses come from ``[api_versions]``; the rest (dates, media types,
microversion range) is a fact of the code.
"""
from ratekeeper.api import microversion

MEDIA_TYPE = 'application/vnd.ratekeeper.%s+json'

_UPDATED = {'v1': '2014-05-01T00:00:00Z', 'v2': '2026-11-24T00:00:00Z'}


def _range(version_id):
    """(min_version, version) as the documents show them."""
    if version_id == 'v2':
        return str(microversion.MIN_VERSION), str(microversion.MAX_VERSION)
    return '', ''


def served(conf):
    """Ids of the versions this deployment serves, oldest first."""
    return ['v1', 'v2'] if conf.storage.version >= 2 else ['v1']


def status(conf, version_id):
    return getattr(conf.api_versions, '%s_status' % version_id)


def current(conf):
    """The version unversioned paths go to: the CURRENT one (the newest
    if several are), else the newest not DEPRECATED, else the newest."""
    ids = served(conf)
    for wanted in ({'CURRENT'}, {'CURRENT', 'SUPPORTED', 'EXPERIMENTAL'}):
        chosen = [v for v in ids if status(conf, v) in wanted]
        if chosen:
            return chosen[-1]
    return ids[-1]


def successor(conf, version_id):
    """The version replacing ``version_id``, or None."""
    ids = served(conf)
    later = ids[ids.index(version_id) + 1:]
    return later[-1] if later else None


def describe(conf, version_id, url_root):
    """One version's entry, for ``/`` and for ``/<version>``."""
    min_version, max_version = _range(version_id)
    return {
        'id': version_id,
        'status': status(conf, version_id),
        'min_version': min_version,
        'version': max_version,
        'updated': _UPDATED[version_id],
        'links': [{'href': url_root + version_id, 'rel': 'self'}],
        'media-types': [{'base': 'application/json',
                         'type': MEDIA_TYPE % version_id}],
    }


def versions_document(conf, url_root):
    """``GET /``: CloudKitty's shape, each entry extended, and a link to
    the cost page when v2 (which the page reads) is served."""
    document = {'versions': [describe(conf, version_id, url_root)
                             for version_id in served(conf)]}
    if 'v2' in served(conf):
        document['links'] = [{'href': url_root + 'ui/', 'rel': 'alternate',
                              'type': 'text/html', 'title': 'Cost page'}]
    return document
