#!/usr/bin/env python3
"""Writes the benchmark report (Markdown, on stdout) from one run of bench/run.sh.

    python3 bench/report.py full|smoke WORKDIR

WORKDIR holds samples.tsv (the host's output), load-before, load-after, timing-seconds and
cg/<kind>.<case>.<module>/callgrind.out; the rest comes from the environment that
bench/run.sh exports and from the machine itself.
"""

import collections
import datetime
import os
import re
import statistics
import subprocess
import sys

MODULES = ("ours", "c")
NAMES = {"ours": "ours", "c": "C"}


def sh(*cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, check=False).stdout.strip()
    except OSError:
        return ""


# ---------------------------------------------------------------------------------------
# Samples
# ---------------------------------------------------------------------------------------


def read_samples(path):
    cases = collections.OrderedDict()
    samples = collections.defaultdict(list)  # (case, module) -> [(start, auth, end)]
    conc = collections.OrderedDict()
    csamples = collections.defaultdict(list)
    waves = collections.defaultdict(list)
    checks = {}
    maps = {}
    fsyncs = []  # (new file, directory after the rename)
    with open(path) as f:
        for line in f:
            r = line.rstrip("\n").split("\t")
            if r[0] == "case":
                cases[r[1]] = {"group": r[2], "param": int(r[3]), "writes": int(r[6]),
                               "description": r[7]}
            elif r[0] == "check":
                checks[(r[1], r[2])] = (int(r[3]), int(r[4]), int(r[5]))
            elif r[0] == "sample":
                samples[(r[1], r[2])].append((int(r[4]), int(r[5]), int(r[6])))
            elif r[0] == "maps":
                maps[r[1]] = (int(r[2]), int(r[3]))
            elif r[0] == "conc":
                conc[r[1]] = {"threads": int(r[2]), "files": r[3]}
            elif r[0] == "csample":
                csamples[(r[1], r[2])].append((int(r[4]), int(r[5]), int(r[6])))
            elif r[0] == "wave":
                waves[(r[1], r[2])].append(int(r[4]))
            elif r[0] == "fsync":
                fsyncs.append((int(r[2]), int(r[3])))
    return cases, samples, conc, csamples, waves, checks, maps, fsyncs


def spread(values):
    """Median, 10th and 90th percentile."""
    v = sorted(values)
    if len(v) == 1:
        return v[0], v[0], v[0]
    d = statistics.quantiles(v, n=10, method="inclusive")
    return statistics.median(v), d[0], d[8]


def dur(ns):
    if ns < 1_000_000:
        return f"{ns / 1000:.0f} µs"
    if ns < 100_000_000:
        return f"{ns / 1e6:.2f} ms"
    return f"{ns / 1e6:.0f} ms"


def cell(values):
    m, lo, hi = spread(values)
    return f"{dur(m)} ({dur(lo)}–{dur(hi)})"


def ratio(a, b):
    return f"{a / b:.2f}" if b else "–"


# ---------------------------------------------------------------------------------------
# Callgrind
# ---------------------------------------------------------------------------------------

NAME_RE = re.compile(r"^\((\d+)\)(?: (.*))?$")


class Profile:
    """Self cost per (object, function), and inclusive cost of each function's calls."""

    def __init__(self, path):
        self.total = 0
        self.self_cost = collections.Counter()  # (object, function) -> Ir
        self.call_cost = collections.Counter()  # (object, function) -> Ir of its calls
        names = {"ob": {}, "fl": {}, "fn": {}}
        kind_of = {"ob": "ob", "cob": "ob", "fl": "fl", "fi": "fl", "fe": "fl", "cfi": "fl",
                   "cfl": "fl", "fn": "fn", "cfn": "fn"}
        ob = fn = None
        after_calls = False
        with open(path, errors="replace") as f:
            for line in f:
                line = line.rstrip("\n")
                if not line:
                    continue
                key, eq, value = line.partition("=")
                if eq and key in kind_of:
                    table = names[kind_of[key]]
                    m = NAME_RE.match(value)
                    if m:
                        if m.group(2) is not None:
                            table[m.group(1)] = m.group(2)
                        value = table.get(m.group(1), value)
                    if key == "ob":
                        ob = value
                    elif key == "fn":
                        fn = value
                    continue
                if eq and key == "calls":
                    after_calls = True
                    continue
                if line.startswith(("summary:", "totals:")):
                    self.total = max(self.total, int(line.split()[1]))
                    continue
                first = line[0]
                if first.isdigit() or first in "+-*":
                    parts = line.split()
                    cost = int(parts[1]) if len(parts) > 1 else 0
                    if after_calls:
                        self.call_cost[(ob, fn)] += cost
                        after_calls = False
                    else:
                        self.self_cost[(ob, fn)] += cost

    def by_object(self):
        c = collections.Counter()
        for (ob, _), v in self.self_cost.items():
            c[label(ob)] += v
        return c

    def inclusive(self, function):
        return sum(v for (ob, fn), v in self.self_cost.items() if fn == function) + sum(
            v for (ob, fn), v in self.call_cost.items() if fn == function
        )

    def top_functions(self, object_label, n):
        items = [(v, fn) for (ob, fn), v in self.self_cost.items() if label(ob) == object_label]
        return sorted(items, reverse=True)[:n]


