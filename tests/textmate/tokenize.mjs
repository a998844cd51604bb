// Tokenizes .route files with the TextMate grammar of the VS Code extension
// (editors/vscode/syntaxes/route.tmLanguage.json) through vscode-textmate
// and vscode-oniguruma, the engine VS Code itself uses, and checks the
// scopes it gives.  Run by tests/suites/textmate.sh, which installs the two
// packages with npm ci and copies this file next to their node_modules.
//
//   node tokenize.mjs ROOT LEXDUMP       every check, one PASS/FAIL line each
//   node tokenize.mjs ROOT --dump FILE   each token of FILE with its scopes
// LEXDUMP is the build's lexdump (tests/textmate/lexdump.c), which prints
// the tokens the compiler's own lexer reads.
//
// The checks:
//   case/NAME     tests/textmate/cases/NAME.route: the scope assertions in
//                 the file hold (format below), and no character carries an
//                 'invalid' scope unless an assertion asks for it there;
//   file/PATH     every examples/*.route, stdlib/std/*.route and every
//                 route block of README.md and docs/*.md tokenizes
//                 without 'invalid';
//   keyword/WORD  every word of the keyword table of grammar/lexer.l has a
//                 keyword scope, and a '/' after it is a regex (hard
//                 keywords) or a division (soft keywords, true, false),
//                 as the lexer decides;
//   lexer/PATH    the grammar agrees with the compiler's lexer on every
//                 file above, the cases of tests/textmate and tests/vim,
//                 every case of tests/compile, every text of the parser's
//                 fuzz corpus and 4,000 generated lines (lexer/generated,
//                 generate.mjs): each token lexdump prints
//                 has, on every character, a scope of its class (a string
//                 a string scope, a keyword a keyword scope, a '/' the
//                 lexer divides by an operator scope, ...); a token is
//                 'invalid' somewhere exactly when the lexer reported an
//                 error reading it (errors of a literal's value, out of
//                 range or too precise, excepted: a grammar cannot see
//                 them); and what is outside every token is blank or a
//                 comment.  The rest of a line after a word with non-ASCII
//                 letters is not compared (see checkLexer);
//   builtins      every builtin of vm/builtins.def is a support.function;
//   extension     editors/vscode/package.json names files that exist and
//                 the grammar's scopeName.
//
// Assertions: a line starting with '#' and then carets (after optional
// spaces) checks the nearest line above it that is not an assertion:
//     model titan from bedrock
//   #       ^^^^^ entity.name.type.model.route
// the carets mark the columns, the words after them are scopes every
// marked character must carry (a scope matches itself and its dotted
// extensions: 'string' matches 'string.quoted.double.route'), and scopes
// after a lone '-' are scopes none of them may carry.  Column 1 is marked
// with '<' and dashes, one dash per column: '# <-- storage.type' marks
// columns 1 and 2.
import fs from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import vsctm from 'vscode-textmate';
import oniguruma from 'vscode-oniguruma';
import { generatedText } from './generate.mjs';

const require = createRequire(import.meta.url);
const ROOT = process.argv[2];
if (!ROOT) {
    console.error('usage: node tokenize.mjs ROOT (LEXDUMP | --dump FILE)');
    process.exit(2);
}
const GRAMMAR = path.join(ROOT, 'editors/vscode/syntaxes/route.tmLanguage.json');

async function loadGrammar() {
    const wasm = fs.readFileSync(require.resolve('vscode-oniguruma/release/onig.wasm'));
    await oniguruma.loadWASM(wasm.buffer.slice(wasm.byteOffset, wasm.byteOffset + wasm.byteLength));
    const registry = new vsctm.Registry({
        onigLib: Promise.resolve({
            createOnigScanner: (p) => new oniguruma.OnigScanner(p),
            createOnigString: (s) => new oniguruma.OnigString(s),
        }),
        loadGrammar: async (scope) => scope === 'source.route'
            ? vsctm.parseRawGrammar(fs.readFileSync(GRAMMAR, 'utf8'), GRAMMAR) : null,
    });
    return registry.loadGrammar('source.route');
}

