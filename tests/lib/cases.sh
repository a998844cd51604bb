# Shell helpers for the suites whose cases are files of "# KEY: value"
# header lines (tests/simulate/*.case, tests/report/*.case), sourced by
# tests/suites/simulate.sh and tests/suites/report.sh.

# case_field FILE KEY: the value of the first "# KEY: " line, or nothing.
case_field() {
    sed -n "s/^# $2: //p" "$1" | head -n 1
}

# case_patterns FILE KEY OUT LABEL: every "# KEY: " line of FILE is an
# extended regular expression that must match somewhere in file OUT;
# prints a "LABEL does not match: PATTERN" line (indented) for each that
# does not.
case_patterns() {
    sed -n "s/^# $2: //p" "$1" | while IFS= read -r pat; do
        [ -n "$pat" ] || continue
        grep -Eq -- "$pat" "$3" || printf '\n    %s does not match: %s' "$4" "$pat"
    done
}

# case_jq EXPRS OUT: each line of file EXPRS is a jq expression that must
# be true of the JSON in file OUT; prints a "not true: EXPR" line for each
# that is not.
case_jq() {
    while IFS= read -r expr; do
        [ -n "$expr" ] || continue
        jq -e "$expr" "$2" > /dev/null 2>&1 || printf '\n    not true: %s' "$expr"
    done < "$1"
}
