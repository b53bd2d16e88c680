#!/usr/bin/python3
"""Differential test: outbox against msmtp, case by case.

  diffrun.py --outbox PATH [--msmtp PATH] [--certs DIR] CASE...  ("all":
                                                          every case)
  diffrun.py --list

For each case (defined in cases.py) the same configuration file (mode
600), the same argv and the same standard input are given to msmtp and to
outbox, each talking to the library's SMTP sink (tests/lib/outboxtest/
smtpserver.py, run inside this program) on 127.0.0.1, which keeps every
session.  What the two clients did is then compared:

  exit      the exit status: its class (0 or not) by default, the exact
            value when the case says exit="exact"
  greeting  the EHLO/HELO/LHLO command with its argument
  auth      the AUTH mechanism and the credentials it carried
  mail      the MAIL FROM argument (with its parameters)
  rcpt      the RCPT TO arguments, in order (or as a set: rcpt_order="set")
  delivered whether a message was accepted after the final dot
  headers   the delivered header fields, names and values, in order
            (unfolded exactly as sent; the values of Date and Message-ID are
            masked, their presence is compared)
  separator whether a blank line separated the header from the body
  body      the body, line endings normalised to LF

A case may list deliberate differences in expect_diff: for each listed
aspect it gives the exact value expected from each side and the reason
(where outbox documents the difference).  Every other difference fails the
case.  A case may also give absolute expectations (expect) that both sides
must meet, so that a case whose two sides agree for the wrong reason is
caught too.

msmtp missing is a failure, never a skip.  Python 3 standard library only.
"""

import difflib
import email.utils
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.dont_write_bytecode = True  # keep the source tree clean

import cases as casedefs  # noqa: E402
from outboxtest import PY, tool  # noqa: E402
from outboxtest import cases as registry  # noqa: E402
from outboxtest.smtpserver import Sink  # noqa: E402

CASES = registry.Registry()
for _c in casedefs.CASES:
    CASES.add(_c.name, _c)
# What the server offers when a case does not say (its "ext").
EXT = ["PIPELINING"]

ASPECTS = ["exit", "greeting", "auth", "mail", "rcpt", "delivered", "headers",
           "separator", "body"]
MASKED = ("date", "message-id")
FIELD_RE = re.compile(rb"^[\x21-\x39\x3b-\x7e]+:")


# -- observation -----------------------------------------------------------

def split_message(data):
    """(fields, separator, body) of a delivered message.

    fields is a list of raw field texts (continuation lines kept, joined by
    LF); the header ends at the first empty line (separator True) or at the
    first line that is neither a field nor a continuation (separator
    False)."""
    text = data.replace(b"\r\n", b"\n")
    lines = text.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    fields, i, sep = [], 0, False
    while i < len(lines):
        l = lines[i]
        if l == b"":
            sep = True
            i += 1
            break
        if l[:1] in (b" ", b"\t") and fields:
            fields[-1] += b"\n" + l
        elif FIELD_RE.match(l):
            fields.append(l)
        else:
            break
        i += 1
    body = b"".join(x + b"\n" for x in lines[i:])
    dec = [f.decode("utf-8", "backslashreplace") for f in fields]
    return dec, sep, body.decode("utf-8", "backslashreplace")


DATE_RE = re.compile(r"(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), )?\d{1,2} "
                     r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "
                     r"\d{4} \d\d:\d\d(?::\d\d)? ([+-]\d{4})")


def mask(field, given=()):
    """The field with a Date or Message-ID value masked (unless the input
    had such a field: then the value is compared); a Date keeps its zone
    offset, which is deterministic (TZ is set)."""
    name, _, value = field.partition(":")
    if name.lower() in given:
        return field
    if name.lower() == "date":
        m = DATE_RE.fullmatch(" ".join(value.split()))
        if m and m.group(1) != "+0000":
            return name + ": <value ignored> " + m.group(1)
        return name + ": <value ignored>"
    if name.lower() in MASKED:
        return name + ": <value ignored>"
    return field


