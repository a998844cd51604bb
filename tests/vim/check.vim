" Checks the Vim files of editors/vim in a headless Vim, run by
" tests/suites/vim.sh:
"   ROUTE_VIM_ROOT=ROOT ROUTE_VIM_OUT=OUT vim -Nu NONE -i NONE -n -es -S tests/vim/check.vim FILE... </dev/null
" Each FILE is opened as a user would open it (ftdetect sets the filetype,
" the syntax file loads) and gets one PASS/FAIL line in OUT:
"   - a file under tests/vim/cases/ holds assertions, in the format of the
"     TextMate cases (tests/textmate/tokenize.mjs): a line '#', spaces,
"     carets and the names of syntax items; each marked character of the
"     nearest source line above must be inside the first item named (the
"     innermost one, as synID() gives it), and in none of the items named
"     after a lone '-'; '<' and dashes mark from column 1.  No character
"     may be in an error item (a name ending in 'Error') unless an
"     assertion asks for that item there;
"   - an example, a stdlib module or a route block of the docs (which the
"     suite writes as generated/docs/FILE.md-LINE.route, LINE its first
"     line) must have no character in an error item;
"   - loading must raise no Vim error (E123: ...), set filetype and
"     b:current_syntax to 'route' and commentstring to '# %s' (the
"     ftplugin);
"   - a file listed in $ROUTE_VIM_LEX (lines "FILE<Tab>TOKENS", TOKENS the
"     output of the build's lexdump for FILE: the tokens the compiler's
"     lexer reads) gets a second line, vim/lexer/FILE: every byte of each
"     token is in a syntax item of the token's class (s:class_items), the
"     token is in an error item somewhere exactly when the lexer reported
"     an error reading it (errors of a literal's value excepted), and what
"     is in no token is blank or a comment.  As in the TextMate test, the
"     rest of a line after a non-ASCII word is not compared.

let s:root = $ROUTE_VIM_ROOT
let s:out = []

execute 'set runtimepath^=' . fnameescape(s:root . '/editors/vim')
filetype plugin on
syntax on

" The syntax item at line 'l', character index 'i' (0-based) of 'text'.
function! s:item(l, text, i) abort
  return synIDattr(synID(a:l, byteidx(a:text, a:i) + 1, 0), 'name')
endfunction

function! s:parse(line) abort
  let m = matchlist(a:line, '^#\(\s*\)\(\^\+\|<-\+\)\s\+\(.*\)$')
  if empty(m)
    return {}
  endif
  let words = split(m[3])
  let dash = index(words, '-')
  return {
        \ 'first': m[2][0] ==# '<' ? 0 : 1 + strchars(m[1]),
        \ 'count': m[2][0] ==# '<' ? strchars(m[2]) - 1 : strchars(m[2]),
        \ 'want': dash < 0 ? words : words[: dash - 1],
        \ 'deny': dash < 0 ? [] : words[dash + 1 :],
        \ }
endfunction

function! s:check_case() abort
  let problems = []
  let allowed = {}
  let src = 0
  let asserts = 0
  for l in range(1, line('$'))
    let a = s:parse(getline(l))
    if empty(a)
      let src = l
      continue
    endif
    let asserts += 1
    if src == 0
      call add(problems, 'line ' . l . ': an assertion before any source line')
      continue
    endif
    let text = getline(src)
    for i in range(a.first, a.first + a.count - 1)
      let where = src . ':' . (i + 1) . " '" . strcharpart(text, i, 1) . "'"
      if i >= strchars(text)
        call add(problems, where . ': past the end of the line')
        continue
      endif
      let name = s:item(src, text, i)
      if !empty(a.want) && name !=# a.want[0]
        call add(problems, where . ': wants ' . a.want[0] . ', is in ' . (empty(name) ? '(nothing)' : name))
      endif
      if !empty(a.want) && a.want[0] =~# 'Error$'
        let allowed[src . ':' . i] = 1
      endif
      if index(a.deny, name) >= 0
        call add(problems, where . ': must not be in ' . name)
      endif
    endfor
  endfor
  if asserts == 0
    call add(problems, 'no assertions')
  endif
  return problems + s:errors(allowed)
endfunction

" Characters in an error item, but those an assertion allows.
function! s:errors(allowed) abort
  let problems = []
  for l in range(1, line('$'))
    let text = getline(l)
    for i in range(strchars(text))
      let name = s:item(l, text, i)
      if name =~# 'Error$' && !has_key(a:allowed, l . ':' . i)
        call add(problems, l . ':' . (i + 1) . " '" . strcharpart(text, i, 1) . "' is in " . name)
      endif
    endfor
  endfor
  return problems
endfunction

" The syntax items a byte of each lexer token class may be in (one of them).
let s:class_items = {
      \ 'keyword': ['routeImport', 'routeDecl', 'routeControl', 'routeStrategy', 'routeLogical', 'routeBoolean',
      \             'routeAction', 'routeKeyword', 'routeTestWord', 'routeSoft', 'routeField', 'routeDeclName',
      \             'routeConstName'],
      \ 'name': ['routeName', 'routeItem', 'routeField', 'routeFieldBase', 'routeBuiltin', 'routeDeclName',
      \          'routeConstName', 'routeStatusClass', 'routeError'],
      \ 'string': ['routeString', 'routeEscape', 'routeEscapeError', 'routePlaceholder', 'routeStringError'],
      \ 'regex': ['routeRegex', 'routeRegexDelim', 'routeRegexEscape', 'routeRegexClass', 'routeRegexFlags',
      \           'routeRegexFlagError', 'routeRegexError'],
      \ 'money': ['routeMoney', 'routeMoneyError'],
      \ 'price': ['routePrice'],
      \ 'tokens': ['routeTokens', 'routeUnitError'],
      \ 'duration': ['routeDuration'],
      \ 'percent': ['routePercent'],
      \ 'int': ['routeNumber', 'routeUnitError'],
      \ 'number': ['routeNumber'],
      \ 'divide': ['routeDivision', 'routeRegexDivision'],
      \ 'op': ['routeOperator', 'routeDelimiter', 'routeField', 'routeConstName'],
      \ 'bad': ['routeError'],
      \ }