// One array per line: for each UTF-16 column, the scopes of its token.
function tokenize(grammar, text) {
    const lines = text.split('\n');
    if (lines.length && lines[lines.length - 1] === '')
        lines.pop();
    let stack = vsctm.INITIAL;
    return lines.map((line) => {
        const r = grammar.tokenizeLine(line, stack);
        stack = r.ruleStack;
        const cols = new Array(line.length);
        for (const t of r.tokens)
            for (let i = t.startIndex; i < Math.min(t.endIndex, line.length); i++)
                cols[i] = t.scopes;
        return { line, cols, tokens: r.tokens };
    });
}

const has = (scopes, want) => scopes.some((s) => s === want || s.startsWith(want + '.'));
const invalidAt = (scopes) => scopes.some((s) => s.startsWith('invalid'));

function parseAssertion(line) {
    const m = /^#(\s*)(\^+|<-+)\s+(.*)$/.exec(line);
    if (!m)
        return null;
    const first = m[2][0] === '<' ? 0 : 1 + m[1].length;
    const count = m[2][0] === '<' ? m[2].length - 1 : m[2].length;
    const words = m[3].trim().split(/\s+/);
    const dash = words.indexOf('-');
    return {
        first, count,
        want: dash < 0 ? words : words.slice(0, dash),
        deny: dash < 0 ? [] : words.slice(dash + 1),
    };
}

function describe(scopes) {
    return scopes ? scopes.filter((s) => s !== 'source.route').join(' ') || '(none)' : '(no token)';
}

function checkCase(grammar, file) {
    const toks = tokenize(grammar, fs.readFileSync(file, 'utf8'));
    const problems = [];
    const invalidOk = new Set();
    let src = -1, asserts = 0;
    toks.forEach((t, n) => {
        const a = parseAssertion(t.line);
        if (!a) {
            src = n;
            return;
        }
        asserts++;
        if (src < 0) {
            problems.push(`line ${n + 1}: an assertion before any source line`);
            return;
        }
        const s = toks[src];
        for (let c = a.first; c < a.first + a.count; c++) {
            const scopes = s.cols[c];
            const where = `${src + 1}:${c + 1} '${s.line.slice(c, c + 1)}'`;
            if (!scopes) {
                problems.push(`${where}: past the end of the line`);
                continue;
            }
            for (const w of a.want) {
                if (!has(scopes, w))
                    problems.push(`${where}: wants ${w}, has ${describe(scopes)}`);
                if (w.startsWith('invalid'))
                    invalidOk.add(`${src}:${c}`);
            }
            for (const d of a.deny)
                if (has(scopes, d))
                    problems.push(`${where}: must not have ${d}, has ${describe(scopes)}`);
        }
    });
    toks.forEach((t, n) => t.cols.forEach((scopes, c) => {
        if (scopes && invalidAt(scopes) && !invalidOk.has(`${n}:${c}`))
            problems.push(`${n + 1}:${c + 1}: unexpected ${describe(scopes)}`);
    }));
    if (!asserts)
        problems.push('no assertions');
    return problems;
}

function invalidSpans(grammar, text, lineOffset = 0) {
    const out = [];
    tokenize(grammar, text).forEach((t, n) => {
        for (const tok of t.tokens)
            if (invalidAt(tok.scopes))
                out.push(`${n + 1 + lineOffset}:${tok.startIndex + 1}: '${t.line.slice(tok.startIndex, tok.endIndex)}' is ${describe(tok.scopes)}`);
    });
    return out;
}

// The ```route and ```route-fragment blocks of a markdown file, with the
// line each starts on.
function routeBlocks(text) {
    const blocks = [];
    let cur = null;
    text.split('\n').forEach((line, n) => {
        if (cur === null && /^```route(-fragment)?\s*$/.test(line))
            cur = { start: n + 1, lines: [] };
        else if (cur !== null && /^```\s*$/.test(line)) {
            blocks.push({ start: cur.start, text: cur.lines.join('\n') + '\n' });
            cur = null;
        } else if (cur !== null)
            cur.lines.push(line);
    });
    return blocks;
}

