"""Interpreter settings for the long-running processes (API, ingest)."""
import atexit
import gc
import sys


def tune_interpreter():
    """Call once everything is imported, in the working process.

    Garbage collector: a 1000-point batch of dataframes allocates ~15k
    containers; with the default thresholds each one triggers dozens of
    collections that rescan the ~500k long-lived objects of the loaded
    libraries, which doubled the cost of parsing. Freezing moves those
    objects out of the collector's sight, and a larger first threshold lets
    request garbage go by reference counting, as nearly all of it does
    (JSON documents hold no cycles).

    Switch interval: DuckDB gives up and retakes the GIL dozens of times
    per statement; each retake waited up to the default 5 ms while another
    request thread parsed JSON, turning a 5 ms insert into 100+ ms under
    concurrent ingest. At 0.2 ms the handoffs are quick.
    """
    gc.freeze()
    # at exit, hand them back: extensions (DuckDB's nanobind) report frozen
    # objects as leaks
    atexit.register(gc.unfreeze)
    gc.set_threshold(50000, 20, 100)
    sys.setswitchinterval(0.0002)
