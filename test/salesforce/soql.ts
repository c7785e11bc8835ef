// A small SOQL subset, enough for what the worker and jsforce's find() generate:
//   SELECT f1, f2 FROM Obj [WHERE cond [AND cond]...] [ORDER BY f [ASC|DESC]] [LIMIT n]
//   cond: Field = v | Field != v | Field IN (v, ...) | Field NOT IN (v, ...)
//   v: 'string' (with \' escapes) | number | true | false | null
// Anything else is answered like Salesforce answers a query it cannot parse: 400 MALFORMED_QUERY.
// SOQL semantics kept: keywords and field names are case-insensitive, text comparison with = is
// case-insensitive, ids compare by their 15-character form.

export interface Condition { field: string; op: '=' | '!=' | 'IN' | 'NOT IN'; values: unknown[] }
export interface SoqlQuery {
  fields: string[];
  object: string;
  where: Condition[];
  orderBy?: { field: string; desc: boolean };
  limit?: number;
}

export class SoqlError extends Error {
  errorCode: string;
  constructor(errorCode: string, message: string) {
    super(message);
    this.errorCode = errorCode;
  }
}

type Token = { kind: 'word' | 'string' | 'number' | 'punct'; text: string; value?: unknown };

function tokenize(q: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < q.length) {
    const c = q[i]!;
    if (/\s/.test(c)) { i++; continue; }
    if (c === "'") {
      let s = '';
      i++;
      while (i < q.length && q[i] !== "'") {
        if (q[i] === '\\' && i + 1 < q.length) { s += q[i + 1]; i += 2; } else { s += q[i]; i++; }
      }
      if (i >= q.length) throw malformed(q, 'unterminated string literal');
      i++;
      tokens.push({ kind: 'string', text: `'${s}'`, value: s });
      continue;
    }
    const num = /^-?\d+(?:\.\d+)?/.exec(q.slice(i));
    if (num && !/[A-Za-z_]/.test(q[i + num[0].length] ?? '')) {
      tokens.push({ kind: 'number', text: num[0], value: Number(num[0]) });
      i += num[0].length;
      continue;
    }
    const word = /^[A-Za-z_][A-Za-z0-9_.]*/.exec(q.slice(i));
    if (word) { tokens.push({ kind: 'word', text: word[0] }); i += word[0].length; continue; }
    const punct = /^(!=|<>|[(),=])/.exec(q.slice(i));
    if (punct) { tokens.push({ kind: 'punct', text: punct[0] === '<>' ? '!=' : punct[0] }); i += punct[0].length; continue; }
    throw malformed(q, `unexpected token: '${c}'`);
  }
  return tokens;
}

function malformed(q: string, detail: string): SoqlError {
  return new SoqlError('MALFORMED_QUERY', `\n${q}\n^\nERROR at Row:1:Column:1\n${detail}`);
}

export function parseSoql(q: string): SoqlQuery {
  const t = tokenize(q);
  let p = 0;
  const peek = (): Token | undefined => t[p];
  const isWord = (w: string, tok = peek()): boolean => tok?.kind === 'word' && tok.text.toUpperCase() === w;
  const expectWord = (w: string): void => {
    if (!isWord(w)) throw malformed(q, `unexpected token: '${peek()?.text ?? '<EOF>'}' (expected ${w})`);
    p++;
  };
  const ident = (): string => {
    const tok = peek();
    if (tok?.kind !== 'word') throw malformed(q, `unexpected token: '${tok?.text ?? '<EOF>'}'`);
    p++;
    return tok.text;
  };
  const literal = (): unknown => {
    const tok = t[p++];
    if (!tok) throw malformed(q, 'unexpected end of query');
    if (tok.kind === 'string' || tok.kind === 'number') return tok.value;
    if (isWord('TRUE', tok)) return true;
    if (isWord('FALSE', tok)) return false;
    if (isWord('NULL', tok)) return null;
    throw malformed(q, `unexpected token: '${tok.text}'`);
  };

  expectWord('SELECT');
  const fields = [ident()];
  while (peek()?.text === ',') { p++; fields.push(ident()); }
  expectWord('FROM');
  const object = ident();
  const where: Condition[] = [];
  if (isWord('WHERE')) {
    p++;
    for (;;) {
      const field = ident();
      const tok = t[p++];
      if (tok?.text === '=' || tok?.text === '!=') {
        where.push({ field, op: tok.text, values: [literal()] });
      } else if (isWord('IN', tok) || (isWord('NOT', tok) && isWord('IN', t[p]))) {
        const op = isWord('NOT', tok) ? 'NOT IN' : 'IN';
        if (op === 'NOT IN') p++;
        if (peek()?.text !== '(') throw malformed(q, `unexpected token: '${peek()?.text ?? '<EOF>'}' (expected '(')`);
        p++;
        const values = [literal()];
        while (peek()?.text === ',') { p++; values.push(literal()); }
        if (peek()?.text !== ')') throw malformed(q, `unexpected token: '${peek()?.text ?? '<EOF>'}' (expected ')')`);
        p++;
        where.push({ field, op, values });
      } else {
        throw malformed(q, `unexpected token: '${tok?.text ?? '<EOF>'}'`);
      }
      if (!isWord('AND')) break;
      p++;
    }
  }
  let orderBy: SoqlQuery['orderBy'];
  if (isWord('ORDER')) {
    p++;
    expectWord('BY');
    const field = ident();
    let desc = false;
    if (isWord('ASC')) p++;
    else if (isWord('DESC')) { p++; desc = true; }
    orderBy = { field, desc };
  }
  let limit: number | undefined;
  if (isWord('LIMIT')) {
    p++;
    const tok = t[p++];
    if (tok?.kind !== 'number' || !Number.isInteger(tok.value)) throw malformed(q, 'LIMIT must be a non-negative integer');
    limit = tok.value as number;
  }
  if (p < t.length) throw malformed(q, `unexpected token: '${t[p]!.text}'`);
  return { fields, object, where, ...(orderBy ? { orderBy } : {}), ...(limit !== undefined ? { limit } : {}) };
}

/** SOQL equality for one field type. */
export function soqlEquals(type: string, stored: unknown, literal: unknown): boolean {
  if (literal === null || stored === null || stored === undefined) return (stored ?? null) === literal;
  if ((type === 'id' || type === 'reference') && typeof stored === 'string' && typeof literal === 'string') {
    return stored.slice(0, 15) === literal.slice(0, 15) && [15, 18].includes(literal.length);
  }
  if (typeof stored === 'string' && typeof literal === 'string') return stored.toLowerCase() === literal.toLowerCase();
  return stored === literal;
}

/**
 * soqlEquals against a list of literals (`=`, `IN`) as one lookup per row: the literals are
 * keyed the way soqlEquals compares (ids by their first 15 characters, strings without case),
 * so a query with 200 values over 20,000 records costs 20,000 lookups, not 4 million calls.
 */
export function soqlMatcher(type: string, literals: readonly unknown[]): (stored: unknown) => boolean {
  const isId = type === 'id' || type === 'reference';
  const key = (v: unknown, literal: boolean): string | null => {
    if (v === null || v === undefined) return 'null';
    if (typeof v === 'string') {
      if (isId) return literal && v.length !== 15 && v.length !== 18 ? null : `id:${v.slice(0, 15)}`;
      return `s:${v.toLowerCase()}`;
    }
    return `${typeof v}:${String(v)}`;
  };
  const keys = new Set<string>();
  for (const l of literals) {
    const k = key(l, true);
    if (k !== null) keys.add(k);
  }
  return (stored) => {
    const k = key(stored, false);
    return k !== null && keys.has(k);
  };
}