// The keyword table of grammar/lexer.l: { word, hard } in table order.
function lexerKeywords() {
    const src = fs.readFileSync(path.join(ROOT, 'grammar/lexer.l'), 'utf8');
    const table = /keywords\[\]\s*=\s*\{([\s\S]*?)\n\};/.exec(src);
    if (!table)
        return [];
    const words = [];
    let hard = true;
    for (const line of table[1].split('\n')) {
        if (/soft keywords/.test(line))
            hard = false;
        for (const m of line.matchAll(/\{\s*"([a-z_]+)"\s*,\s*[A-Z_]+\s*\}/g))
            words.push({ word: m[1], hard });
    }
    return words;
}

const KEYWORD_SCOPES = ['keyword', 'storage.type', 'constant.language'];

function checkKeyword(grammar, { word, hard }) {
    const problems = [];
    const alone = tokenize(grammar, word + '\n')[0];
    if (!alone.cols[0] || !KEYWORD_SCOPES.some((k) => has(alone.cols[0], k)))
        problems.push(`'${word}' alone is ${describe(alone.cols[0])}, not a keyword`);
    const slashIsDivision = !hard || word === 'true' || word === 'false';
    const t = tokenize(grammar, `x ${word} /a/\n`)[0];
    const at = t.cols[word.length + 3];
    if (!at)
        problems.push(`no token at the '/' after '${word}'`);
    else if (slashIsDivision && (has(at, 'string.regexp') || !has(at, 'keyword.operator.arithmetic')))
        problems.push(`'${word} /a/': the '/' is ${describe(at)}, the lexer reads a division`);
    else if (!slashIsDivision && !has(at, 'string.regexp'))
        problems.push(`'${word} /a/': the '/' is ${describe(at)}, the lexer reads a regex`);
    return problems;
}