def observe(rc, sessions, stderr, given=()):
    obs = {"exit": rc, "greeting": None, "auth": None, "mail": None,
           "rcpt": [],
           "delivered": False, "headers": None, "separator": None,
           "body": None, "_stderr": stderr, "_raw": None,
           "_sessions": len(sessions), "_errors": [], "_rawfields": []}
    trs = []
    for s in sessions:
        obs["_errors"] += s["errors"]
        if s["greeting"] is not None:
            obs["greeting"] = s["greeting"]
        if s["auth"] is not None:
            obs["auth"] = s["auth"]
        trs += s["transactions"]
    if len(trs) > 1:
        obs["_errors"].append("%d transactions (expected at most one)"
                              % len(trs))
    if trs:
        tr = trs[-1]
        obs["mail"] = tr["mail"]
        obs["rcpt"] = [r["arg"] for r in tr["rcpt"]]
        if tr["data"] is not None and tr["final"] and \
                all(f.startswith("2") for f in tr["final"]):
            obs["delivered"] = True
            obs["_raw"] = tr["data"]
            fields, sep, body = split_message(tr["data"])
            obs["_rawfields"] = fields
            obs["headers"] = [mask(f, given) for f in fields]
            obs["separator"] = sep
            obs["body"] = body
    return obs


def sanity(obs):
    """Problems with the masked fields themselves (either side)."""
    out = []
    for f in obs["_rawfields"]:
        name, _, value = f.partition(":")
        v = " ".join(value.split())
        if name.lower() == "date" and obs["_added_date"]:
            if not DATE_RE.fullmatch(v):
                out.append("Date value is not RFC 5322 date-time: %r" % v)
            else:
                t = email.utils.parsedate_to_datetime(v).timestamp()
                if abs(t - obs["_time"]) > 300:
                    out.append("Date value is not the time of sending: %r"
                               % v)
        if name.lower() == "message-id" and \
                not re.fullmatch(r"<[^<>@\s]+@[^<>@\s]+>", v):
            out.append("Message-ID value is not <x@y>: %r" % v)
    names = [f.split(":", 1)[0].lower() for f in obs["_rawfields"]]
    for n in ("date", "message-id", "from"):
        if names.count(n) > 1:
            out.append("%d %s fields" % (names.count(n), n))
    return out


# -- running one side ------------------------------------------------------

def run_side(prog, argv0, case, work, server, env):
    conf = os.path.join(work, "config")
    if argv0 == "msmtp" and case.config_msmtp is not None:
        conf = os.path.join(work, "config-msmtp")
    args = [prog] + ([] if case.no_config else ["-C", conf]) + case.argv
    started = time.time()
    try:
        p = subprocess.run(args, input=case.stdin, capture_output=True,
                           env=env, cwd=work, timeout=case.timeout)
        rc, err = p.returncode, p.stderr.decode("utf-8", "replace")
    except subprocess.TimeoutExpired as e:
        rc = "timeout"
        err = (e.stderr or b"").decode("utf-8", "replace") + \
            "\n[killed after %d s]" % case.timeout
    head = re.split(rb"\r?\n\r?\n", case.stdin, 1)[0]
    given = [n for n in MASKED
             if re.search(rb"(?im)^" + n.encode() + rb":", head)]
    obs = observe(rc, server.take(), err, given)
    obs["_added_date"] = "date" not in given
    obs["_time"] = started
    if "Permission denied" in err and argv0 == "msmtp":
        obs["_stderr"] += ("(hint: an enforcing AppArmor profile for msmtp "
                           "forbids files below /tmp/*/; run "
                           "'aa-complain /usr/bin/msmtp')\n")
    return obs


