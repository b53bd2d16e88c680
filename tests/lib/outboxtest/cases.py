"""The case registry and the command line shared by every runner.

A runner lists its cases in a Registry (a decorator for case functions,
or add() for cases read from files) and ends with

    sys.exit(cases.main(REGISTRY, run_one, __doc__))

which gives every runner the same command line:

    RUNNER --list                   the case names, one a line: CMake
                                    registers one ctest test LAYER/NAME
                                    per line (tests/lib/cases.cmake)
    RUNNER --outbox PATH [--certs DIR] [--itest DIR] [--keep]
           [layer options] CASE... | all

run_one(name, args) runs one case and returns True when it passed; with
more than one case a summary line follows.  Standard library only.
"""

import argparse
import os
import sys


class Registry:
    def __init__(self):
        self.cases = {}

    def add(self, name, fn=None, **props):
        if name in self.cases:
            raise ValueError('case %s is registered twice' % name)
        self.cases[name] = (fn, props)

    def case(self, name, **props):
        """Decorator: register FN as case NAME (PROPS kept with it)."""
        def deco(fn):
            self.add(name, fn, **props)
            return fn
        return deco

    def names(self):
        return list(self.cases)

    def fn(self, name):
        return self.cases[name][0]

    def props(self, name):
        return self.cases[name][1]

    def __contains__(self, name):
        return name in self.cases


def one(name, fn=None, **props):
    """A registry of one case (a runner that is a single test)."""
    r = Registry()
    r.add(name, fn, **props)
    return r


def defaults(options, **given):
    """The arguments a runner's OPTIONS give when none is on the command
    line, with GIVEN over them (one runner running another's case)."""
    ap = argparse.ArgumentParser()
    options(ap)
    args = ap.parse_args([])
    for k, v in given.items():
        setattr(args, k, v)
    return args


def parser(doc, options=None):
    ap = argparse.ArgumentParser(
        description=(doc or '').strip().split('\n')[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--list', action='store_true',
                    help='print the case names, one a line')
    ap.add_argument('--outbox', help='the outbox binary under test')
    ap.add_argument('--certs', help='the test certificates (certs.py DIR)')
    ap.add_argument('--itest', metavar='DIR',
                    help='the directory of the running integration servers '
                    '(tests/integration/servers start DIR)')
    ap.add_argument('--keep', action='store_true',
                    help='keep the scratch directories')
    if options:
        options(ap)
    ap.add_argument('case', nargs='*', help='case names, or "all"')
    return ap


def main(registry, run_one, doc, argv=None, options=None, check=None):
    """Parse ARGV as every runner does, then run the cases named.  CHECK
    (args) may refuse the run before any case: it returns a message."""
    ap = parser(doc, options)
    args = ap.parse_args(argv)
    if args.list:
        print('\n'.join(registry.names()))
        return 0
    if not args.case:
        ap.error('no case given (see --list)')
    names = registry.names() if args.case == ['all'] else args.case
    unknown = [n for n in names if n not in registry]
    if unknown:
        ap.error('no case %s (see --list)' % ', '.join(unknown))
    if not args.outbox or not os.access(args.outbox, os.X_OK):
        print('FAIL: --outbox %s is not an executable' % args.outbox)
        return 1
    args.outbox = os.path.abspath(args.outbox)
    for name in ('certs', 'itest'):
        if getattr(args, name):
            setattr(args, name, os.path.abspath(getattr(args, name)))
    if check:
        why = check(args)
        if why:
            print('FAIL: %s' % why)
            return 1
    failed = [n for n in names if not run_one(n, args)]
    if len(names) > 1:
        print('%d of %d cases passed%s' % (
            len(names) - len(failed), len(names),
            '; failed: ' + ' '.join(failed) if failed else ''))
    sys.stdout.flush()
    return 1 if failed else 0
