"""Makes a .rbc whose names hold JSON's special characters, as a crafted
file can (the compiler never writes such names): every "support" in the
string table becomes 'su"p<TAB>r\\' (the same length), and the SHA-256
trailer of the unsigned file is recomputed.  Writes the new name to
NAME_OUT for the case to pass to --agent.

    python3 rename_rbc.py IN.rbc OUT.rbc NAME_OUT
"""
import hashlib
import sys

src, dst, name_out = sys.argv[1:4]
data = open(src, "rb").read()
if data[8] & 1:
    sys.exit("rename_rbc: signed files are not handled")
new = b'su"p\tr\\'
body = data[:-32].replace(b"support", new)
open(dst, "wb").write(body + hashlib.sha256(body).digest())
open(name_out, "wb").write(new)