def label(ob):
    if ob is None or ob == "???":
        return "other (vDSO, unknown)"
    base = os.path.basename(ob)
    if base == "libpam_google_authenticator.so":
        return "module"
    if base == "pam_google_authenticator.so":
        return "module"
    if base.startswith("ld-linux"):
        return "ld.so"
    if base.startswith("libpam.so"):
        return "libpam"
    if base.startswith("libc.so"):
        return "libc"
    if base.startswith("libgcc_s"):
        return "libgcc_s"
    if base == "ga_bench":
        return "host"
    return base


def load_profiles(work):
    profiles = {}
    cg = os.path.join(work, "cg")
    if not os.path.isdir(cg):
        return profiles
    for d in os.listdir(cg):
        kind, case, module = d.split(".")
        path = os.path.join(cg, d, "callgrind.out")
        if os.path.exists(path):
            profiles[(kind, case, module)] = Profile(path)
    return profiles


def short_fn(name):
    name = re.sub(r"::h[0-9a-f]{16}$", "", name)
    return name if len(name) <= 90 else name[:87] + "..."


# ---------------------------------------------------------------------------------------
# The machine
# ---------------------------------------------------------------------------------------


def machine(work):
    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    cores = os.cpu_count() or 1
    glibc = sh("getconf", "GNU_LIBC_VERSION")
    pam = sh("dpkg-query", "-W", "-f=${Version}", "libpam0g") or "?"
    rustc = sh("rustc", "--version") or "?"
    commit = sh("git", "rev-parse", "--short=12", "HEAD") or "?"
    # The report itself does not count as a local change.
    if sh("git", "status", "--porcelain", "--untracked-files=no", "--", ".",
          ":(exclude)docs/BENCHMARKS.md"):
        commit += " with uncommitted changes"
    before = open(os.path.join(work, "load-before")).read().split()
    after = open(os.path.join(work, "load-after")).read().split()
    return {
        "cpu": cpu,
        "cores": cores,
        "kernel": sh("uname", "-r"),
        "os": sh("sh", "-c", ". /etc/os-release && echo $PRETTY_NAME"),
        "tmpfs": os.environ.get("BENCH_TMPFS", "?"),
        "glibc": glibc,
        "pam": pam,
        "ref": os.environ.get("BENCH_REF_VERSION", "?"),
        "rustc": rustc,
        "commit": commit,
        "profile": os.environ.get("BENCH_PROFILE", "release"),
        "before": before,
        "after": after,
        "busy": max(float(before[0]), float(after[0])) > cores / 2,
        "seconds": open(os.path.join(work, "timing-seconds")).read().strip(),
    }


# ---------------------------------------------------------------------------------------
# The report
# ---------------------------------------------------------------------------------------


