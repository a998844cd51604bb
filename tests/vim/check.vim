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
"   - any other file must have no character in an error item;
"   - loading must raise no Vim error (E123: ...) and set filetype and
"     b:current_syntax to 'route'.

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
  let s:name = fnamemodify(s:file, ':.')
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
  if s:name =~# '^tests/vim/cases/'
    let s:problems += s:check_case()
  else
    let s:problems += s:errors({})
  endif
  call s:report(s:name, s:problems)
endfor

call writefile(s:out, $ROUTE_VIM_OUT)
qall!
