#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets into fuzz/seeds/<target>/.

The seeds are real inputs: the secret files the tests use, files written by the setup
command (when its binary is given, e.g. target/release/google-authenticator), the module
argument lines of pam.d/ and the manual, typical answers, and setup command lines from the
README and the manual. Run it from anywhere:

    python3 fuzz/seeds/make-seeds.py [path/to/google-authenticator]
"""

import base64
import hashlib
import hmac
import os
import shutil
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))

SECRET = "2SH3V3GDW7ZNMGYE"  # upstream's unit-test secret
NOW = 1_700_000_000


def b32decode(s):
    import base64
    pad = "=" * (-len(s) % 8)
    return base64.b32decode(s + pad)


def hotp(secret, counter, digits=6):
    mac = hmac.new(b32decode(secret), struct.pack(">Q", counter), hashlib.sha1).digest()
    off = mac[19] & 0x0F
    code = struct.unpack(">I", mac[off:off + 4])[0] & 0x7FFFFFFF
    return "%0*d" % (digits, code % 10 ** digits)


def totp(secret, t, step=30):
    return hotp(secret, t // step)


# Secret files, as the tests write them and as upstream's format documents them.
SECRET_FILES = {
    "totp": f"{SECRET}\n\" TOTP_AUTH\n",
    "totp-disallow": f"{SECRET}\n\" TOTP_AUTH\n\" DISALLOW_REUSE\n",
    "totp-disallow-used": f"{SECRET}\n\" TOTP_AUTH\n\" DISALLOW_REUSE {NOW // 30 - 1} {NOW // 30}\n",
    "totp-rate": f"{SECRET}\n\" TOTP_AUTH\n\" RATE_LIMIT 3 30\n",
    "totp-rate-stamps": f"{SECRET}\n\" TOTP_AUTH\n\" RATE_LIMIT 3 30 {NOW} {NOW} {NOW}\n",
    "setup-default": f"{SECRET}\n\" RATE_LIMIT 3 30\n\" WINDOW_SIZE 17\n\" DISALLOW_REUSE\n\" TOTP_AUTH\n"
    "12345678\n87654321\n11223344\n44332211\n55667788\n",
    "window-step": f"{SECRET}\n\" WINDOW_SIZE 17\n\" STEP_SIZE 60\n\" TOTP_AUTH\n",
    "hotp": f"{SECRET}\n\" HOTP_COUNTER 1\n",
    "hotp-window": f"{SECRET}\n\" WINDOW_SIZE 17\n\" HOTP_COUNTER 1\n",
    "resetting-skew": f"{SECRET}\n\" RESETTING_TIME_SKEW 10000-100\n\" TOTP_AUTH\n",
    "time-skew": f"{SECRET}\n\" TIME_SKEW -2\n\" TOTP_AUTH\n",
    "last": f"{SECRET}\n\" LAST0 10.1.2.3 {NOW}\n\" TOTP_AUTH\n",
    "last-many": f"{SECRET}\n\" LAST0 10.0.0.1 {NOW - 10}\n\" LAST1 host.example {NOW - 5}\n"
    f"\" LAST9 ::1 {NOW}\n\" TOTP_AUTH\n",
    "scratch-only": f"{SECRET}\n\" TOTP_AUTH\n12345678\n",
    "crlf": f"{SECRET}\r\n\" TOTP_AUTH\r\n\" DISALLOW_REUSE\r\n12345678\r\n",
    "no-final-newline": f"{SECRET}\n\" TOTP_AUTH",
    "old-secret": "OLDSECRETOLDSECRETOLDSECRETOLDSE\n\" TOTP_AUTH\n12345678\n",
    "long-secret": "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP\n\" TOTP_AUTH\n",
}

MODULE_ARGS = [
    [],
    ["forward_pass"],
    ["nullok"],
    ["secret=${HOME}/.google_authenticator"],
    ["secret=/var/lib/google-authenticator/${USER}", "user=root"],
    ["secret=/etc/ga/%u", "user=0", "allowed_perm=0640"],
    ["try_first_pass", "noskewadj"],
    ["use_first_pass", "no_increment_hotp"],
    ["grace_period=86400", "debug"],
    ["no_strict_owner", "allow_readonly", "echo_verification_code"],
    ["authtok_prompt=OTP: ", "echo-verification-code"],
    ["allowed_perm=0600", "grace_period=0", "nullok", "forward_pass"],
]

ANSWERS = [
    "123456", "12345678", "password123456", "password12345678", "", "12345",
    "1234567", "  123456", "pass word\t654321", "abcdef", "0000000000", "secret",
]

CLI_ARGS = [
    [],
    ["-h"],
    ["--version"],
    ["-t", "-d", "-f", "-r", "3", "-R", "30", "-w", "3", "-C", "-Q", "UTF8"],
    ["--user", "ga-demo-12345", "-t", "-d", "-f", "-C", "-u", "-W", "-e", "2", "-Q", "UTF8"],
    ["--time-based", "--disallow-reuse", "--force", "--rate-limit=3", "--rate-time=30",
     "--window-size=17", "--qr-mode=NONE"],
    ["-tdf", "-r3", "-R30", "-w3", "-QANSI_INVERSE"],
    ["-c", "-f", "-s", "/tmp/secret", "--label=alice@host", "--issuer=Example Corp"],
    ["-c", "-d"],
    ["-t", "-S", "60", "-e", "10", "-q", "--no-confirm", "--minimal-window"],
    ["--time", "--dis", "--forc", "--emergency-codes", "0"],
    ["-r", "11", "-R", "14"],
    ["-x"],
    ["-r"],
    ["-t", "extra"],
]

SETUP_RUNS = [
    ["-t", "-d", "-f", "-r", "3", "-R", "30", "-w", "3", "-C", "-Q", "NONE", "-q"],
    ["-t", "-D", "-f", "-u", "-W", "-e", "2", "-C", "-Q", "NONE", "-q"],
    ["-c", "-f", "-u", "-w", "17", "-e", "0", "-C", "-Q", "NONE", "-q"],
    ["-t", "-d", "-f", "-S", "60", "-w", "5", "-r", "10", "-R", "600", "-C", "-Q", "NONE", "-q"],
]


TARGETS = ["secret_file", "module_args", "code_input", "policy", "cli_options"]
OUT = os.path.join(HERE, ".new")


def write(target, name, data):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def setup_files(binary):
    files = {}
    for i, args in enumerate(SETUP_RUNS):
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "google_authenticator")
            subprocess.run([binary, "-s", path] + args, check=True, stdin=subprocess.DEVNULL,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            with open(path, "rb") as f:
                files[f"setup-command-{i}"] = f.read()
    return files


def main():
    # Everything is written to a scratch directory first, so a failure leaves the committed
    # seeds as they were.
    shutil.rmtree(OUT, ignore_errors=True)
    generate()
    for target in TARGETS:
        old = os.path.join(HERE, target)
        shutil.rmtree(old, ignore_errors=True)
        os.rename(os.path.join(OUT, target), old)
    shutil.rmtree(OUT)


def generate():
    files = {k: v.encode() for k, v in SECRET_FILES.items()}
    if len(sys.argv) > 1:
        files.update(setup_files(sys.argv[1]))
    for name, data in files.items():
        write("secret_file", name, data)

    # Module arguments: the pam.d/ recipes' lines, then the manual's options.
    lines = set()
    for name in sorted(os.listdir(os.path.join(REPO, "pam.d"))):
        with open(os.path.join(REPO, "pam.d", name)) as f:
            for line in f:
                words = line.split()
                if len(words) >= 3 and "pam_google_authenticator" in words[2]:
                    lines.add(tuple(words[3:]))
    for args in MODULE_ARGS:
        lines.add(tuple(args))
    for i, args in enumerate(sorted(lines)):
        write("module_args", f"args-{i:02}", b"\0".join(a.encode() for a in args))

    for i, a in enumerate(ANSWERS):
        write("code_input", f"answer-{i:02}", a.encode())

    for i, args in enumerate(CLI_ARGS):
        write("cli_options", f"argv-{i:02}", b"\0".join(a.encode() for a in args))

    # policy: 8 bytes of clock (little endian), an options byte, a shape byte (bit 0:
    # PAM_AUTHTOK set, bit 1: an answer typed, bits 2-3: PAM_RHOST, 1 is 10.0.0.1), then the
    # file, NUL, PAM_AUTHTOK, NUL, the answer.
    right = totp(SECRET, NOW)
    typed = 0x06  # an answer, PAM_RHOST 10.0.0.1
    policy = [
        ("totp-right", NOW, 0x00, typed, "totp", "", right),
        ("totp-wrong", NOW, 0x00, typed, "totp", "", "000000"),
        ("totp-no-rhost", NOW, 0x00, 0x02, "totp", "", right),
        ("first-pass", NOW, 0x00, 0x07, "totp", right, "000000"),
        ("first-pass-only", NOW, 0x00, 0x05, "totp", "password" + right, ""),
        ("disallow-right", NOW, 0x00, typed, "totp-disallow", "", right),
        ("disallow-used", NOW, 0x00, typed, "totp-disallow-used", "", right),
        ("rate-limited", NOW, 0x00, typed, "totp-rate-stamps", "", right),
        ("scratch", NOW, 0x00, typed, "setup-default", "", "12345678"),
        ("forward-pass", NOW, 0x10, typed, "totp", "", "password" + right),
        ("grace", NOW, 0x03, typed, "last-many", "", right),
        ("hotp", NOW, 0x00, typed, "hotp", "", hotp(SECRET, 1)),
        ("hotp-no-increment", NOW, 0x40, typed, "hotp", "", hotp(SECRET, 2)),
        ("skew", NOW, 0x00, typed, "time-skew", "", totp(SECRET, NOW - 60)),
        ("resync", NOW, 0x00, typed, "resetting-skew", "", totp(SECRET, NOW + 300)),
        ("no-skew-adjust", NOW, 0x20, typed, "totp", "", totp(SECRET, NOW + 300)),
        ("debug-step-60", NOW, 0x80, typed, "window-step", "", totp(SECRET, NOW, 60)),
    ]
    # Inputs that once made a target fail, kept so that every smoke run replays them.
    regressions = {
        # A grace login after the rate limit recorded the attempt in memory: the flow
        # writes nothing then, which the policy target first read as an unlisted change.
        "regression-grace-after-rate-limit": (
            "APFTZQAAAAADBjJTSDNWM0dEVzdaTk1HWUUKIiBMQVNUMCAxMC4wLjAuMSAxNjk5OTk5OTkwCiIgTEFU"
            "MSBob3N0LvNleBgYGBgYGBgYGBgYGBgYGBgYGBgYGBgYGBgYGBgYGBgYGBgYGBgYGBgYGBgYGBgYGBgY"
            "GBgYGBgYGBgYGGFwbYtsZSAxNgoiIExBU1QwMAoiIDNHRFc3Wk5NCiIgUkFURV9MSU1JVCAzIDMwCiIg"
            "V/////H///9VVEgKMTIzNDU2NzgKODc2PjgKAFRPVFBfQVVUSAoAADM3NTA1MQ=="
        ),
    }
    for name, data in regressions.items():
        write("policy", name, base64.b64decode(data))
    for name, now, flags, shape, file, authtok, answer in policy:
        data = (struct.pack("<q", now) + bytes([flags, shape]) + files[file] + b"\0"
                + authtok.encode() + b"\0" + answer.encode())
        write("policy", name, data)

if __name__ == "__main__":
    main()