def main():
    mode, work = sys.argv[1], sys.argv[2]
    cases, samples, conc, csamples, waves, checks, maps, fsyncs = read_samples(
        os.path.join(work, "samples.tsv")
    )
    profiles = load_profiles(work)
    m = machine(work)
    iterations = os.environ.get("BENCH_ITERATIONS", "?")
    nwaves = os.environ.get("BENCH_WAVES", "?")
    out = []
    w = out.append

    w("# Benchmarks\n")
    w("Our module against Debian's C module (`libpam-google-authenticator`), through the real")
    w("Linux-PAM library, on the same secret files, call by call in alternation. This file is")
    w("written by `make bench` (`bench/run.sh`, `bench/report.py`); rerun it rather than edit")
    w("the figures. The last section is kept by hand.\n")
    if mode == "smoke":
        w("**Smoke run: a few calls per case; the figures mean nothing.**\n")

    w("## Machine and run\n")
    busy = (
        f"**yes: the 1-minute load average exceeded half the cores ({m['cores'] / 2:g}); "
        "the timings are noisy**" if m["busy"] else "no"
    )
    rows = [
        ("Date", datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")),
        ("CPU", f"{m['cpu']}, {m['cores']} cores"),
        ("System", f"{m['os']}, Linux {m['kernel']}"),
        ("Temp directory file system", m["tmpfs"]),
        ("glibc", m["glibc"]),
        ("Linux-PAM (libpam0g)", m["pam"]),
        ("Debian's module", m["ref"]),
        ("Our module", f"commit {m['commit']}, {m['profile']} build, {m['rustc']}"),
        ("Calls", f"{iterations} timed calls per case and module; {nwaves} waves per "
                  "concurrency setting and module"),
        ("Load average (1, 5, 15 min)", f"before timing {' '.join(m['before'])}; after "
                                         f"{' '.join(m['after'])} ({m['seconds']} s of timing)"),
        ("Busy machine", busy),
        ("Syslog", os.environ.get("BENCH_SYSLOG", "?")),
    ]
    sink = os.environ.get("BENCH_SINK")
    if sink:
        rows.append(("Log lines received", sink.replace(" ", ", ") + " (other: lines without "
                     "a service name; the C module's openlog ident is lost when another thread "
                     "calls closelog)"))
    w("| | |\n|---|---|")
    for k, v in rows:
        w(f"| {k} | {v} |")
    w("")

    w("## How to run\n")
    w("```sh")
    w("make bench                          # BENCH_ITERATIONS=200 BENCH_WAVES=20 by default")
    w("make bench BENCH_ITERATIONS=1000    # more calls per case")
    w("make bench-smoke                    # a few calls; part of make test (docs/ untouched)")
    w("```\n")
    w("`make bench` runs `cargo build --locked --release --lib` and `bash bench/run.sh full`:")
    w("it compiles the host `bench/ga_bench.c` and the syslog receiver `bench/syslog_sink.c`")
    w("(`cc -Wall -Wextra -Werror -O2`), takes Debian's module from `target/reference/` (fetched")
    w("with `apt-get download` and `dpkg -x` when missing, never installed), runs the timing, then")
    w("callgrind (`valgrind --tool=callgrind --toggle-collect=bench_auth_measured` and")
    w("`--toggle-collect=bench_login_measured`, one call per case and module), then this report.")
    w("A few minutes on two cores.\n")

    w("## Method\n")
    w("- One host process in C that links only libc and libpam (no libgcc_s: sshd, login and su")
    w("  do not link it, so a module that needs it pays for loading it at every login; the host")
    w("  refuses to run if it is mapped). Each call is `pam_start_confdir` with a private `pam.d` holding one")
    w("  line, `auth required <module> secret=<file> <args>`, then `pam_authenticate`, then")
    w("  `pam_end`; libpam loads the module in `pam_start` and unloads it in `pam_end`.")
    w("- Calls alternate between the modules, in random order within each pair, so both see the")
    w("  same machine state; both use the same secret file. Files that a call changes are")
    w("  restored (and fsynced) before every call, outside the timing.")
    w("- Both modules log to a receiver on `/dev/log` for the whole run; without one, the C")
    w("  module's `openlog(LOG_CONS)` writes each line to `/dev/console`.")
    w("- Before timing, each case is run once per module: both must return the case's PAM result")
    w("  with its number of prompts and change the file or not as the case says, or the run stops.")
    w("- Times are `CLOCK_MONOTONIC`, real clock (codes are computed by the host when typed).")
    w("  *start→end* is `pam_start`..`pam_end`, load and unload included; *auth* is")
    w("  `pam_authenticate` alone. Cells: median (10th–90th percentile); ratio = ours / C median")
    w("  (below 1: ours is faster).")
    w("- Secret files are what the setup command writes (option lines, then five scratch codes),")
    w(f"  in a private directory (`mktemp -d`, mode 0700) owned by the user; the PAM user is the")
    w("  invoking user. Instruction counts (callgrind) do not depend on the load.\n")

    def case_table(names, title):
        w(f"### {title}\n")
        w("| Case | What happens | start→end ours | start→end C | ratio | auth ours | auth C | ratio |")
        w("|---|---|---|---|---|---|---|---|")
        for name in names:
            o, c = samples.get((name, "ours")), samples.get((name, "c"))
            if not o or not c:
                continue
            ot = [s + a + e for s, a, e in o]
            ct = [s + a + e for s, a, e in c]
            oa = [a for _, a, _ in o]
            ca = [a for _, a, _ in c]
            w(f"| `{name}` | {cases[name]['description']} | {cell(ot)} | {cell(ct)} | "
              f"{ratio(spread(ot)[0], spread(ct)[0])} | {cell(oa)} | {cell(ca)} | "
              f"{ratio(spread(oa)[0], spread(ca)[0])} |")
        w("")

    groups = collections.OrderedDict()
    for name, c in cases.items():
        groups.setdefault(c["group"], []).append(name)

    w("## Results\n")
    case_table(groups.get("path", []), "Paths")
    case_table(groups.get("window", []) + [n for n in ("totp_ok", "totp_wrong_noskewadj") if n in cases],
               "WINDOW_SIZE 3, 17, 100")
    case_table(groups.get("entries", []) + [n for n in ("reuse_ok",) if n in cases],
               "DISALLOW_REUSE and RATE_LIMIT entries (0, 10, 1,000)")

    w("### Loading and unloading\n")
    w("Medians of `pam_start` (reads the service file, loads the module) and `pam_end` (unloads it).\n")
    w("| Case | pam_start ours | pam_start C | pam_end ours | pam_end C | share of start→end, ours | share, C |")
    w("|---|---|---|---|---|---|---|")
    for name in groups.get("path", []):
        o, c = samples.get((name, "ours")), samples.get((name, "c"))
        if not o or not c:
            continue
        def share(v):
            total = statistics.median([s + a + e for s, a, e in v])
            return f"{(statistics.median([s for s, _, _ in v]) + statistics.median([e for _, _, e in v])) / total:.0%}"
        w(f"| `{name}` | {dur(statistics.median([s for s, _, _ in o]))} | "
          f"{dur(statistics.median([s for s, _, _ in c]))} | "
          f"{dur(statistics.median([e for _, _, e in o]))} | "
          f"{dur(statistics.median([e for _, _, e in c]))} | {share(o)} | {share(c)} |")
    w("")
    gcc = [n for n, (g, _) in maps.items() if g]
    mod = [n for n, (_, mm) in maps.items() if mm]
    w("After every case, with no login in progress, the host checked `/proc/self/maps`: "
      + ("libgcc_s stayed mapped after " + ", ".join(gcc) + " (later loads were cheaper). "
         if gcc else "libgcc_s was not mapped; ")
      + ("a module stayed mapped after " + ", ".join(mod) + "." if mod
         else "neither module stayed mapped.") + "\n")

    writing = [n for n, c in cases.items() if c["writes"] and samples.get((n, "ours"))
               and samples.get((n, "c"))]
    if fsyncs and writing:
        dir_sync = spread([d for _, d in fsyncs])[0]
        w("### Writes and their syncs\n")
        w("Every writing case writes the file once per login. Both modules write a new file,")
        w("sync it and rename it over the old one; ours then also syncs the directory, so that")
        w("the rename itself survives a crash (Google's module does not: after a power cut the")
        w("directory may still name the old file, and a used code or a rate-limit record is")
        w("lost). That is 2 syncs per login for ours, 1 for Google's (`strace -e trace=fsync`).")
        w("The allowance for it is one directory sync, measured in the same run on the same")
        w("directory by the host alone (`fsync` of a new 101-byte file, then of the directory")
        w("after renaming it into place; medians and 10th–90th percentiles):\n")
        w(f"- `fsync` of the new file: {cell([f for f, _ in fsyncs])}")
        w(f"- `fsync` of the directory after the rename: {cell([d for _, d in fsyncs])}\n")
        w("| Case | start→end ours | start→end C | C + one directory sync | ours / (C + one directory sync) |")
        w("|---|---|---|---|---|")
        for name in writing:
            o = spread([s + a + e for s, a, e in samples[(name, "ours")]])[0]
            c = spread([s + a + e for s, a, e in samples[(name, "c")]])[0]
            w(f"| `{name}` | {dur(o)} | {dur(c)} | {dur(c + dir_sync)} | {ratio(o, c + dir_sync)} |")
        w("")

    if conc:
        w("## Concurrent logins\n")
        w("Waves of N threads in the host, each with its own PAM handle, released together; the")
        w("right TOTP code (`totp_ok`, nothing written). *same*: one secret file for all threads;")
        w("*distinct*: one file per thread (one service file each, same account). Per-login:")
        w("start→end of each login; wave: from the release to the last `pam_end`.\n")
        w("| Setting | Per login ours | Per login C | ratio | Wave ours | Wave C | ratio |")
        w("|---|---|---|---|---|---|---|")
        for name, c in conc.items():
            o = [s + a + e for s, a, e in csamples[(name, "ours")]]
            cc = [s + a + e for s, a, e in csamples[(name, "c")]]
            wo, wc = waves[(name, "ours")], waves[(name, "c")]
            w(f"| {c['threads']} {c['files']} | {cell(o)} | {cell(cc)} | "
              f"{ratio(spread(o)[0], spread(cc)[0])} | {cell(wo)} | {cell(wc)} | "
              f"{ratio(spread(wo)[0], spread(wc)[0])} |")
        w("")

    w("## Instruction counts (callgrind)\n")
    if not profiles:
        w("Not measured in this run (BENCH_CALLGRIND=0).\n")
    else:
        w("Instructions of one call (after one warm-up call in the same process), counted by")
        w("callgrind; they do not depend on the machine's load.\n")
        w("| Case | auth ours | auth C | ratio | start→end ours | start→end C | ratio |")
        w("|---|---|---|---|---|---|---|")
        for name in cases:
            got = [profiles.get((k, name, mod)) for k in ("auth", "login") for mod in MODULES]
            if not all(got):
                continue
            ao, ac, lo, lc = (p.total for p in got)
            w(f"| `{name}` | {ao:,} | {ac:,} | {ratio(ao, ac)} | {lo:,} | {lc:,} | {ratio(lo, lc)} |")
        w("")

        w("## Profiles: where the instructions go\n")
        w("Instructions executed in each ELF object (self cost, so the rows add up to the total),")
        w("for `pam_authenticate` alone and for `pam_start`..`pam_end`; `module` is the module")
        w("measured in that column. Then the split of start→end between `pam_start` (service file,")
        w("module load: ld.so maps and relocates it and its libraries and runs their constructors),")
        w("`pam_authenticate` and `pam_end` (unload), and the module's costliest functions in")
        w("`pam_authenticate` (Debian's module is stripped: addresses only). Loading a module's")
        w("libraries (mapping, relocation, symbol lookup) is counted under ld.so; a library's row")
        w("is its own code only. System calls and page faults are not instructions: the time")
        w("tables show them.\n")
        for name in cases:
            if cases[name]["group"] != "path":
                continue
            got = {(k, mod): profiles.get((k, name, mod)) for k in ("auth", "login") for mod in MODULES}
            if not all(got.values()):
                continue
            w(f"### `{name}`\n")
            objs = collections.Counter()
            per = {key: p.by_object() for key, p in got.items()}
            for c in per.values():
                for k, v in c.items():
                    objs[k] += v
            w("| Object | auth ours | auth C | start→end ours | start→end C |")
            w("|---|---|---|---|---|")
            for ob, _ in objs.most_common():
                cells = []
                for key in (("auth", "ours"), ("auth", "c"), ("login", "ours"), ("login", "c")):
                    v = per[key].get(ob, 0)
                    t = got[key].total or 1
                    cells.append(f"{v:,} ({v / t:.0%})" if v else "–")
                w(f"| {ob} | " + " | ".join(cells) + " |")
            w("| total | " + " | ".join(
                f"{got[key].total:,}" for key in (("auth", "ours"), ("auth", "c"), ("login", "ours"), ("login", "c"))) + " |")
            w("")
            for mod in MODULES:
                p = got[("login", mod)]
                t = p.total or 1
                parts = [(f, p.inclusive(f)) for f in ("pam_start_confdir", "pam_authenticate", "pam_end")]
                w(f"- {NAMES[mod]}, start→end: " + ", ".join(
                    f"`{f}` {v:,} ({v / t:.0%})" for f, v in parts))
            for mod in MODULES:
                top = got[("auth", mod)].top_functions("module", 5)
                if top:
                    w(f"- {NAMES[mod]}, costliest functions of the module in `pam_authenticate`: " + "; ".join(
                        f"`{short_fn(fn)}` {v:,}" for v, fn in top))
            w("")

    other = os.path.join(os.path.dirname(os.path.abspath(__file__)), "other-measurements.md")
    if os.path.exists(other):
        w(open(other).read().rstrip("\n"))
    print("\n".join(out))


if __name__ == "__main__":
    main()
