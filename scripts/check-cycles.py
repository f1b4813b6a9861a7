#!/usr/bin/env python3
"""Fails when a crate's files import each other in a cycle (ARCHITECTURE.md: no import cycles between files).

For every crate in the workspace (each `src/` under the repository, outside target and node_modules), it
reads the `crate::module` paths each file uses — `use crate::…` lines (with `{…}` groups), and
`crate::module::` anywhere in code — builds the file graph and prints every cycle. Comments are ignored.
Usage: python3 scripts/check-cycles.py   (exit 1 on a cycle)."""
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def modules_of(src: Path) -> dict[str, Path]:
    files = {}
    for f in src.glob("*.rs"):
        if f.name in ("lib.rs", "main.rs"):
            continue
        files[f.stem] = f
    return files


def code_without_comments(text: str) -> str:
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    return "\n".join(line.split("//", 1)[0] for line in text.splitlines())


def uses(text: str, names: set[str]) -> set[str]:
    found = set()
    code = code_without_comments(text)
    # `use crate::{a, b::c}` and `use crate::a::…`
    for group in re.findall(r"use\s+crate::\{([^;]*)\}", code, flags=re.S):
        for part in re.split(r",", group):
            name = part.strip().split("::")[0].strip()
            if name in names:
                found.add(name)
    for name in re.findall(r"\bcrate::([a-z_][a-z0-9_]*)", code):
        if name in names:
            found.add(name)
    return found


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    out, seen = [], set()

    def visit(node, stack):
        for nxt in sorted(graph.get(node, ())):
            if nxt in stack:
                cycle = stack[stack.index(nxt):] + [nxt]
                key = frozenset(cycle)
                if key not in seen:
                    seen.add(key)
                    out.append(cycle)
            elif len(stack) < 50:
                visit(nxt, stack + [nxt])

    for node in sorted(graph):
        visit(node, [node])
    return out


def main() -> int:
    srcs = sorted(
        p for p in ROOT.glob("**/src")
        if p.is_dir() and not any(part in ("target", "node_modules", ".git") for part in p.parts)
    )
    failed = False
    for src in srcs:
        files = modules_of(src)
        names = set(files)
        graph = {}
        for name, path in files.items():
            graph[name] = uses(path.read_text(), names) - {name}
        for cycle in cycles(graph):
            failed = True
            print(f"{src.relative_to(ROOT)}: import cycle: {' -> '.join(cycle)}")
    if not failed:
        print(f"no import cycles in {len(srcs)} crates")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
