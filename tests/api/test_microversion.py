"""The microversion declarations: one sequential list, versioned methods
with neither gaps nor overlaps, and the header parsing."""
import pytest

from ratekeeper import errors
from ratekeeper.api import microversion
from ratekeeper.api import v2

v2.families()  # imports every family's resources

# A tripwire: change it when a method gains or loses a versioned
# implementation, after checking the ranges below still make sense.
TOTAL_VERSIONED_METHODS = 1


def test_versions_are_sequential_from_2_0():
    parsed = [microversion.parse(v) for v in microversion.VERSIONS]
    assert parsed[0] == (2, 0)
    for previous, version in zip(parsed, parsed[1:]):
        assert version == (previous[0], previous[1] + 1)


def test_the_tripwire_count():
    assert len(microversion.VERSIONED_METHODS) == TOTAL_VERSIONED_METHODS


@pytest.mark.parametrize('name', sorted(microversion.VERSIONED_METHODS))
def test_ranges_neither_overlap_nor_leave_gaps(name):
    ranges = microversion.VERSIONED_METHODS[name]
    assert ranges[0][0] == microversion.MIN_VERSION, (
        '%s does not serve the minimum version' % name)
    for (low, high, _), (next_low, _, _) in zip(ranges, ranges[1:]):
        assert high is not None, '%s: an open range is not last' % name
        assert low <= high
        assert next_low == (high[0], high[1] + 1), (
            '%s: gap or overlap between %s and %s' % (name, high, next_low))
    last = ranges[-1][1]
    assert last is None or last == microversion.MAX_VERSION, (
        '%s is not served up to the maximum version' % name)


@pytest.mark.parametrize('name', sorted(microversion.VERSIONED_METHODS))
def test_every_declared_version_exists(name):
    for low, high, _ in microversion.VERSIONED_METHODS[name]:
        for bound in (low, high):
            assert bound is None or str(bound) in microversion.VERSIONS


@pytest.mark.parametrize('header, expected', [
    (None, '2.0'), ('', '2.0'), ('rating 2.1', '2.1'),
    ('rating latest', microversion.VERSIONS[-1]),
    ('RATING Latest', microversion.VERSIONS[-1]),
    ('compute 2.5, rating 2.2', '2.2'), ('compute 2.5', '2.0'),
])
def test_header_selects_a_version(header, expected):
    assert str(microversion.from_header(header)) == expected


@pytest.mark.parametrize('header, status', [
    ('rating 2.99', 406), ('rating 1.0', 406), ('rating 3.0', 406),
    ('rating 2', 400), ('rating 2.x', 400), ('rating 02.1', 400),
    ('rating -2.1', 400), ('rating ', 400),
])
def test_header_errors_name_min_and_max(header, status):
    with pytest.raises(errors.APIError) as caught:
        microversion.from_header(header)
    assert caught.value.status == status
    assert caught.value.details == {
        'min_version': microversion.VERSIONS[0],
        'max_version': microversion.VERSIONS[-1]}


def test_version_matches_a_range():
    version = microversion.parse('2.1')
    assert version.matches('2.0') and version.matches('2.1', '2.1')
    assert not version.matches('2.2') and not version.matches(None, '2.0')
    assert str(version) == '2.1'
