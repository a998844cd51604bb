" Vim syntax file
" Language:    Route (the routing policies of routevm, *.route)
" Reference:   docs/language.md; the token rules are those of grammar/lexer.l
"
" When several items match at the same position, Vim takes the one defined
" last (keywords before all of them), so the catch-all errors come first
" and the valid forms after them.  A '/' right after a value (a name, a
" soft keyword, true, false, a literal, ')' or ']') is division, anywhere
" else it starts a regex /pattern/flags, as in the lexer; a '/' at the
" start of a line with no closing '/' continues an expression from the
" line above.

if exists('b:current_syntax')
  finish
endif

let s:cpo_save = &cpo
set cpo&vim

syn case match
syn iskeyword a-z,A-Z,48-57,_,128-255

" ---------------------------------------------------------------- errors
" Anything the lexer does not know; names are ASCII.
syn match routeError /[^[:space:]]/
syn match routeError /\%([A-Za-z0-9_]\|[^\x00-\x7f]\)*[^\x00-\x7f]\%([A-Za-z0-9_]\|[^\x00-\x7f]\)*/

" ---------------------------------------------------------------- names
syn match routeName /\h\w*\%(\w\|[^\x00-\x7f]\)\@!/
syn match routeItem /^\s*\zs\%(id\|context\|tier\|capabilities\|tags\|latency\|system\|backoff\|retry_on\|retry\|rpm\|tpm\|max_tokens\|temperature\|top_p\|top_k\|seed\|presence_penalty\|frequency_penalty\|stop\|kind\|endpoint\|key\|region\|guard\|fallback\|user_id\|user\|assistant\|stream\|tools\|images\)\ze[ \t]/
syn match routeField /\<\%(meta\.\h\w*\%(\.\h\w*\)*\|response\.\h\w*\)\>/ contains=routeFieldBase
syn match routeFieldBase /\<\%(meta\|response\)\ze\./ contained
syn match routeBuiltin /\<\%(tokens\|lang\|contains\|lower\|upper\|len\|startswith\|endswith\|bucket\|bytes\|capture\|numbers\|number\|overlap\|decimal\|arithmetic\|equations\|last_result\|env\)\ze\s*(/

" ---------------------------------------------------------------- operators
syn match routeOperator /->\|==\|!=\|<=\|>=\|[<>=+*,:.-]/
syn match routeDelimiter /[{}()[\]]/

" ---------------------------------------------------------------- numbers
" \d[0-9_]*(\.\d[0-9_]*)? is a decimal; a unit glued to it must be one of
" the lexer's, or the whole word is an error.  A literal with a fraction
" cannot run on into a non-ASCII word (the '.' stops one), one without can.
syn match routeUnitError /\d[0-9_]*\h\w*\%(\w\|[^\x00-\x7f]\)\@!/
syn match routeUnitError /\d[0-9_]*\.\d[0-9_]*\h\w*\%(\w\)\@!/
syn match routeNumber /\d[0-9_]*\%(\.\d\)\@![kM]\=\%(\w\|[^\x00-\x7f]\)\@!/
syn match routeNumber /\d[0-9_]*\.\d[0-9_]*[kM]\=\%(\w\)\@!/
syn match routeStatusClass /[1-5]xx\%(\w\|[^\x00-\x7f]\)\@!/
syn match routePercent /\d[0-9_]*\%(\.\d[0-9_]*\)\=%/
syn match routeDuration /\d[0-9_]*\%(\.\d\)\@!\%(us\|ms\|s\|m\|h\)\%(\w\|[^\x00-\x7f]\)\@!/
syn match routeDuration /\d[0-9_]*\.\d[0-9_]*\%(us\|ms\|s\|m\|h\)\%(\w\)\@!/
" a count then a word starting 'tok' that is not the unit: the lexer's
" misspelt-unit error ('1k tokns'); the unit itself, below, wins
syn match routeUnitError /\d[0-9_]*\%(\.\d[0-9_]*\)\=[kM]\=[ \t]\+\%(tokens\w\@!\)\@!tok\w*/
syn match routeTokens /\d[0-9_]*\%(\.\d[0-9_]*\)\=[kM]\=[ \t]\+tokens\%([A-Za-z0-9_(]\)\@!/
syn match routeTokens /\d[0-9_]*\%(\.\d\)\@![kM]\=tokens\%([A-Za-z0-9_(]\|[^\x00-\x7f]\)\@!/
syn match routeTokens /\d[0-9_]*\.\d[0-9_]*[kM]\=tokens\%([A-Za-z0-9_(]\)\@!/
syn match routeMoneyError /\$/
syn match routeMoney /\$\d[0-9_]*\%(\.\d[0-9_]*\)\=/
syn match routePrice +\$\d[0-9_]*\%(\.\d[0-9_]*\)\=/\%(Mtok\|Ktok\|tok\)+

" ---------------------------------------------------------------- keywords
syn keyword routeImport    import
syn keyword routeDecl      provider model guardrail agent nextgroup=routeDeclName skipwhite
syn keyword routeDecl      const nextgroup=routeConstName skipwhite
syn keyword routeDecl      test
syn keyword routeControl   route when otherwise until by where default
syn keyword routeStrategy  cheapest fastest cascade split hook
syn keyword routeLogical   and or not in matches
syn keyword routeBoolean   true false
syn keyword routeAction    deny redact limit
syn keyword routeKeyword   from with per on price budget
syn keyword routeTestWord  expect given answers fails
" soft keywords: keywords where the grammar expects them, names elsewhere
syn keyword routeSoft      input output request confidence timeout logprobs judge check
syn match routeDeclName  /\h\w*/ contained
syn match routeConstName /\h\w*\%(\.\h\w*\)*/ contained

" ---------------------------------------------------------------- regexes
syn match routeRegexError +/\%([^/\\]\|\\.\)*\\\=$+
syn region routeRegex matchgroup=routeRegexDelim start=+/\%(\%([^/\\]\|\\.\)*/\)\@=+ skip=+\\.+ end=+/+ oneline keepend contains=routeRegexEscape,routeRegexClass nextgroup=routeRegexFlags,routeRegexDivision,routeRegexGap
syn match routeRegexEscape +\\.+ contained
syn match routeRegexClass +\[\^\=]\=\%([^\]\\/]\|\\.\)*]+ contained contains=routeRegexEscape
syn match routeRegexFlags /\a\+/ contained contains=routeRegexFlagError nextgroup=routeRegexDivision,routeRegexGap
" a regex is a value: a '/' after it divides
syn match routeRegexGap +\s\+\ze/+ contained nextgroup=routeRegexDivision
syn match routeRegexDivision +/+ contained
syn match routeRegexFlagError /[^imsx]/ contained
" division: after a value on the same line (a name, a soft keyword, true,
" false, a literal, ')' or ']', or the '$' the lexer takes for an amount),
" or opening a continued line.  The look-behind runs on the backtracking
" engine (\%#=1), many times faster on it than on the NFA one, and looks at
" most 40 bytes back.
syn match routeDivision +\%#=1\%(\%([A-Za-z0-9_)\]"$]\|[^\x00-\x7f]\|\<\d[0-9_]*\%(\.\d[0-9_]*\)\=%\)\s*\)\@40<=\%(\<\%(import\|const\|provider\|model\|from\|guardrail\|agent\|test\|route\|when\|otherwise\|cheapest\|fastest\|cascade\|split\|hook\|until\|by\|where\|default\|and\|or\|not\|in\|matches\|price\|deny\|redact\|limit\|with\|budget\|per\|expect\|given\|answers\|fails\|on\)\s*\)\@40<!/+
syn match routeDivision +^\s*\zs/\%(\%([^/\\]\|\\.\)*/\)\@!+

" ---------------------------------------------------------------- strings
syn match routeStringError +"\%([^"\\]\|\\.\)*\\\=$+
syn match routeString +"\%([^"\\]\|\\.\)*"+ contains=routeEscapeError,routeEscape,routePlaceholder
syn match routeEscapeError +\\.+ contained
" \n \t \r \" \\ \/ and \u{hex}: a Unicode scalar other than NUL, 1 to 7 digits
syn match routeEscape +\\\%([ntr"\\/]\|u{\%(\x\{1,7}}\)\@=\%(0*}\)\@!\%(0*[dD][89a-fA-F]\x\x}\)\@!0*\%(10\x\{4}\|\x\{1,5}\)}\)+ contained
syn match routePlaceholder /{\%(agent\|model\)}/ contained

" ---------------------------------------------------------------- comments
syn keyword routeTodo TODO FIXME XXX contained
syn match routeComment /#.*$/ contains=routeTodo,@Spell

hi def link routeError          Error
hi def link routeUnitError      Error
hi def link routeMoneyError     Error
hi def link routeRegexError     Error
hi def link routeRegexFlagError Error
hi def link routeStringError    Error
hi def link routeEscapeError    Error
hi def link routeItem           Identifier
hi def link routeFieldBase      Special
hi def link routeField          Identifier
hi def link routeBuiltin        Function
hi def link routeOperator       Operator
hi def link routeDivision       Operator
hi def link routeRegexDivision  Operator
hi def link routeDelimiter      Delimiter
hi def link routeNumber         Number
hi def link routeStatusClass    Constant
hi def link routePercent        Number
hi def link routeDuration       Number
hi def link routeTokens         Number
hi def link routeMoney          Number
hi def link routePrice          Number
hi def link routeImport         Include
hi def link routeDecl           Structure
hi def link routeDeclName       Function
hi def link routeConstName      Constant
hi def link routeControl        Conditional
hi def link routeStrategy       Statement
hi def link routeLogical        Operator
hi def link routeBoolean        Boolean
hi def link routeAction         Statement
hi def link routeKeyword        Keyword
hi def link routeTestWord       Keyword
hi def link routeSoft           Keyword
hi def link routeRegex          String
hi def link routeRegexDelim     Delimiter
hi def link routeRegexEscape    SpecialChar
hi def link routeRegexClass     Special
hi def link routeRegexFlags     Special
hi def link routeString         String
hi def link routeEscape         SpecialChar
hi def link routePlaceholder    Special
hi def link routeTodo           Todo
hi def link routeComment        Comment

let b:current_syntax = 'route'

let &cpo = s:cpo_save
unlet s:cpo_save