function checkBuiltins(grammar) {
    const def = fs.readFileSync(path.join(ROOT, 'vm/builtins.def'), 'utf8');
    const names = [...def.matchAll(/^BI\(([a-z_]+),/gm)].map((m) => m[1]);
    if (names.length < 10)
        return [`found only ${names.length} builtins in vm/builtins.def`];
    const problems = [];
    for (const n of names) {
        const t = tokenize(grammar, `${n}(x)\n`)[0];
        if (!t.cols[0] || !has(t.cols[0], 'support.function.builtin'))
            problems.push(`${n}(...) is ${describe(t.cols[0])}`);
    }
    return problems;
}

function checkExtension() {
    const dir = path.join(ROOT, 'editors/vscode');
    const problems = [];
    const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
    const langs = pkg.contributes?.languages ?? [];
    const grammars = pkg.contributes?.grammars ?? [];
    const lang = langs.find((l) => l.id === 'route');
    if (!lang || !(lang.extensions ?? []).includes('.route'))
        problems.push('package.json: no language "route" for .route files');
    else if (!fs.existsSync(path.join(dir, lang.configuration ?? '')))
        problems.push(`package.json: ${lang.configuration} does not exist`);
    else {
        const conf = JSON.parse(fs.readFileSync(path.join(dir, lang.configuration), 'utf8'));
        if (conf.comments?.lineComment !== '#')
            problems.push('language-configuration.json: the line comment is not "#"');
    }
    const g = grammars.find((x) => x.language === 'route');
    if (!g)
        problems.push('package.json: no grammar for "route"');
    else {
        if (path.resolve(dir, g.path) !== path.resolve(GRAMMAR))
            problems.push(`package.json: the grammar path ${g.path} is not syntaxes/route.tmLanguage.json`);
        const scopeName = JSON.parse(fs.readFileSync(GRAMMAR, 'utf8')).scopeName;
        if (g.scopeName !== scopeName || scopeName !== 'source.route')
            problems.push(`package.json: scopeName ${g.scopeName}, the grammar's ${scopeName}; both must be source.route`);
    }
    return problems;
}

// What the compiler's lexer reads: { line, col, end, cls, err } per token,
// with 1-based byte columns (end exclusive).
function lexTokens(lexdump, file) {
    const out = execFileSync(lexdump, [file], { encoding: 'utf8', maxBuffer: 1 << 28 });
    return out.split('\n').filter(Boolean).map((l) => {
        const m = /^(\d+) (\d+) (\d+) (\S+)(?: (.*))?$/.exec(l);
        if (!m)
            throw new Error(`lexdump printed '${l}'`);
        return { line: +m[1], col: +m[2], end: +m[3], cls: m[4], err: m[5] ?? null };
    });
}

// For each byte offset of a line (and one past its end), the UTF-16 index
// of the character it belongs to.
function byteToIndex(line) {
    const map = [];
    let u = 0;
    for (const ch of line) {
        const cp = ch.codePointAt(0);
        const bytes = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
        for (let i = 0; i < bytes; i++)
            map.push(u);
        u += ch.length;
    }
    map.push(u);
    return map;
}

// The scopes a character of each lexer token class may carry (one of them
// at least).  Dotted names and fields are one grammar token over several
// lexer tokens (std.pii.email, meta.team.id), so a name, a keyword after a
// '.' and the '.' itself may be inside them.
const CLASS_SCOPES = {
    keyword: ['keyword', 'storage.type', 'constant.language', 'variable.language.decision',
              'variable.other.property', 'variable.other.constant', 'entity.name'],
    name: ['variable', 'entity.name', 'support', 'constant.other.status-class', 'keyword.other.price-class',
           'invalid.illegal.non-ascii'],
    string: ['string.quoted.double', 'invalid.illegal.unterminated-string'],
    regex: ['string.regexp', 'invalid.illegal.unterminated-regex'],
    money: ['constant.numeric.money', 'invalid.illegal.money'],
    price: ['constant.numeric.price'],
    tokens: ['constant.numeric.tokens', 'invalid.illegal.unit'],
    duration: ['constant.numeric.duration'],
    percent: ['constant.numeric.percentage'],
    int: ['constant.numeric.integer', 'invalid.illegal.unit'],
    number: ['constant.numeric.decimal'],
    divide: ['keyword.operator.arithmetic'],
    op: ['keyword.operator', 'punctuation', 'variable.other.constant', 'variable.other.property', 'entity.name.constant'],
    bad: ['invalid.illegal'],
};
const VALUE_ERROR = /out of range|more precise than/;

function checkLexer(grammar, lexdump, file) {
    const toks = tokenize(grammar, fs.readFileSync(file, 'utf8'));
    const problems = [];
    const covered = toks.map((t) => new Array(t.line.length).fill(false));
    let skipLine = 0;
    for (const k of lexTokens(lexdump, file)) {
        const t = toks[k.line - 1];
        const allowed = CLASS_SCOPES[k.cls];
        if (!t || !allowed) {
            problems.push(`${k.line}:${k.col}: lexdump gave a ${k.cls} token where the grammar has no line`);
            continue;
        }
        const map = byteToIndex(t.line);
        const from = map[k.col - 1], to = map[Math.min(k.end - 1, map.length - 1)];
        const text = t.line.slice(from, to);
        const where = `${k.line}:${from + 1} ${k.cls} '${text}'`;
        if (skipLine === k.line) {
            covered[k.line - 1].fill(true, from);
            continue;
        }
        // After a word with non-ASCII letters the lexer decides whether a
        // value ended by counting its letters, which no grammar does: both
        // mark the word, and the rest of its line is not compared.
        if (k.err && /non-ASCII/.test(k.err))
            skipLine = k.line;
        covered[k.line - 1].fill(true, from, to);
        const cols = t.cols.slice(from, to).map((c) => c ?? []);
        const invalid = cols.some(invalidAt);
        const wrong = cols.findIndex((scopes) => !allowed.some((a) => has(scopes, a)));
        if (wrong >= 0)
            problems.push(`${where}: '${t.line[from + wrong]}' is ${describe(t.cols[from + wrong])}`);
        const lexErr = k.err !== null && !VALUE_ERROR.test(k.err);
        if (lexErr && !invalid)
            problems.push(`${where}: the lexer says "${k.err}", the grammar marks nothing invalid`);
        else if (!lexErr && invalid)
            problems.push(`${where}: the grammar marks it invalid, the lexer reads it without error`);
    }
    toks.forEach((t, n) => t.cols.forEach((scopes, i) => {
        if (covered[n][i])
            return;
        const blank = /\s/.test(t.line[i]);
        if ((blank && invalidAt(scopes ?? [])) || (!blank && !has(scopes ?? [], 'comment.line')))
            problems.push(`${n + 1}:${i + 1}: '${t.line[i]}' is in no token of the lexer, but is ${describe(scopes)}`);
    }));
    return problems;
}

// Only texts the lexer reads as the grammar sees them: UTF-8, no NUL, no
// byte-order mark (VS Code keeps a leading one out of the text it highlights, and the
// lexer reads it as white space, so there is nothing to compare).
function plainText(file) {
    const bytes = fs.readFileSync(file);
    const bom = bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf;
    return !bom && !bytes.includes(0) && Buffer.from(bytes.toString('utf8'), 'utf8').equals(bytes);
}

function report(name, problems) {
    if (!problems.length) {
        console.log(`PASS textmate/${name}`);
        return;
    }
    console.log(`FAIL textmate/${name}: ${problems[0]}`);
    for (const p of problems.slice(1, 8))
        console.log(`    ${p}`);
    if (problems.length > 8)
        console.log(`    ... and ${problems.length - 8} more`);
}

function listRoute(dir) {
    const d = path.join(ROOT, dir);
    return fs.readdirSync(d).filter((f) => f.endsWith('.route')).sort().map((f) => path.join(dir, f));
}

const grammar = await loadGrammar();
if (process.argv[3] === '--dump') {
    tokenize(grammar, fs.readFileSync(process.argv[4], 'utf8')).forEach((t, n) => {
        for (const tok of t.tokens)
            console.log(`${n + 1}:${tok.startIndex + 1}-${tok.endIndex} ${JSON.stringify(t.line.slice(tok.startIndex, tok.endIndex))} ${describe(tok.scopes)}`);
    });
    process.exit(0);
}

const cases = listRoute('tests/textmate/cases');
if (cases.length < 5)
    report('cases', [`only ${cases.length} cases in tests/textmate/cases`]);
for (const f of cases)
    report(`case/${path.basename(f, '.route')}`, checkCase(grammar, path.join(ROOT, f)));

const files = [...listRoute('examples'), ...listRoute('stdlib/std')];
for (const f of files)
    report(`file/${f}`, invalidSpans(grammar, fs.readFileSync(path.join(ROOT, f), 'utf8')));
const docs = fs.readdirSync(path.join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).sort().map((f) => `docs/${f}`);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'textmate-'));
const blockFiles = [];
for (const md of ['README.md', ...docs]) {
    const blocks = routeBlocks(fs.readFileSync(path.join(ROOT, md), 'utf8'));
    if (blocks.length)
        report(`file/${md}`, blocks.flatMap((b) => invalidSpans(grammar, b.text, b.start)));
    blocks.forEach((b) => {
        const name = `${md}:${b.start}`;
        fs.writeFileSync(path.join(tmp, `${blockFiles.length}.route`), b.text);
        blockFiles.push({ name, file: path.join(tmp, `${blockFiles.length}.route`) });
    });
}

