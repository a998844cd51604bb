#!/usr/bin/env python3
"""Print a .rbc image without its source positions, for comparing the
programs of a source and of its formatted text (tests/suites/fmt.sh).

Formatting moves tokens to other lines and columns, and a .rbc records,
for each position a diagnostic or a trace may name, its line, column and
length (section 24, 'locs': u32 file, line, col, len per record; see
vm/rbc.h and vm/rbc.c).  This writes the image with those three fields
set to zero and without the trailing digest (which covers them).  Build
with --strip, so the source text is not in the image either.  Everything
else -- code, tables, strings, which instruction has which position
record -- is compared byte for byte.

usage: nopos.py IN.rbc OUT"""
import struct
import sys

LOCS = 24
data = bytearray(open(sys.argv[1], 'rb').read())
if data[:4] != b'\x7fRBC':
    sys.exit('nopos.py: %s is not a .rbc file' % sys.argv[1])
flags, nsect = struct.unpack_from('<II', data, 8)
end = 0
for k in range(nsect):
    sid, off, size = struct.unpack_from('<III', data, 16 + 12 * k)
    end = max(end, off + size)
    if sid == LOCS and size:
        n = struct.unpack_from('<I', data, off)[0]
        if 4 + 16 * n != size:
            sys.exit('nopos.py: %s: unexpected size of the locs section' % sys.argv[1])
        for i in range(n):
            struct.pack_into('<III', data, off + 4 + 16 * i + 4, 0, 0, 0)
open(sys.argv[2], 'wb').write(bytes(data[:(end + 3) & ~3]))
