# Shell helper for the suites that compile the examples of the docs,
# sourced by tests/suites/examples.sh and tests/suites/fmt.sh.

# doc_examples MD DIR: each ```route block of MD whose first line is
# "# file: NAME" is written to DIR/NAME (the complete examples; the other
# blocks are fragments).
doc_examples() {
    awk -v dir="$2" '
        /^```route[ \t]*$/ { inblock = 1; name = ""; buf = ""; next }
        inblock && /^```/ { if (name != "") { printf "%s", buf > (dir "/" name); close(dir "/" name) } inblock = 0; next }
        inblock { if (buf == "" && match($0, /^# file: */)) name = substr($0, RLENGTH + 1); buf = buf $0 "\n" }
    ' "$1"
}
