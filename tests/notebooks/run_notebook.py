#!/usr/bin/env python3
"""Checks a xeus-cling (xcpp17) notebook by replaying its code cells, in order and cell by
cell, in one clang-repl-19 process with the built libfitrun preloaded.

Why clang-repl: no xeus-cling package exists for Debian 12, and clang-repl-19 (clang-tools-19)
is the closest incremental C++ interpreter Debian ships: like cling it keeps state between
cells, accepts top-level statements and JIT-links against the real shared library. fitrun works
under it (OpenMP and oneDNN stay inside the g++-built .so), so the one-translation-unit
fallback of docs/notebooks.md is not needed.

A notebook fails when
  * it breaks the notebook rules (lint): wrong kernelspec, `main`, a function or class defined
    in a cell that also runs statements (cling rejects that; clang-repl would not notice), a
    trailing `// comment` on a cell's last line, stored error/stderr outputs;
  * a cell does not compile, a symbol does not link, or a C++ exception escapes a cell;
  * a *checked* cell prints something else than its stored output.

Checked cells: every code cell with stored outputs, unless tagged `skip-output-check`.
  * Its stored `stdout` stream text must equal what the cell prints (trailing whitespace of each
    line and blank lines at the ends ignored). Cells tagged `approx-output` compare numbers with
    a tolerance (abs 0.05 + 5% relative) and the text around them exactly: for metrics that
    depend on the CPU's oneDNN kernels.
  * Its stored `display_data` outputs must have the same mime types, in order, as what the cell
    displays through xcpp::display (tests/notebooks/shim/xcpp/xdisplay.hpp stands in for
    xeus-cling's header and checks the object has a mime_bundle_repr).
A cell without stored outputs only has to run.

--update rewrites the notebook's outputs with what this run printed and displayed (how the
stored outputs are produced; review the diff before committing).

Exit status: 0 pass, 1 fail, 2 usage error, 77 clang-repl-19 is not installed (ctest: skipped).
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

SKIP_TAG = "skip-output-check"
APPROX_TAG = "approx-output"
MARK = "@@FITRUN_NB_CELL %d@@"
MARK_RE = re.compile(r"@@FITRUN_NB_CELL (\d+)@@\n?")
DISPLAY_RE = re.compile(r"@@FITRUN_NB_DISPLAY (.*?)@@FITRUN_NB_END@@\n?", re.S)
KERNELSPEC = {"display_name": "C++17", "language": "C++17", "name": "xcpp17"}
# clang-repl-19 prints this for a trailing expression it cannot print; never user output.
REPL_NOISE = "Not implement yet."


def text_of(source):
    return "".join(source) if isinstance(source, list) else source


def fail(msg):
    print("FAIL: " + msg)
    return 1


# --------------------------------------------------------------------------------------- lint
def strip_comments_and_strings(src, keep_comments=False):
    """C++ source with comments removed and string/char literals emptied (raw strings too),
    newlines kept, so that brace depth and statements can be read off the text."""
    out, i, n = [], 0, len(src)
    while i < n:
        c = src[i]
        if keep_comments and (src.startswith("//", i) or src.startswith("/*", i)):
            out.append(c)
            i += 1
        elif src.startswith("//", i):
            j = src.find("\n", i)
            i = n if j < 0 else j
        elif src.startswith("/*", i):
            j = src.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append("\n" * src.count("\n", i, j))
            i = j
        elif c == "R" and i + 1 < n and src[i + 1] == '"' and (i == 0 or not (src[i - 1].isalnum() or src[i - 1] == "_")):
            k = src.find("(", i + 2)
            delim = src[i + 2:k]
            j = src.find(")" + delim + '"', k)
            j = n if j < 0 else j + len(delim) + 2
            out.append('""' + "\n" * src.count("\n", i, j))
            i = j
        elif c in "\"'":
            j = i + 1
            while j < n and src[j] != c:
                j += 2 if src[j] == "\\" else 1
            out.append(c + c)
            i = j + 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


DEFINITION_START = re.compile(r"^\s*(template\b|struct\b|class\b|union\b|enum\b|namespace\b)")
FUNCTION_DEF = re.compile(r"^[^=;(]*\b[A-Za-z_~][\w:]*\s*\([^;{]*\)[\w\s&>:,]*(->[^;{]*)?\{", re.S)
DECLARATION_OK = re.compile(r"^\s*(#|using\b|typedef\b|static\b|const\b|constexpr\b|inline\b|extern\b|$)")
RUNTIME_CONST = re.compile(r"^const\s+[^=;&(]*\b[A-Za-z_]\w*\s*=\s*[^;]*(\(|\.[A-Za-z_]|->)")
# `Type name = ...;`, `Type name(...);`, `std::vector<int> v;`: a variable, also a declaration.
VARIABLE_DECL = re.compile(r"^(?:[\w:]+(?:<[^;]*?>)?[\s*&]+)+[A-Za-z_]\w*\s*(?:=|\{|\(|;|\[)")


def top_level_chunks(code):
    """Splits stripped code into top-level pieces: a preprocessor line, or text up to a `;` or
    a closing `}` at brace depth 0."""
    chunks, cur, depth, paren = [], [], 0, 0
    for line in code.split("\n"):
        if depth == 0 and paren == 0 and not "".join(cur).strip() and line.lstrip().startswith("#"):
            chunks.append(line)
            continue
        for ch in line + "\n":
            cur.append(ch)
            if ch in "([":
                paren += 1
            elif ch in ")]":
                paren -= 1
            elif ch == "{":
                depth += 1
            elif ch == "}":
                depth -= 1
                if depth == 0 and paren == 0:
                    # `struct X {...};` / `auto f = [] {...};` keep their tail: read on to `;`
                    pass
            elif ch == ";" and depth == 0 and paren == 0:
                chunks.append("".join(cur))
                cur = []
        if depth == 0 and paren == 0 and "".join(cur).strip().endswith("}"):
            chunks.append("".join(cur))
            cur = []
    if "".join(cur).strip():
        chunks.append("".join(cur))
    return [c.strip() for c in chunks if c.strip()]


def is_definition(chunk):
    if DEFINITION_START.match(chunk):
        return True
    # A function definition ends at its closing brace; `f([] { ... });` is a statement.
    return chunk.endswith("}") and bool(FUNCTION_DEF.match(chunk)) and not re.match(
        r"^\s*(if|for|while|switch|try|catch|do|return|else)\b", chunk)


def lint(nb, path):
    errors = []
    try:  # the nbformat 4 JSON schema, when python3-nbformat is installed
        import nbformat
        nbformat.validate(nbformat.from_dict(nb))
    except ImportError:
        pass
    except Exception as e:  # nbformat.ValidationError
        errors.append("not a valid nbformat 4 notebook: %s" % str(e).split("\n")[0])
    meta = nb.get("metadata", {})
    ks = meta.get("kernelspec", {})
    if {k: ks.get(k) for k in KERNELSPEC} != KERNELSPEC:
        errors.append("metadata.kernelspec must be %s, got %s" % (json.dumps(KERNELSPEC), json.dumps(ks)))
    if meta.get("language_info", {}).get("name") != "c++":
        errors.append('metadata.language_info.name must be "c++" (what xeus-cling reports)')
    if nb.get("nbformat") != 4:
        errors.append("nbformat must be 4")
    code_index = -1
    for cell in nb.get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        code_index += 1
        where = "cell %d" % code_index
        src = text_of(cell.get("source", ""))
        for out in cell.get("outputs", []):
            kind = out.get("output_type")
            if kind == "error" or (kind == "stream" and out.get("name") != "stdout"):
                errors.append("%s: stored %s output (store deterministic stdout only)" % (where, kind if kind == "error" else "stderr"))
        if src.lstrip().startswith("%%"):
            continue
        last = src.rstrip().split("\n")[-1]
        if strip_comments_and_strings(last) != strip_comments_and_strings(last, keep_comments=True):
            errors.append("%s: the last line holds a // comment; xeus-cling would then display the "
                          "last statement's value (move the comment up)" % where)
        code = "\n".join(l for l in strip_comments_and_strings(src).split("\n")
                         if not l.lstrip().startswith(("#pragma cling", "%", "?")))
        if re.search(r"\bint\s+main\s*\(", code):
            errors.append("%s: defines main(); notebook cells already run inside one" % where)
        chunks = top_level_chunks(code)
        for c in chunks:
            # clang-repl-19 runs such an initializer before the cell's other globals are set
            # (`int a = f(); const int b = a + g();` sees a == 0), so CI would not replay the
            # notebook as cling runs it.
            if RUNTIME_CONST.match(c):
                errors.append("%s: a const variable with a run-time initializer (%r); drop the "
                              "const (clang-repl initializes it out of order)" % (where, c.split("\n")[0]))
        defs = [c for c in chunks if is_definition(c)]
        if defs:
            stmts = [c for c in chunks if not is_definition(c) and not DECLARATION_OK.match(c)
                     and not VARIABLE_DECL.match(c)]
            if stmts:
                first = stmts[0].split("\n")[0]
                errors.append("%s: defines a function or type and also runs statements (%r); "
                              "cling rejects a definition after a statement: split the cell" % (where, first))
    return errors


# ------------------------------------------------------------------------------------ replay
def build_inputs(code_cells):
    inputs = ['#include <cstdio>\n#include <cstdlib>\n'
              'int fitrun_nb_unbuffered = std::setvbuf(stdout, nullptr, _IONBF, 0);']
    for i, cell in enumerate(code_cells):
        src = text_of(cell.get("source", ""))
        if not src.lstrip().startswith("%%"):  # cell magics are not C++
            # The library comes from -I and LD_PRELOAD: drop cling pragmas and line magics.
            src = "\n".join(l for l in src.split("\n")
                            if not l.lstrip().startswith(("#pragma cling", "%", "?")))
            if src.strip():
                # "\n;" makes a trailing expression (xeus-cling's Out[n]) a statement; after a
                # declaration it is an empty declaration.
                inputs.append(src + "\n;")
        inputs.append('std::fflush(nullptr); std::puts("%s");' % (MARK % i))
    # Exit while the JIT is alive: clang-repl can crash tearing down JIT'd globals.
    inputs.append("std::fflush(nullptr); std::exit(0);")
    return inputs


def normalize(text):
    return "\n".join(l.rstrip() for l in text.replace("\r\n", "\n").split("\n")).strip("\n")


NUMBER = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?")


def approx_equal(expected, actual):
    e_nums, a_nums = NUMBER.findall(expected), NUMBER.findall(actual)
    if NUMBER.sub("#", expected) != NUMBER.sub("#", actual) or len(e_nums) != len(a_nums):
        return False
    return all(abs(float(a) - float(e)) <= 0.05 + 0.05 * abs(float(e)) for e, a in zip(e_nums, a_nums))


def first_diff(expected, actual):
    el, al = expected.split("\n"), actual.split("\n")
    for k in range(max(len(el), len(al))):
        e = el[k] if k < len(el) else "<end>"
        a = al[k] if k < len(al) else "<end>"
        if e != a:
            return "line %d: stored %r, got %r" % (k + 1, e, a)
    return ""


def prepare_workdir(nb_path, tmp):
    """The kernel runs in the notebook's folder, so notebooks say ../data/digits.csv.gz. The
    replay runs in <tmp>/<folder> with the notebook folder's siblings linked next to it, so that
    those paths resolve while everything the notebook writes stays in <tmp>."""
    nb_dir = os.path.dirname(os.path.abspath(nb_path))
    parent = os.path.dirname(nb_dir)
    cwd = os.path.join(tmp, os.path.basename(nb_dir))
    os.makedirs(cwd)
    for entry in os.listdir(parent):
        if entry != os.path.basename(nb_dir):
            os.symlink(os.path.join(parent, entry), os.path.join(tmp, entry))
    return cwd


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("notebook")
    ap.add_argument("--include", action="append", default=[], help="include directory (repeatable)")
    ap.add_argument("--library", action="append", default=[], help="shared library to preload (repeatable)")
    ap.add_argument("--path", action="append", default=[], help="directory prepended to PATH (e.g. the fitrun CLI's)")
    ap.add_argument("--clang-repl", default=os.environ.get("CLANG_REPL", "clang-repl-19"))
    ap.add_argument("--timeout", type=float, default=170)
    ap.add_argument("--update", action="store_true", help="store this run's outputs in the notebook")
    ap.add_argument("--keep", action="store_true", help="keep the working directory")
    args = ap.parse_args()

    with open(args.notebook, encoding="utf-8") as f:
        nb = json.load(f)
    name = os.path.basename(args.notebook)
    errors = lint(nb, args.notebook)
    if errors:
        for e in errors:
            print("lint: %s: %s" % (name, e))
        return fail("%s breaks the notebook rules (docs/notebooks.md)" % name)

    repl = shutil.which(args.clang_repl)
    if repl is None:
        print("SKIP: %s not found; install clang-tools-19 (scripts/install-deps.sh) to replay "
              "the notebooks" % args.clang_repl)
        return 77

    code_cells = [c for c in nb["cells"] if c.get("cell_type") == "code"]
    here = os.path.dirname(os.path.abspath(__file__))
    flags = ["--Xcc=-std=c++17", "--Xcc=-I" + os.path.join(here, "shim")]
    flags += ["--Xcc=-I" + os.path.abspath(d) for d in args.include]
    env = dict(os.environ)
    # One thread: the tutorials' models are tiny, and OpenMP threads that have to share a busy
    # machine slow training down by up to 100x (8 CNN epochs: 0.8 s on one thread, 60 s on two).
    env.setdefault("OMP_NUM_THREADS", "1")
    # LD_PRELOAD, not %lib: with %lib clang-repl can crash at exit (docs/notebooks.md).
    env["LD_PRELOAD"] = ":".join([os.path.abspath(l) for l in args.library] +
                                 ([env["LD_PRELOAD"]] if env.get("LD_PRELOAD") else []))
    env["PATH"] = os.pathsep.join([os.path.abspath(p) for p in args.path] + [env.get("PATH", "")])
    env["FITRUN_NB_DISPLAY"] = "1"  # the xcpp::display shim reports bundles on stdout

    tmp = tempfile.mkdtemp(prefix="fitrun-nb-")
    try:
        cwd = prepare_workdir(args.notebook, tmp)
        start = time.time()
        try:
            p = subprocess.run([repl] + flags + build_inputs(code_cells), cwd=cwd, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               timeout=args.timeout)
        except subprocess.TimeoutExpired:
            return fail("%s: no result within %.0f s" % (name, args.timeout))
        seconds = time.time() - start
        stdout = p.stdout.decode("utf-8", "replace")
        stderr = p.stderr.decode("utf-8", "replace")
    finally:
        if args.keep:
            print("working directory kept: " + tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    # Per-cell stdout and displays, split at the markers.
    printed, displays, pos = {}, {}, 0
    for m in MARK_RE.finditer(stdout):
        chunk = stdout[pos:m.start()]
        bundles = [json.loads(b) for b in DISPLAY_RE.findall(chunk)]
        chunk = DISPLAY_RE.sub("", chunk)
        i = int(m.group(1))
        printed[i] = "\n".join(l for l in chunk.split("\n") if l != REPL_NOISE)
        displays[i] = bundles
        pos = m.end()

    problems = []
    error_lines = [l for l in stderr.split("\n") if "error:" in l or "JIT session error" in l]
    if error_lines:
        problems.append("interpreter errors (the first is the one that matters):\n    " +
                        "\n    ".join(l[:400] for l in error_lines[:3]))
    missing = [i for i in range(len(code_cells)) if i not in printed]
    if missing:
        i = missing[0]
        first = text_of(code_cells[i].get("source", "")).strip().split("\n")[0]
        tail = "\n    ".join(stderr.strip().split("\n")[-4:])
        problems.append("cell %d (%r) did not complete (exit status %d)%s" %
                        (i, first, p.returncode, ("; stderr:\n    " + tail) if tail else ""))
    elif p.returncode != 0:
        problems.append("clang-repl exit status %d" % p.returncode)

    checked, mismatches = 0, []
    for i, cell in enumerate(code_cells):
        outs = cell.get("outputs", [])
        tags = cell.get("metadata", {}).get("tags", [])
        if not outs or i not in printed:
            continue
        # What a cell displays (mime types) is checked even where its text is not.
        stored_kinds = [sorted(o.get("data", {})) for o in outs if o.get("output_type") == "display_data"]
        got_kinds = [sorted(b) for b in displays.get(i, [])]
        if stored_kinds != got_kinds:
            mismatches.append("cell %d: displayed %s, stored %s" % (i, got_kinds, stored_kinds))
        if SKIP_TAG in tags:
            continue
        checked += 1
        stored = normalize("".join(text_of(o.get("text", "")) for o in outs
                                   if o.get("output_type") == "stream" and o.get("name") == "stdout"))
        got = normalize(printed[i])
        same = approx_equal(stored, got) if APPROX_TAG in tags else stored == got
        if not same:
            mismatches.append("cell %d: stdout differs from the stored output (%s)" % (i, first_diff(stored, got)))
    if not args.update:  # --update replaces the stored outputs it would compare
        problems += mismatches

    if args.update and not problems:
        count = 0
        for i, cell in enumerate(code_cells):
            count += 1
            cell["execution_count"] = count
            outs = []
            text = printed.get(i, "").strip("\n")
            if text:
                outs.append({"name": "stdout", "output_type": "stream",
                             "text": [l + "\n" for l in text.split("\n")[:-1]] + [text.split("\n")[-1] + "\n"]})
            for b in displays.get(i, []):
                outs.append({"data": {k: (v.splitlines(True) if isinstance(v, str) else v) for k, v in b.items()},
                             "metadata": {}, "output_type": "display_data"})
            cell["outputs"] = outs
        with open(args.notebook, "w", encoding="utf-8") as f:
            json.dump(nb, f, indent=1, ensure_ascii=False)
            f.write("\n")
        print("updated the stored outputs of %s" % name)

    if problems:
        for pr in problems:
            print("%s: %s" % (name, pr))
        return fail("%s (%d code cells, %.1f s)" % (name, len(code_cells), seconds))
    print("OK: %s: %d code cells ran in order in clang-repl-19, %d checked against stored "
          "outputs, %.1f s" % (name, len(code_cells), checked, seconds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
