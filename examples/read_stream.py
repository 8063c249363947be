#!/usr/bin/env python3
"""Read paramscope's event stream (docs/events.md) from the command line, with the standard library only.

    python3 examples/read_stream.py <base> <tuned> [more diff flags…]

Runs `paramscope diff <base> <tuned> --jsonl --quiet`, reads one JSON event per line while it runs,
prints each finished matrix and the verdict, and exits with paramscope's exit code. Ctrl-C is passed on
to paramscope, whose last line then says the run was interrupted. PARAMSCOPE names the command to run
(default: "npx paramscope"; e.g. PARAMSCOPE="node bin/paramscope.js" in a checkout).
"""
import json
import os
import shlex
import signal
import subprocess
import sys


def metric(value):
    """A metric: a number, {"lo", "hi"} in truncated mode, or "NaN" / "Infinity" (JSON has no NaN)."""
    if value is None:
        return "-"
    if isinstance(value, dict):
        return "%.3g-%.3g" % (float(value["lo"]), float(value["hi"]))
    return "%.3g" % float(value)


def main(argv):
    if len(argv) < 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    command = shlex.split(os.environ.get("PARAMSCOPE", "npx paramscope"))
    child = subprocess.Popen(command + ["diff", *argv, "--jsonl", "--quiet"], stdout=subprocess.PIPE, text=True, bufsize=1)
    last = None
    try:
        for line in child.stdout:  # one event per line, as it happens
            event = json.loads(line)
            last = event
            kind = event["type"]
            if kind == "plan":
                print("%d matrices, %.1f MB to read, ~%.1f GFLOP" % (event["matrices"], event["bytes"] / 1e6, event["flops"] / 1e9))
            elif kind == "progress":
                print("\r%5.1f%%  %d/%d matrices" % (100 * event["fraction"], event["matricesDone"], event["matricesTotal"]), end="", file=sys.stderr)
            elif kind == "matrix":
                r = event["record"]
                status = r["error"]["code"] if "error" in r else "stable rank " + metric(r.get("metrics", {}).get("stableRank"))
                print("matrix %s [%dx%d] %s" % (r["name"], r["rows"], r["cols"], status))
            elif kind == "warning":
                print("warning %s: %s" % (event["code"], event["message"]))
            elif kind == "error" and event["scope"] == "run":
                print("\nerror %s: %s" % (event["code"], event["message"]), file=sys.stderr)
            elif kind == "summary":
                verdict = event["report"]["verdict"]
                print("verdict %s (score %.2f, confidence %s)" % (verdict["label"], verdict["score"], verdict["confidence"]))
    except KeyboardInterrupt:
        child.send_signal(signal.SIGINT)  # paramscope stops and writes its last event: read it
        for line in child.stdout:
            last = json.loads(line)
    code = child.wait()
    print(file=sys.stderr)  # end the progress line
    if last is not None and last["type"] == "error":
        print("stopped: %s" % last["code"] + (" (%s)" % last["signal"] if "signal" in last else ""), file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
