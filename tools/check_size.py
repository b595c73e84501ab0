#!/usr/bin/env python3
"""Checks the size rule of docs/architecture.md: no source file over 600
lines, no function over 80 lines.  Prints one PASS or FAIL line per rule.

    tools/check_size.py [--all] [ROOT]

It looks at every .c file of the project outside tests/ (and the build
directory).  A function is counted from the line of its opening brace to
the line of its closing one, both included, found by matching braces at
the top level of the file; comments, strings and character constants are
skipped, and so are the preprocessor lines.  A top-level brace that does
not follow a ')' (a struct, an enum, an initialised table) is not a
function.  A function that is a table or a straight-line register setup
may be longer: the line just before its definition (or before the comment
above it) says so with "size: table" or "size: straight-line", and the
checker then lists it and lets it pass.  --all lists every function over
the limit with its length, exceptions included.  Exit status 1 on any
violation."""
import os
import re
import sys

MAX_FILE_LINES = 600
MAX_FUNC_LINES = 80
RULES = 2  # the PASS/FAIL lines check() prints
SKIP_DIRS = {"tests", "build", ".git"}
EXCEPTION = re.compile(r"size:\s*(table|straight-line)")
NAME = re.compile(r"([A-Za-z_]\w*)\s*\($")


def strip(text):
    """The text with comments, strings, character constants and
    preprocessor lines blanked out (newlines kept, so lines still count)."""
    out = []
    i, n = 0, len(text)
    line_start = True
    while i < n:
        c = text[i]
        if line_start and c == "#":
            # A preprocessor line, with its continuations.
            while i < n and text[i] != "\n":
                if text[i] == "\\" and i + 1 < n and text[i + 1] == "\n":
                    out.append(" \n")
                    i += 2
                    continue
                out.append(" ")
                i += 1
            continue
        if c == "/" and text.startswith("/*", i):
            end = text.find("*/", i + 2)
            end = n if end < 0 else end + 2
            out.append(re.sub(r"[^\n]", " ", text[i:end]))
            i = end
            continue
        if c == "/" and text.startswith("//", i):
            end = text.find("\n", i)
            end = n if end < 0 else end
            out.append(" " * (end - i))
            i = end
            continue
        if c in "\"'":
            j = i + 1
            while j < n and text[j] != c and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            out.append(c + " " * (j - i - 1) + c)
            i = j + 1
            continue
        out.append(c)
        if c == "\n":
            line_start = True
        elif not c.isspace():
            line_start = False
        i += 1
    return "".join(out)


def functions(text):
    """(name, first line, last line) of every function body in a C file."""
    code = strip(text)
    found = []
    depth = 0
    start = None
    head = ""
    for i, c in enumerate(code):
        if c == "{":
            if depth == 0:
                start = i
                before = code[:i].rstrip()
                # A function body follows its parameter list ')', perhaps
                # after attributes; "= {" and "struct x {" are not bodies.
                head = before
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0 and start is not None:
                sig = re.sub(r"__attribute__\s*\(\(.*?\)\)\s*$", "", head).rstrip()
                if sig.endswith(")"):
                    # Back to the '(' that opens the parameter list.
                    level, k = 0, len(sig) - 1
                    while k >= 0:
                        if sig[k] == ")":
                            level += 1
                        elif sig[k] == "(":
                            level -= 1
                            if level == 0:
                                break
                        k -= 1
                    m = NAME.search(sig[: k + 1])
                    if m and m.group(1) not in ("if", "for", "while", "switch"):
                        first = code.count("\n", 0, start) + 1
                        last = code.count("\n", 0, i) + 1
                        found.append((m.group(1), first, last, code.count("\n", 0, m.start()) + 1))
                start = None
    return found


def exception(lines, name_line):
    """The reason given for a long function, or None: "size: table" or
    "size: straight-line" on one of the lines above its name, up to the
    previous blank line."""
    k = name_line - 2  # the line above the name, 0-based
    while k >= 0 and lines[k].strip():
        m = EXCEPTION.search(lines[k])
        if m:
            return m.group(1)
        k -= 1
    return None


def sources(root):
    for d, dirs, files in os.walk(root):
        dirs[:] = sorted(x for x in dirs if not (d == root and x in SKIP_DIRS) and not x.startswith("."))
        for f in sorted(files):
            if f.endswith(".c"):
                yield os.path.join(d, f)


def check(root, show_all=False):
    long_files, long_funcs, allowed = [], [], []
    for path in sources(root):
        rel = os.path.relpath(path, root)
        with open(path) as fh:
            text = fh.read()
        lines = text.split("\n")
        nlines = text.count("\n")
        if nlines > MAX_FILE_LINES:
            long_files.append(f"{rel} has {nlines} lines")
        for name, first, last, name_line in functions(text):
            n = last - first + 1
            if n <= MAX_FUNC_LINES:
                continue
            why = exception(lines, name_line)
            entry = f"{rel}:{name_line} {name}() has {n} lines"
            if why:
                allowed.append(f"{entry} ({why})")
            else:
                long_funcs.append(entry)
    failed = 0
    for rule, bad in ((f"files of at most {MAX_FILE_LINES} lines", long_files),
                      (f"functions of at most {MAX_FUNC_LINES} lines", long_funcs)):
        if bad:
            failed += 1
            print(f"FAIL size/{rule}: " + "; ".join(bad))
        else:
            print(f"PASS size/{rule}")
    if show_all:
        for a in allowed:
            print(f"     allowed: {a}")
    return failed


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--all"]
    root = args[0] if args else os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    sys.exit(1 if check(root, "--all" in sys.argv[1:]) else 0)
