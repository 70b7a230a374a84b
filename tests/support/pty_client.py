#!/usr/bin/env python3
"""Drives an interactive client (ssh, pamtester) through a pseudo-terminal.

Usage:
    pty_client.py RESULT TRANSCRIPT TIMEOUT [REGEX ANSWER]... -- COMMAND [ARG]...

Each time the client's output matches one of the REGEX, the matching ANSWER is typed,
followed by Enter. ANSWER is one of:
    lit:TEXT               TEXT as given
    totp:SECRET:PREFIX     PREFIX followed by the current TOTP code of the base32 SECRET,
                           computed from the real clock at the moment the prompt appears
The client runs until it exits (or TIMEOUT seconds pass, then it is killed).

RESULT receives one record per line, fields separated by TAB, with backslash, TAB, CR
and LF escaped as \\ \t \r \n:
    prompt  <prompt text>  <typed answer>  <1 if the answer was echoed back, else 0>
    exit    <exit status, or -signal>
    timeout <seconds>      (only when the client was killed)
TRANSCRIPT receives everything the client wrote to the terminal.
"""
import base64
import hashlib
import hmac
import struct
import sys
import time

import pexpect

MAX_PROMPTS = 8


def totp(secret_b32):
    key = base64.b32decode(secret_b32.upper() + "=" * (-len(secret_b32) % 8))
    counter = int(time.time()) // 30
    digest = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    off = digest[19] & 15
    value = struct.unpack(">I", digest[off:off + 4])[0] & 0x7FFFFFFF
    return "%06d" % (value % 1000000)


def answer_text(spec):
    kind, _, rest = spec.partition(":")
    if kind == "lit":
        return rest
    if kind == "totp":
        secret, _, prefix = rest.partition(":")
        return prefix + totp(secret)
    raise SystemExit("unknown answer kind: " + spec)


def esc(s):
    return (s.replace("\\", "\\\\").replace("\t", "\\t")
            .replace("\r", "\\r").replace("\n", "\\n"))


def main():
    result_path, transcript_path, timeout = sys.argv[1], sys.argv[2], float(sys.argv[3])
    rest = sys.argv[4:]
    sep = rest.index("--")
    pairs, command = rest[:sep], rest[sep + 1:]
    regexes, answers = pairs[0::2], pairs[1::2]
    deadline = time.monotonic() + timeout
    records = []
    transcript = open(transcript_path, "w", encoding="utf-8", errors="replace")
    child = pexpect.spawn(command[0], command[1:], encoding="utf-8",
                          codec_errors="replace", dimensions=(24, 200))
    child.logfile_read = transcript
    pending = None  # (prompt, sent) whose echo is judged from the next output
    timed_out = False
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            timed_out = True
            break
        try:
            i = child.expect(regexes + [pexpect.EOF], timeout=left)
        except pexpect.TIMEOUT:
            timed_out = True
            break
        if pending is not None:
            prompt, sent = pending
            echoed = sent != "" and sent in (child.before or "")
            records.append(("prompt", prompt, sent, "1" if echoed else "0"))
            pending = None
        if i == len(regexes):
            break
        if sum(1 for r in records if r[0] == "prompt") >= MAX_PROMPTS:
            records.append(("prompt", child.after, "<too many prompts>", "0"))
            break
        sent = answer_text(answers[i])
        child.sendline(sent)
        pending = (child.after, sent)
    if pending is not None:
        records.append(("prompt", pending[0], pending[1], "0"))
    if timed_out:
        records.append(("timeout", str(timeout)))
        child.terminate(force=True)
    child.close()
    status = child.exitstatus if child.exitstatus is not None else -(child.signalstatus or 0)
    records.append(("exit", str(status)))
    transcript.close()
    with open(result_path, "w", encoding="utf-8") as out:
        for rec in records:
            out.write("\t".join(esc(f) for f in rec) + "\n")


if __name__ == "__main__":
    main()
