// JSON text to a value, with a precise reason when it is not JSON. Pure.
//
// JSON.parse does the parsing. When it fails, a small syntax scanner finds where and why
// (V8's messages do not always carry a position), and tells a file that stops in the middle
// of a value (INPUT_TRUNCATED: an interrupted upload or copy) from one that is wrong
// somewhere (INPUT_NOT_JSON).
import type { InputProblem } from '../types.ts';

export type JsonResult = { ok: true; value: unknown } | { ok: false; problem: InputProblem };

export function parseJson(text: string): JsonResult {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (err) {
    const found = findSyntaxProblem(text);
    if (!found) {
      // the scanner and JSON.parse disagree: fall back on V8's own words
      const why = err instanceof Error ? err.message : String(err);
      return { ok: false, problem: { code: 'INPUT_NOT_JSON', message: `the document is not valid JSON: ${why}` } };
    }
    const { line, column } = lineColumn(text, found.offset);
    if (found.truncated) {
      const open = found.open > 0 ? ` with ${found.open} object${found.open === 1 ? '' : 's'}/array${found.open === 1 ? '' : 's'} still open` : '';
      return {
        ok: false,
        problem: {
          code: 'INPUT_TRUNCATED',
          message: `the JSON ends early at line ${line}, column ${column}${open}, where ${found.expected} was expected (truncated file?)`,
        },
      };
    }
    return {
      ok: false,
      problem: {
        code: 'INPUT_NOT_JSON',
        message: `the document is not valid JSON: at line ${line}, column ${column} ${found.expected} was expected but ${describeChar(text, found.offset)} was found`,
      },
    };
  }
}

export interface SyntaxProblem {
  /** UTF-16 offset in the text where the problem is (the text length when it ends early) */
  offset: number;
  /** what the grammar allowed there, in words */
  expected: string;
  /** true when the text ends before the value is complete */
  truncated: boolean;
  /** objects and arrays not closed at that point */
  open: number;
}

type Expect = 'value' | 'value-or-]' | 'key' | 'key-or-}' | 'after-value';

const EXPECT_WORDS: Record<Expect, string> = {
  value: 'a value',
  'value-or-]': "a value or ']'",
  key: 'a property name in double quotes',
  'key-or-}': "a property name in double quotes or '}'",
  'after-value': '', // depends on the open container
};

/**
 * Finds the first JSON syntax error (RFC 8259), or null when the text is valid JSON.
 * Iterative (an explicit stack), so deeply nested input cannot overflow the call stack.
 */
export function findSyntaxProblem(text: string): SyntaxProblem | null {
  const stack: Array<'{' | '['> = [];
  let i = 0;
  let expect: Expect = 'value';
  const problem = (offset: number, expected: string): SyntaxProblem => ({
    offset,
    expected,
    truncated: offset >= text.length,
    open: stack.length,
  });

  for (;;) {
    i = skipWhitespace(text, i);
    const top = stack[stack.length - 1];
    if (expect === 'after-value' && top === undefined) {
      return i >= text.length ? null : problem(i, 'the end of the document');
    }
    const words = expect === 'after-value' ? (top === '{' ? "',' or '}'" : "',' or ']'") : EXPECT_WORDS[expect];
    if (i >= text.length) return problem(i, words);
    const c = text[i]!;

    if (expect === 'after-value') {
      if (c === ',') {
        expect = top === '{' ? 'key' : 'value';
        i++;
      } else if (c === (top === '{' ? '}' : ']')) {
        stack.pop();
        i++;
      } else return problem(i, words);
      continue;
    }

    if (expect === 'key' || expect === 'key-or-}') {
      if (expect === 'key-or-}' && c === '}') {
        stack.pop();
        expect = 'after-value';
        i++;
        continue;
      }
      if (c !== '"') return problem(i, words);
      const end = scanString(text, i);
      if (typeof end !== 'number') return problem(end.offset, end.expected);
      i = skipWhitespace(text, end);
      if (i >= text.length || text[i] !== ':') return problem(i, "':' after the property name");
      i++;
      expect = 'value';
      continue;
    }

    // a value (or the end of an empty array)
    if (expect === 'value-or-]' && c === ']') {
      stack.pop();
      expect = 'after-value';
      i++;
      continue;
    }
    if (c === '{' || c === '[') {
      stack.push(c);
      expect = c === '{' ? 'key-or-}' : 'value-or-]';
      i++;
      continue;
    }
    let end: number | { offset: number; expected: string };
    if (c === '"') end = scanString(text, i);
    else if (c === '-' || (c >= '0' && c <= '9')) end = scanNumber(text, i);
    else if (c === 't' || c === 'f' || c === 'n') end = scanLiteral(text, i);
    else return problem(i, words);
    if (typeof end !== 'number') return problem(end.offset, end.expected);
    i = end;
    expect = 'after-value';
  }
}

