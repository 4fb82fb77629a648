"""The process that runs pyscripts: started by sandbox.py, never imported
by the service itself (``python -I -m ratekeeper.rating.pyscripts.worker``).

A script is operator-supplied Python; CloudKitty runs it inside its
processor with every right the processor has. Here it runs in this
separate process, which first gives away what a script could misuse:

- it is spawned (not forked) with an empty environment, so it holds none of
  the service's memory, secrets or connections;
- running as root it becomes nobody (65534);
- resource limits: no new file descriptor (RLIMIT_NOFILE = the three it
  has), no new process (RLIMIT_NPROC 0), no file written (RLIMIT_FSIZE 0),
  an address-space ceiling (RLIMIT_AS) and a lifetime CPU limit
  (RLIMIT_CPU); each request arms a CPU timer (ITIMER_PROF) whose signal
  stops the script with an error naming it;
- a seccomp filter (libseccomp, through pyseccomp) lets through only the
  system calls an interpreter needs to compute: reading its requests on
  fd 0, writing answers on fd 1, memory, signals, clocks. open, socket,
  fork, execve, kill, ptrace... fail with EPERM in the kernel, whatever
  Python-level trick a script finds to reach them.

On top, and only for clear errors, scripts get builtins without open,
eval, exec, compile or input, and ``import`` of a short list of modules
loaded before the filter went up. RestrictedPython is not used: it refuses
``item['rating']['price'] += x``, which existing CloudKitty scripts do.

Protocol: requests and answers are 4-byte big-endian lengths followed by
JSON (orjson), so the service never unpickles anything this process says.
"""
import builtins
import datetime
import decimal
from decimal import Decimal
import os
import resource
import signal
import struct
import sys

import orjson

from ratekeeper import runtime

# Modules a script may import; loaded before the filter forbids open().
ALLOWED_IMPORTS = ('__future__', 'bisect', 'calendar', 'collections',
                   'copy', 'datetime', 'decimal', 'fractions', 'functools',
                   'heapq', 'itertools', 'json', 'math', 'operator', 're',
                   'statistics', 'string')
REMOVED_BUILTINS = ('open', 'eval', 'exec', 'compile', 'input', 'breakpoint',
                    'help', 'exit', 'quit', 'memoryview', 'globals', 'vars',
                    'copyright', 'credits', 'license', '__loader__',
                    '__spec__', '__build_class__', '__import__')
NOBODY = 65534
LIFETIME_CPU_SECONDS = 3600   # the hard CPU limit; sandbox.py recycles
HEADER = struct.Struct('>I')

# System calls a computing interpreter needs. Everything else fails EPERM.
ALLOWED_SYSCALLS = (
    'brk', 'mmap', 'munmap', 'mremap', 'madvise', 'mprotect',
    'futex', 'sched_yield', 'set_robust_list',
    'rt_sigreturn', 'rt_sigaction', 'rt_sigprocmask', 'sigaltstack',
    'restart_syscall', 'clock_gettime', 'clock_getres', 'gettimeofday',
    'getrusage', 'getpid', 'gettid', 'setitimer', 'getitimer',
    'exit', 'exit_group',
)


class TimeLimit(BaseException):
    """Raised into a script by SIGPROF (not an Exception: ``except
    Exception`` in a script must not swallow it)."""


class ScriptError(Exception):
    def __init__(self, key, message, spent=False):
        super().__init__(message)
        self.key = key
        self.message = message
        self.spent = spent   # this process should not serve again


# -- confinement --------------------------------------------------------------

def _preload():
    for name in ALLOWED_IMPORTS:
        __import__(name)


def _drop_privileges():
    if os.geteuid() == 0:
        os.setgroups([])
        os.setgid(NOBODY)
        os.setuid(NOBODY)


def _address_space_now():
    with open('/proc/self/status') as status:
        for line in status:
            if line.startswith('VmSize:'):
                return int(line.split()[1]) * 1024
    return 0


def _set_limits(memory_bytes):
    address_space = _address_space_now() + memory_bytes
    used = int(_cpu_seconds()) + 1
    for limit, value in ((resource.RLIMIT_NOFILE, 3),
                         (resource.RLIMIT_NPROC, 0),
                         (resource.RLIMIT_FSIZE, 0),
                         (resource.RLIMIT_CORE, 0),
                         (resource.RLIMIT_AS, address_space)):
        resource.setrlimit(limit, (value, value))
    resource.setrlimit(resource.RLIMIT_CPU,
                       (used + LIFETIME_CPU_SECONDS,
                        used + LIFETIME_CPU_SECONDS))


