#!/usr/bin/env python3
"""Copies a wasm module without one custom section: wasm-drop-section.py NAME IN OUT.

NAME may be a comma-separated list, each ending in `*` to match a prefix (`reloc.*`):
build-admin.sh drops the linker's relocation sections, stale after wasm-opt, that way.

The split storefront build keeps the linker's symbol and relocation sections (wasm-split-cli
needs them), and with them the `target_features` section, which says `+reference-types`
because Rust's precompiled std is built with it. wasm-bindgen reads that section and then
rewrites the module for an externref table that our `-C target-cpu=mvp` code does not have
("failed to find __wbindgen_externref_table_alloc"). The normal, stripped build never has the
section. No tool we already install drops a single custom section, hence these few lines.
"""
import sys


def leb(data, p):
    value = shift = 0
    while True:
        b = data[p]
        p += 1
        value |= (b & 0x7F) << shift
        shift += 7
        if b < 0x80:
            return value, p


def main():
    name, src, dst = sys.argv[1].encode(), sys.argv[2], sys.argv[3]
    names = name.split(b",")

    def matches(section):
        return any(section.startswith(n[:-1]) if n.endswith(b"*") else section == n for n in names)

    data = open(src, "rb").read()
    if data[:4] != b"\0asm":
        sys.exit(f"{src}: not a wasm module")
    out, pos, dropped = bytearray(data[:8]), 8, 0
    while pos < len(data):
        start, sid = pos, data[pos]
        size, body = leb(data, pos + 1)
        end = body + size
        if sid == 0:
            n, p = leb(data, body)
            if matches(data[p:p + n]):
                dropped += 1
                pos = end
                continue
        out += data[start:end]
        pos = end
    open(dst, "wb").write(out)
    print(f"{src}: dropped {dropped} '{name.decode()}' section(s)", file=sys.stderr)


main()
