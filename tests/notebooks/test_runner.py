#!/usr/bin/env python3
"""Tests of run_notebook.py itself: it passes a good notebook and fails each kind of broken
one with a message that says what broke. Tiny notebooks without fitrun, so each replay takes
well under a second. Exit 77 (skipped) when clang-repl-19 is missing."""
import json
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPL = os.environ.get("CLANG_REPL", "clang-repl-19")
KERNELSPEC = {"display_name": "C++17", "language": "C++17", "name": "xcpp17"}


def code(src, stdout=None, tags=(), displays=()):
    outs = [{"name": "stdout", "output_type": "stream", "text": [stdout]}] if stdout is not None else []
    outs += [{"data": {k: "" for k in kinds}, "metadata": {}, "output_type": "display_data"} for kinds in displays]
    return {"cell_type": "code", "execution_count": None, "metadata": {"tags": list(tags)},
            "outputs": outs, "source": [src]}


INCLUDES = code("#include <iostream>\n#include <stdexcept>\n#include \"xcpp/xdisplay.hpp\"")
# A global from a statement cell used by a function defined in a later cell (cling allows it).
GOOD = [INCLUDES, code("int counter = 0;\ncounter += 21;"),
        code("int twice() { return counter * 2; }"),
        code("std::cout << twice() << std::endl;", stdout="42\n")]


def run(cells, tmp, kernelspec=KERNELSPEC, extra=()):
    folder = os.path.join(tmp, "notebooks")
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, "probe.ipynb")
    with open(path, "w") as f:
        json.dump({"cells": cells, "metadata": {"kernelspec": kernelspec,
                                                "language_info": {"name": "c++"}},
                   "nbformat": 4, "nbformat_minor": 2}, f)
    p = subprocess.run([sys.executable, os.path.join(HERE, "run_notebook.py"), path,
                        "--clang-repl", REPL, "--timeout", "60"] + list(extra),
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True)
    return p.returncode, p.stdout


# Cells that must pass: ignored text (skip-output-check) and a close number (approx-output).
LENIENT = [code("std::cout << twice() << std::endl;", stdout="41\n", tags=["skip-output-check"]),
           code('std::cout << "accuracy " << 0.93 << std::endl;', stdout="accuracy 0.95\n", tags=["approx-output"])]

CASES = [
    ("a good notebook passes (with skip-output-check and approx-output cells)", GOOD + LENIENT,
     0, ["OK: probe.ipynb: 6 code cells", "2 checked against stored outputs"]),
    ("a wrong stored output fails; approx-output rejects a far number",
     GOOD[:3] + [code("std::cout << twice() << std::endl;", stdout="41\n"),
                 code('std::cout << "accuracy " << 0.80 << std::endl;', stdout="accuracy 0.95\n", tags=["approx-output"])],
     1, ["cell 3: stdout differs from the stored output (line 1: stored '41', got '42')",
         "cell 4: stdout differs from the stored output (line 1: stored 'accuracy 0.95', got 'accuracy 0.8')"]),
    ("a compile error fails naming it", GOOD + [code("std::cout << no_such_thing << std::endl;")],
     1, ["use of undeclared identifier 'no_such_thing'"]),
    ("an escaping exception fails naming the cell", GOOD + [code('throw std::runtime_error("boom");'), code("counter += 1;")],
     1, ["cell 4 ('throw std::runtime_error(\"boom\");') did not complete", "what():  boom"]),
    ("a missing display fails", GOOD + [code("counter += 1;", displays=[["image/svg+xml"]])],
     1, ["cell 4: displayed [], stored [['image/svg+xml']]"]),
    ("a definition after a statement fails the lint",
     [INCLUDES, code("int counter = 1;\nint twice() { return counter * 2; }\nstd::cout << twice();")],
     1, ["cell 1: defines a function or type and also runs statements ('std::cout << twice();')"]),
    ("a trailing comment fails the lint", [INCLUDES, code("int counter = 1; // one")],
     1, ["cell 1: the last line holds a // comment"]),
    ("a const global with a run-time initializer fails the lint",
     [INCLUDES, code("int counter = 1;\nconst int twice = counter * 2 + std::abs(-1);")],
     1, ["cell 1: a const variable with a run-time initializer ('const int twice"]),
    ("main() fails the lint", [INCLUDES, code("int main() { return 0; }")], 1, ["cell 1: defines main()"]),
]


def main():
    if shutil.which(REPL) is None:
        print("SKIP: %s not found (clang-tools-19)" % REPL)
        return 77
    failures = 0
    tmp = tempfile.mkdtemp(prefix="fitrun-nb-runner-")
    try:
        for name, cells, want_rc, want_texts in CASES:
            rc, out = run(cells, tmp)
            ok = rc == want_rc and all(t in out for t in want_texts)
            print("%s: %s" % ("ok  " if ok else "FAIL", name))
            if not ok:
                failures += 1
                print("  expected exit %d and %r; got exit %d:\n  %s" %
                      (want_rc, want_texts, rc, out.strip().replace("\n", "\n  ")))
        rc, out = run(GOOD, tmp, kernelspec={"display_name": "C++20", "language": "cpp", "name": "xcpp20"})
        ok = rc == 1 and "metadata.kernelspec must be" in out
        print("%s: a notebook for another kernel fails the lint" % ("ok  " if ok else "FAIL"))
        failures += not ok
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