def _syscall_filter():
    """Built before the limits (libseccomp opens files), loaded after."""
    import pyseccomp as seccomp
    syscalls = seccomp.SyscallFilter(seccomp.ERRNO(1))  # EPERM
    for name in ALLOWED_SYSCALLS:
        syscalls.add_rule(seccomp.ALLOW, name)
    syscalls.add_rule(seccomp.ALLOW, 'read', seccomp.Arg(0, seccomp.EQ, 0))
    syscalls.add_rule(seccomp.ALLOW, 'write', seccomp.Arg(0, seccomp.EQ, 1))
    return syscalls


def _on_cpu_limit(signum, frame):
    raise TimeLimit()


class _Discard:
    """sys.stdout and sys.stderr: fd 1 carries the protocol only."""

    def write(self, text):
        return len(text)

    def flush(self):
        pass


def confine(memory_bytes):
    _preload()
    runtime.tune_interpreter()
    syscalls = _syscall_filter()
    sys.stdout = sys.stderr = _Discard()
    signal.signal(signal.SIGPROF, _on_cpu_limit)
    signal.signal(signal.SIGXCPU, _on_cpu_limit)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG, not death
    _drop_privileges()
    _set_limits(memory_bytes)
    syscalls.load()


# -- what a script sees -------------------------------------------------------

def _guarded_import(name, globals=None, locals=None, fromlist=(), level=0):
    if level or name.partition('.')[0] not in ALLOWED_IMPORTS:
        raise ImportError("import of '%s' is not allowed in a pyscript"
                          % name)
    module = sys.modules.get(name if fromlist else name.partition('.')[0])
    if module is None:
        raise ImportError("import of '%s' is not allowed in a pyscript"
                          % name)
    return module


def _script_builtins():
    allowed = {name: value for name, value in vars(builtins).items()
               if name not in REMOVED_BUILTINS}
    allowed['__import__'] = _guarded_import
    allowed['__build_class__'] = builtins.__build_class__
    allowed['print'] = lambda *args, **kwargs: None
    return allowed


SCRIPT_BUILTINS = None
COMPILED = {}


def _compiled(key, name, source):
    code = COMPILED.get((key, source))
    if code is None:
        code = compile(source, '<PyScripts: %s>' % name, 'exec')
        if len(COMPILED) > 256:
            COMPILED.clear()
        COMPILED[(key, source)] = code
    return code


def _describe(exc):
    if isinstance(exc, TimeLimit):
        return 'it ran past the time limit'
    if isinstance(exc, MemoryError):
        return 'it ran past the memory limit'
    if isinstance(exc, RecursionError):
        return 'RecursionError: maximum recursion depth exceeded'
    where = ''
    trace = exc.__traceback__
    while trace is not None:
        if trace.tb_frame.f_code.co_filename.startswith('<PyScripts'):
            where = ' (line %d)' % trace.tb_lineno
        trace = trace.tb_next
    return '%s: %s%s' % (type(exc).__name__, str(exc)[:500], where)


# -- dataframes ---------------------------------------------------------------

def _point_dict(unit, qty, price, groupby, metadata):
    return {'vol': {'unit': unit, 'qty': qty}, 'rating': {'price': price},
            'groupby': groupby, 'metadata': metadata}


def _frame_dict(frame):
    """CloudKitty's DataFrame.as_dict(mutable=True): Decimal quantities and
    prices, datetimes for the period, usage in sorted type order."""
    usage = {}
    for type_ in sorted(frame['usage']):
        usage[type_] = [
            _point_dict(unit or 'undefined', Decimal(qty), Decimal(price),
                        dict(groupby), dict(metadata))
            for unit, qty, price, groupby, metadata in frame['usage'][type_]]
    return {'period': {
        'begin': datetime.datetime.fromisoformat(frame['begin']),
        'end': datetime.datetime.fromisoformat(frame['end'])},
        'usage': usage}


def _checked(data, frame):
    """The frame a script left, checked as CloudKitty's from_dict checks
    it (numbers become Decimal), in place. The points must stay where they
    were: prices go back to the points the service sent."""
    usage = data.get('usage') if isinstance(data, dict) else None
    if not isinstance(usage, dict):
        raise ValueError("'data' is no longer a dataframe (a dict with "
                         "'period' and 'usage')")
    sent = frame['usage']
    if usage.keys() != sent.keys() or any(
            not isinstance(usage[t], list) or len(usage[t]) != len(sent[t])
            for t in usage):
        raise ValueError('points were added or removed; a pyscript may only '
                         'change the points it is given')
    for type_, points in usage.items():
        for index, point in enumerate(points):
            _checked_point(point, type_, index)
    return data


def _checked_point(point, type_, index):
    try:
        vol, rating = point['vol'], point['rating']
        if type(rating['price']) is not Decimal:
            rating['price'] = _decimal(rating['price'])
        if type(vol['qty']) is not Decimal:
            vol['qty'] = _decimal(vol['qty'])
        vol['unit']
        if not isinstance(point['groupby'], dict) or \
                not isinstance(point['metadata'], dict):
            raise TypeError('groupby and metadata must be dicts')
    except (KeyError, TypeError) as exc:
        raise ValueError('usage[%r][%d] is not a point: %s'
                         % (type_, index, exc)) from None


