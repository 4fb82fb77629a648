"""Booleans sent as text (query strings, and v1's JSON bodies), read the
one strict way for every version.

A word names true or false (any case): the spellings WSME reads in JSON
bodies. Anything else is refused: CloudKitty reads a v1 query boolean
with ``bool(text)``, so ``all_tenants=false`` (or ``=0``, ``=maybe``)
means true there.
"""
TRUE_WORDS = ('true', 't', 'yes', 'y', 'on', '1')
FALSE_WORDS = ('false', 'f', 'no', 'n', 'off', '0')
EXPECTED = 'Expected a boolean (one of: %s)' % ', '.join(
    TRUE_WORDS + FALSE_WORDS)


class NotABoolean(ValueError):
    """A value that names neither true nor false."""

    def __init__(self, value):
        super().__init__('%s, got %r.' % (EXPECTED, _shown(value)))


def _shown(value):
    return value[:64] if isinstance(value, str) else value


def parse(value):
    """True or False for a JSON boolean or one of the words; NotABoolean
    for anything else (a number, null, an empty or unknown word)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        word = value.lower()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
    raise NotABoolean(value)


def v1_message(name, value):
    """v1's (WSME's) wording for a refused boolean argument."""
    return ("Invalid input for field/attribute %s. Value: '%s'. Wrong type. "
            "%s." % (name, str(_shown(value)), EXPECTED))
