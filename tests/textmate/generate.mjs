// Text for the differential tests of the editors' highlighting against the
// compiler's lexer (tests/textmate/tokenize.mjs, tests/suites/vim.sh):
//   node generate.mjs LINES [SEED]   prints LINES generated lines
// No dependencies, so the Vim suite can run it without the npm packages.
import { pathToFileURL } from 'node:url';

// Lines glued together at random (a fixed seed) from pieces of every kind
// of token, valid and not: the lexer and the grammar must still agree.
// No line starts with '/': whether that is a regex depends on the line
// before, which a grammar cannot see (docs/editors.md).  Nor is an amount
// glued to a word ('$5on', never valid): the lexer reads a keyword there
// that a grammar cannot tell from the end of a name.
export function generatedText(lines, seed = 0x2545f491) {
    const words = ['import', 'model', 'agent', 'when', 'cascade', 'and', 'not', 'in', 'matches', 'true', 'false',
                   'price', 'per', 'on', 'input', 'output', 'timeout', 'check', 'x', 'llama3_70b', '_a', 'meta',
                   'response', 'std', 'tokens', 'lang', 'k', 'M', 's', 'ms', 'xx', 'tok', 'Mtok', 'out', 'cached'];
    const numbers = ['0', '12', '1_000', '1.5', '1.', '5', '5xx', '6xx', '3__'];
    const units = ['', '', 'k', 'M', 's', 'ms', 'us', 'm', 'h', '%', 'tokens', ' tokens', '\ttokens', 'e3', 'sec',
                   'x', 'Ktok', 'tokens('];
    const money = ['$', '$5', '$0.15/Mtok', '$1/Ktok', '$1/tok', '$1/', '$1/Mtokx', '$.5', '$1_0.5_0'];
    const strings = ['"abc"', '"a\\nb\\t\\r\\"\\\\\\/"', '"\\q"', '"\\u{41}"', '"\\u{110000}"', '"\\u{D800}"',
                     '"\\u{0}"', '"\\u{10FFFF}"', '"\\u{}"', '"unterminated', '"a#b"', '"é"', '"{agent}"', '"\\'];
    const regexes = ['/a/', '/a/i', '/a/iq', '/a\\/b/', '/unterminated', '/[/]/', '/#/x', '/a\\', '/é/'];
    const ops = ['->', '==', '!=', '<=', '>=', '<', '>', '=', '+', '-', '*', '/', ',', '.', '{', '}', '(', ')',
                 '[', ']', ':', '!', '%', '@', ';', '&', '|', '?', '\\', "'", '`', '^', '~', '$'];
    const other = ['# c', '#', 'é', 'modèle', '日本', 'xé', '5é', 'meta.a.b', 'meta.route', 'response.text',
                   'std.pii.email', 'a.and'];
    const kinds = [words, words, numbers, money, strings, regexes, ops, ops, other];
    const rand = (n) => {   // mulberry32
        seed = (seed + 0x6d2b79f5) | 0;
        let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
        t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
        return (((t ^ (t >>> 14)) >>> 0) % n);
    };
    const pick = (a) => a[rand(a.length)];
    const out = [];
    for (let i = 0; i < lines; i++) {
        const parts = [];
        for (let j = 1 + rand(8); j > 0; j--) {
            const kind = pick(kinds);
            parts.push(kind === numbers ? pick(numbers) + pick(units) : pick(kind));
            parts.push(kind === money ? ' ' : pick([' ', ' ', '', '\t']));
        }
        const line = parts.join('');
        out.push(/^\s*\//.test(line) ? 'x ' + line : line);
    }
    return out.join('\n') + '\n';
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
    const lines = Number(process.argv[2]);
    if (!Number.isInteger(lines) || lines < 1) {
        console.error('usage: node generate.mjs LINES [SEED]');
        process.exit(2);
    }
    process.stdout.write(process.argv[3] ? generatedText(lines, Number(process.argv[3])) : generatedText(lines));
}