def _decimal(value):
    if isinstance(value, bool) or not isinstance(value, (int, float, str,
                                                         Decimal)):
        raise TypeError('a quantity or price is not a number')
    try:
        return Decimal(str(value) if isinstance(value, float) else value)
    except decimal.InvalidOperation:
        raise TypeError('a quantity or price is not a number') from None


def _run_script(key, name, source, data, frame):
    code = _compiled(key, name, source)
    namespace = {'data': data, '__builtins__': SCRIPT_BUILTINS,
                 '__name__': '__pyscript__'}
    exec(code, namespace)
    return _checked(namespace.get('data'), frame)


def _point_result(point, sent):
    """[price] or, when the script changed more, [price, the point's new
    unit, quantity and attributes]."""
    unit, qty, _price, groupby, metadata = sent
    vol = point['vol']
    if vol['unit'] == (unit or 'undefined') and vol['qty'] == Decimal(qty) \
            and point['groupby'] == groupby \
            and point['metadata'] == metadata:
        return [str(point['rating']['price'])]
    return [str(point['rating']['price']),
            {'unit': str(vol['unit']), 'qty': str(vol['qty']),
             'groupby': point['groupby'], 'metadata': point['metadata']}]


def run_frames(scripts, frames):
    """Run the scripts each frame lists, in order; the points' results."""
    results = []
    for frame in frames:
        data = _frame_dict(frame)
        for key in frame['scripts']:
            name, source = scripts[key]
            try:
                data = _run_script(key, name, source, data, frame)
            except BaseException as exc:  # noqa: B902 - reported, not hidden
                raise ScriptError(key, _describe(exc), spent=isinstance(
                    exc, (MemoryError, TimeLimit))) from None
        results.append({
            type_: [_point_result(point, sent) for point, sent in zip(
                data['usage'][type_], frame['usage'][type_])]
            for type_ in frame['usage']})
    return results


def check_source(name, source):
    try:
        compile(source, '<PyScripts: %s>' % name, 'exec')
    except (SyntaxError, ValueError) as exc:
        line = getattr(exc, 'lineno', None)
        return '%s%s' % (getattr(exc, 'msg', None) or str(exc),
                         ' (line %d)' % line if line else '')
    except (MemoryError, RecursionError):
        return 'the script is too deeply nested to compile'
    return None


# -- the loop -----------------------------------------------------------------

def _read_exactly(size):
    chunks = []
    while size:
        chunk = os.read(0, min(size, 1 << 20))
        if not chunk:
            raise EOFError()
        chunks.append(chunk)
        size -= len(chunk)
    return b''.join(chunks)


def _json_default(value):
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, (datetime.datetime, datetime.date)):
        return value.isoformat()
    raise TypeError('%s values cannot leave a pyscript'
                    % type(value).__name__)


def _send(document):
    try:
        body = orjson.dumps(document, default=_json_default)
    except TypeError as exc:
        body = orjson.dumps({'error': 'a point holds a value that is not '
                             'JSON: %s' % exc,
                             'script': document.get('script')})
    payload = HEADER.pack(len(body)) + body
    while payload:
        payload = payload[os.write(1, payload):]


def _cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _arm_cpu_limit(seconds):
    """SIGPROF after ``seconds`` of CPU (user and system) from now."""
    signal.setitimer(signal.ITIMER_PROF, seconds)


def handle(request):
    _arm_cpu_limit(request['cpu_seconds'])
    try:
        if request['op'] == 'check':
            return {'error': check_source(request['name'],
                                          request['source'])}
        return _run(request)
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)


def _run(request):
    scripts = {key: (name, source) for key, name, source
               in request['scripts']}
    try:
        return {'frames': run_frames(scripts, request['frames']),
                'cpu': _cpu_seconds()}
    except ScriptError as exc:
        return {'error': exc.message, 'script': exc.key,
                'spent': exc.spent, 'cpu': _cpu_seconds()}


def serve():
    while True:
        try:
            size, = HEADER.unpack(_read_exactly(HEADER.size))
            answer = handle(orjson.loads(_read_exactly(size)))
        except EOFError:
            return
        except (MemoryError, TimeLimit) as exc:
            # not a script's doing: the service discards this worker
            answer = {'error': _describe(exc), 'script': None}
        _send(answer)


def main():
    global SCRIPT_BUILTINS
    memory_bytes = int(sys.argv[1]) * 1024 * 1024
    confine(memory_bytes)
    SCRIPT_BUILTINS = _script_builtins()
    serve()


if __name__ == '__main__':
    main()