function! s:check_lexer(tokfile) abort
  let problems = []
  let covered = {}   " line -> list of 0/1 per byte
  let skip = 0
  for t in readfile(a:tokfile)
    let m = matchlist(t, '^\(\d\+\) \(\d\+\) \(\d\+\) \(\S\+\)\%( \(.*\)\)\=$')
    if empty(m) || !has_key(s:class_items, m[4])
      call add(problems, "lexdump printed '" . t . "'")
      continue
    endif
    let [l, from, to, cls, err] = [str2nr(m[1]), str2nr(m[2]), str2nr(m[3]), m[4], m[5]]
    if !has_key(covered, l)
      let covered[l] = repeat([0], strlen(getline(l)) + 2)
    endif
    if l == skip
      for c in range(from, strlen(getline(l)))
        let covered[l][c] = 1
      endfor
      continue
    endif
    if err =~# 'non-ASCII'
      let skip = l
    endif
    let text = getline(l)
    let where = l . ':' . from . ' ' . cls . " '" . strpart(text, from - 1, to - from) . "'"
    let in_error = 0
    let wrong = ''
    for c in range(from, to - 1)
      let covered[l][c] = 1
      let name = synIDattr(synID(l, c, 0), 'name')
      let in_error = in_error || name =~# 'Error$'
      if empty(wrong) && index(s:class_items[cls], name) < 0
        let wrong = "byte " . c . " is in " . (empty(name) ? '(nothing)' : name)
      endif
    endfor
    if !empty(wrong)
      call add(problems, where . ': ' . wrong)
    endif
    let lex_error = !empty(err) && err !~# 'out of range\|more precise than'
    if lex_error && !in_error
      call add(problems, where . ': the lexer says "' . err . '", no error item')
    elseif !lex_error && in_error
      call add(problems, where . ': in an error item, the lexer reads it without error')
    endif
  endfor
  for l in range(1, line('$'))
    let text = getline(l)
    let cov = get(covered, l, [])
    for c in range(1, strlen(text))
      if get(cov, c, 0) || text[c - 1] =~# '\s'
        continue
      endif
      let name = synIDattr(synID(l, c, 0), 'name')
      if name !=# 'routeComment' && name !=# 'routeTodo'
        call add(problems, l . ':' . c . " '" . text[c - 1] . "' is in no token of the lexer, but in " . (empty(name) ? '(nothing)' : name))
      endif
    endfor
  endfor
  return problems
endfunction

" FILE -> its lexdump output, from $ROUTE_VIM_LEX.
let s:lex = {}
if !empty($ROUTE_VIM_LEX)
  for s:entry in readfile($ROUTE_VIM_LEX)
    let s:pair = split(s:entry, "\t")
    let s:lex[s:pair[0]] = s:pair[1]
  endfor
endif

function! s:report(name, problems) abort
  if empty(a:problems)
    call add(s:out, 'PASS vim/' . a:name)
    return
  endif
  call add(s:out, 'FAIL vim/' . a:name . ': ' . a:problems[0])
  for p in a:problems[1:7]
    call add(s:out, '    ' . p)
  endfor
  if len(a:problems) > 8
    call add(s:out, '    ... and ' . (len(a:problems) - 8) . ' more')
  endif
endfunction

for s:file in argv()
  " files the suite writes (in $ROUTE_VIM_TMP) are named 'generated/...'
  let s:path = fnamemodify(s:file, ':.')
  let s:name = substitute(s:path, '^\V' . escape($ROUTE_VIM_TMP, '\') . '/', 'generated/', '')
  let s:msgs = ''
  try
    redir => s:msgs
    execute 'silent edit ' . fnameescape(s:file)
    redir END
  catch
    redir END
    call s:report(s:name, ['opening it: ' . v:exception])
    continue
  endtry
  if &filetype !=# 'route' && s:file !~# '\.route$'
    setfiletype route           " a text of the fuzz corpus, with no .route name
  endif
  let s:problems = []
  for s:m in split(s:msgs, "\n")
    if s:m =~# '^E\d\+:'
      call add(s:problems, 'Vim error: ' . s:m)
    endif
  endfor
  if &filetype !=# 'route'
    call add(s:problems, "filetype is '" . &filetype . "', not route")
  endif
  if get(b:, 'current_syntax', '') !=# 'route'
    call add(s:problems, 'the route syntax is not loaded')
  endif
  if &commentstring !=# '# %s'
    call add(s:problems, "commentstring is '" . &commentstring . "': the ftplugin is not loaded")
  endif
  if s:name =~# '^tests/vim/cases/'
    let s:problems += s:check_case()
  elseif s:name =~# '^\%(examples\|stdlib\|generated/docs\)/'
    let s:problems += s:errors({})
  endif
  call s:report(s:name, s:problems)
  if has_key(s:lex, s:path)
    call s:report('lexer/' . s:name, s:check_lexer(s:lex[s:path]))
  endif
endfor

call writefile(s:out, $ROUTE_VIM_OUT, "a")   " xargs may start several vims
qall!