const lexdump = process.argv[3];
if (!lexdump || !fs.existsSync(lexdump))
    report('lexer', [`no lexdump at '${lexdump ?? ''}' (built by make as build/lexdump)`]);
else {
    const corpus = fs.readdirSync(path.join(ROOT, 'tests/fuzz/corpus/parse')).sort().map((f) => `tests/fuzz/corpus/parse/${f}`);
    const against = [...cases, 'tests/vim/cases/basics.route', 'tests/vim/cases/literals.route', ...files,
                     ...listRoute('tests/compile'), ...corpus]
        .filter((f) => fs.existsSync(path.join(ROOT, f)) && plainText(path.join(ROOT, f)))
        .map((f) => ({ name: f, file: path.join(ROOT, f) }));
    fs.writeFileSync(path.join(tmp, 'generated.route'), generatedText(4000));
    blockFiles.push({ name: 'generated', file: path.join(tmp, 'generated.route') });
    for (const { name, file } of [...against, ...blockFiles])
        report(`lexer/${name}`, checkLexer(grammar, lexdump, file));
}
fs.rmSync(tmp, { recursive: true, force: true });

const keywords = lexerKeywords();
if (keywords.length < 40 || !keywords.some((k) => !k.hard))
    report('keywords', [`read ${keywords.length} keywords from the table in grammar/lexer.l; its layout changed`]);
for (const k of keywords)
    report(`keyword/${k.word}`, checkKeyword(grammar, k));

report('builtins', checkBuiltins(grammar));
report('extension', checkExtension());