function skipWhitespace(text: string, i: number): number {
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) break;
    i++;
  }
  return i;
}

/** End offset of the string starting at `i` (on its opening quote), or where it goes wrong. */
function scanString(text: string, i: number): number | { offset: number; expected: string } {
  i++;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c === 0x22) return i + 1;
    if (c < 0x20) return { offset: i, expected: 'a character or an escape (control characters must be escaped in strings)' };
    if (c === 0x5c) {
      const e = text[i + 1];
      if (e === undefined) return { offset: i + 1, expected: 'an escape character' };
      if (e === 'u') {
        for (let k = 2; k < 6; k++) {
          const h = text[i + k];
          if (h === undefined) return { offset: i + k, expected: 'four hex digits after \\u' };
          if (!/[0-9a-fA-F]/.test(h)) return { offset: i + k, expected: 'four hex digits after \\u' };
        }
        i += 6;
        continue;
      }
      if (!'"\\/bfnrt'.includes(e)) return { offset: i + 1, expected: 'one of " \\ / b f n r t u after a backslash' };
      i += 2;
      continue;
    }
    i++;
  }
  return { offset: i, expected: 'the closing quote of a string' };
}

function scanNumber(text: string, i: number): number | { offset: number; expected: string } {
  const digits = (from: number): number => {
    let k = from;
    while (k < text.length && text[k]! >= '0' && text[k]! <= '9') k++;
    return k;
  };
  if (text[i] === '-') i++;
  if (i >= text.length || !(text[i]! >= '0' && text[i]! <= '9')) return { offset: i, expected: 'a digit' };
  i = text[i] === '0' ? i + 1 : digits(i);
  if (text[i] === '.') {
    const k = digits(i + 1);
    if (k === i + 1) return { offset: k, expected: 'a digit after the decimal point' };
    i = k;
  }
  if (text[i] === 'e' || text[i] === 'E') {
    i++;
    if (text[i] === '+' || text[i] === '-') i++;
    const k = digits(i);
    if (k === i) return { offset: k, expected: 'a digit in the exponent' };
    i = k;
  }
  return i;
}

function scanLiteral(text: string, i: number): number | { offset: number; expected: string } {
  const word = text[i] === 't' ? 'true' : text[i] === 'f' ? 'false' : 'null';
  for (let k = 0; k < word.length; k++) {
    if (text[i + k] !== word[k]) return { offset: i + k, expected: `'${word}'` };
  }
  return i + word.length;
}

/** 1-based line and column (in characters) of a text offset; CRLF counts as one line break. */
export function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 0x0a) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}

function describeChar(text: string, offset: number): string {
  const cp = text.codePointAt(offset);
  if (cp === undefined) return 'the end of the document';
  if (cp < 0x20 || cp === 0x7f || (cp >= 0x80 && cp < 0xa0)) return `the control character U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;
  return `the character ${JSON.stringify(String.fromCodePoint(cp))}`;
}