def setup(case, work, port, certs, proxy_port=0):
    subst = {"@PORT@": str(port), "@DIR@": work, "@CERTS@": certs or "",
             "@PROXY_PORT@": str(proxy_port)}

    def fill(s):
        for k, v in subst.items():
            s = s.replace(k, v)
        return s

    for name, text in case.files.items():
        p = os.path.join(work, name)
        with open(p, "w") as f:
            f.write(fill(text))
        os.chmod(p, 0o600)
    for name, text in (("config", case.config),
                       ("config-msmtp", case.config_msmtp)):
        if text is None:
            continue
        conf = os.path.join(work, name)
        fd = os.open(conf, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(fill(text))
        os.chmod(conf, 0o600)
    case.argv = [fill(a) for a in case.argv]


# -- comparison ------------------------------------------------------------

def norm(case, aspect, v):
    if aspect == "rcpt" and case.rcpt_order == "set" and v is not None:
        return sorted(v)
    if aspect == "exit" and case.exit != "exact" and isinstance(v, int):
        return "0" if v == 0 else "non-0"
    return v


def fmt(v):
    if isinstance(v, list):
        return v
    return [repr(v) if not isinstance(v, str) else v]


def side_by_side(left, right, width=60):
    """Aligned two-column listing of two lists of strings."""
    out = []
    sm = difflib.SequenceMatcher(a=left, b=right, autojunk=False)
    for op, a0, a1, b0, b1 in sm.get_opcodes():
        n = max(a1 - a0, b1 - b0)
        for k in range(n):
            l = left[a0 + k] if a0 + k < a1 else ""
            r = right[b0 + k] if b0 + k < b1 else ""
            mark = " " if op == "equal" else ("<" if not r else
                                              (">" if not l else "|"))
            lparts = l.split("\n")
            rparts = r.split("\n")
            for j in range(max(len(lparts), len(rparts))):
                lp = lparts[j] if j < len(lparts) else ""
                rp = rparts[j] if j < len(rparts) else ""
                out.append("  %-*s %s %s" % (width, lp[:width * 2],
                                             mark if j == 0 else " ", rp))
    return out


def compare_outbox_only(case, m, o):
    """The installed msmtp lacks the feature (a version gap, not a
    difference): msmtp must refuse the file, outbox must meet expect."""
    fails = []
    if m["exit"] != 78 or m["greeting"] is not None:
        fails.append(("msmtp was expected to refuse the configuration "
                      "(exit 78, no connection): %s" % case.msmtp_unsupported,
                      ["78", "no connection"],
                      [str(m["exit"]), str(m["greeting"])],
                      "expected", "msmtp"))
    for aspect, want in case.expect.items():
        got = o[aspect]
        if aspect == "rcpt" and case.rcpt_order == "set":
            want, got = sorted(want), sorted(got)
        if got != want:
            fails.append(("%s: outbox does not give the expected value"
                          % aspect, fmt(want), fmt(got), "expected",
                          "outbox"))
    return fails


def compare(case, m, o):
    """List of failure descriptions (empty: the case passes)."""
    if case.msmtp_unsupported:
        return compare_outbox_only(case, m, o) + \
            compare_common(case, [("outbox", o)])
    fails = []
    for aspect in ASPECTS:
        mv, ov = norm(case, aspect, m[aspect]), norm(case, aspect, o[aspect])
        if aspect in case.expect_diff:
            # A listed difference is checked exactly on each side.
            d = case.expect_diff[aspect]
            em, eo = d["msmtp"], d["outbox"]
            mv, ov = m[aspect], o[aspect]
            if aspect == "rcpt" and case.rcpt_order == "set":
                em, eo, mv, ov = sorted(em), sorted(eo), sorted(mv), sorted(ov)
            bad = []
            if mv != em:
                bad.append(("msmtp", em, mv))
            if ov != eo:
                bad.append(("outbox", eo, ov))
            for side, want, got in bad:
                fails.append(("%s: the listed deliberate difference does "
                              "not hold on the %s side (%s)"
                              % (aspect, side, d.get("why", "")),
                              fmt(want), fmt(got), "expected", side))
            continue
        if mv != ov:
            fails.append(("%s differs (not a listed deliberate difference)"
                          % aspect, fmt(mv), fmt(ov), "msmtp", "outbox"))
        if aspect in case.expect:
            # Absolute expectations are exact (the exit status too).
            want = case.expect[aspect]
            if aspect == "rcpt" and case.rcpt_order == "set":
                want = sorted(want)
            for side, got in (("msmtp", m[aspect]), ("outbox", o[aspect])):
                if aspect == "rcpt" and case.rcpt_order == "set":
                    got = sorted(got)
                if got != want:
                    fails.append(("%s: %s does not give the expected value"
                                  % (aspect, side), fmt(want), fmt(got),
                                  "expected", side))
    return fails + compare_common(case, [("msmtp", m), ("outbox", o)])


def compare_common(case, sides):
    fails = []
    for side, obs in sides:
        if case.expect_nonzero and obs["exit"] == 0:
            fails.append(("exit: %s must fail (non-zero)" % side,
                          ["non-0"], ["0"], "expected", side))
        hdrs = obs["headers"] or []
        names = [h.split(":", 1)[0].lower() for h in hdrs]
        for n in case.expect_headers_absent:
            if n.lower() in names:
                fails.append(("%s: field %s must be absent" % (side, n),
                              [n + ": (absent)"], hdrs, "expected", side))
        for n in case.expect_headers_present:
            if obs["delivered"] and n.lower() not in names:
                fails.append(("%s: field %s must be present" % (side, n),
                              [n + ": (present)"], hdrs, "expected", side))
        for p in sanity(obs):
            fails.append(("%s: %s" % (side, p), [], [], "", side))
        for e in obs["_errors"]:
            fails.append(("%s: %s" % (side, e), [], [], "", side))
    return fails


def report(case, m, o, fails, out):
    w = out.write
    w("=" * 78 + "\n")
    w("differential/%s: %s\n  %s\n" % (case.name, "FAIL" if fails else "ok",
                                       case.doc))
    w("  argv: %s\n" % " ".join(case.argv))
    for title, left, right, lt, rt in fails:
        w("\n* %s\n" % title)
        if left or right:
            w("  %-60s   %s\n" % (lt, rt))
            w("  %-60s   %s\n" % ("-" * len(lt), "-" * len(rt)))
            for line in side_by_side(left, right):
                w(line + "\n")
    w("\n--- whole observation, side by side (msmtp | outbox) ---\n")
    for aspect in ASPECTS:
        w("[%s]\n" % aspect)
        for line in side_by_side(fmt(m[aspect]), fmt(o[aspect])):
            w(line + "\n")
    for side, obs in (("msmtp", m), ("outbox", o)):
        w("--- %s stderr ---\n%s" % (side, obs["_stderr"] or "(empty)\n"))
        if obs["_raw"] is not None:
            w("--- %s delivered message (raw) ---\n%s\n" % (
                side, obs["_raw"].decode("utf-8", "backslashreplace")))
    w("=" * 78 + "\n")


def start_proxy(options):
    """The test library's SOCKS5 proxy, and the port it listens on."""
    p = subprocess.Popen([PY, "-B", tool("socks5.py")] + list(options),
                         stdout=subprocess.PIPE)
    line = p.stdout.readline().decode()
    if not line.startswith("PORT "):
        p.kill()
        raise RuntimeError("the SOCKS5 proxy did not start: %r" % line)
    return p, int(line.split()[1])


def run_case(case, outbox, msmtp, certs, keep=False, verbose=False,
             out=sys.stdout):
    work = tempfile.mkdtemp(prefix="outbox-diff-")
    server = proxy = None
    proxy_port = 0
    try:
        rules = dict(case.server)
        rules.setdefault("ext", EXT)
        unix = os.path.join(work, "smtp.sock") if rules.pop("unix", None) \
            else None
        server = Sink(rules, certs=certs, unix=unix)
        if case.proxy is not None:
            proxy, proxy_port = start_proxy(case.proxy)
        setup(case, work, server.port, certs, proxy_port)
        os.makedirs(os.path.join(work, "home"), exist_ok=True)
        env = {
            "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
            "HOME": os.path.join(work, "home"),
            "XDG_CONFIG_HOME": os.path.join(work, "home", ".config"),
            "USER": "difftest", "LOGNAME": "difftest",
            "HOSTNAME": "diffhost.example", "TZ": "UTC", "LC_ALL": "C.UTF-8",
        }
        for k, v in case.env.items():
            if v is None:
                env.pop(k, None)
            else:
                env[k] = v
        m = run_side(msmtp, "msmtp", case, work, server, env)
        o = run_side(outbox, "outbox", case, work, server, env)
        fails = compare(case, m, o)
        if fails or verbose:
            report(case, m, o, fails, out)
            if fails:
                return False
            return True
        out.write("differential/%s: ok\n" % case.name)
        return True
    finally:
        if server:
            server.close()
        if proxy:
            proxy.terminate()
            proxy.wait(timeout=10)
        if keep:
            out.write("kept %s\n" % work)
        else:
            shutil.rmtree(work, ignore_errors=True)


def options(ap):
    ap.add_argument("--msmtp", default="/usr/bin/msmtp",
                    help="the msmtp compared with (default /usr/bin/msmtp)")
    ap.add_argument("--verbose", action="store_true",
                    help="show both observations even when a case passes")


def check(a):
    if not os.access(a.msmtp, os.X_OK):
        return ("msmtp not found at %s: the differential test needs it "
                "(apt-get install msmtp). This is a failure, not a skip."
                % a.msmtp)
    return None


def run_one(name, a):
    c = CASES.fn(name)
    if c.server.get("tls") and not (
            a.certs and os.path.exists(os.path.join(a.certs, "server.pem"))):
        print("FAIL: differential/%s needs --certs DIR with server.pem "
              "(tests/lib/outboxtest/certs.py DIR)" % c.name)
        return False
    return run_case(c, a.outbox, a.msmtp, a.certs, a.keep, a.verbose)


if __name__ == "__main__":
    sys.exit(registry.main(CASES, run_one, __doc__, options=options,
                           check=check))
