// A reader for the small part of YAML that docker-compose.yml uses, so that the container
// tests need neither a Docker engine, docker-compose nor a YAML library (the project has
// none, and one for a single test file is not worth a dependency).
//
// It is strict rather than clever: block mappings and sequences, plain and quoted scalars,
// flow sequences of scalars, comments. Anything else (anchors, aliases, tags, block
// scalars, multi-line plain scalars, flow mappings, tabs, duplicate keys) throws, and so do
// plain scalars that YAML 1.1 (docker-compose 1.x, PyYAML) and YAML 1.2 (docker compose v2)
// read differently (yes/no/on/off, 0755, 1:30, 1e3): the file must say what it means for
// every Compose, so it quotes them. Where PyYAML is installed, the container test compares
// this reader's result with PyYAML's.

export type YamlValue = string | number | boolean | null | YamlValue[] | { [key: string]: YamlValue };

interface Line {
  no: number;
  indent: number;
  text: string;
}

export class YamlSubsetError extends Error {}

export function parseYamlSubset(source: string): YamlValue {
  const lines = toLines(source);
  if (lines.length === 0) return null;
  const state = { lines, i: 0 };
  const value = parseBlock(state, lines[0]!.indent);
  const rest = state.lines[state.i];
  if (rest) fail(rest, 'unexpected indentation');
  return value;
}

function fail(line: Line | undefined, message: string): never {
  throw new YamlSubsetError(line ? `line ${line.no}: ${message}: ${line.text}` : message);
}

function toLines(source: string): Line[] {
  const out: Line[] = [];
  source.split(/\r?\n/).forEach((raw, idx) => {
    const no = idx + 1;
    const indentMatch = /^[ \t]*/.exec(raw)![0];
    if (indentMatch.includes('\t')) fail({ no, indent: 0, text: raw }, 'tab in indentation');
    const text = stripComment(raw.slice(indentMatch.length)).trimEnd();
    if (text === '') return;
    if (text === '---' || text === '...' || text.startsWith('%')) fail({ no, indent: 0, text }, 'documents and directives are not supported');
    out.push({ no, indent: indentMatch.length, text });
  });
  return out;
}

/** Removes a `#` comment: at the start, or after whitespace, outside a quoted scalar. */
function stripComment(text: string): string {
  let quote: '"' | "'" | null = null;
  for (let k = 0; k < text.length; k++) {
    const c = text[k]!;
    if (quote === '"') {
      if (c === '\\') k++;
      else if (c === '"') quote = null;
    } else if (quote === "'") {
      if (c === "'" && text[k + 1] === "'") k++;
      else if (c === "'") quote = null;
    } else if (c === '#' && (k === 0 || /\s/.test(text[k - 1]!))) {
      return text.slice(0, k);
    } else if ((c === '"' || c === "'") && opensQuote(text, k)) {
      quote = c;
    }
  }
  return text;
}

/** A quote opens a quoted scalar only where a scalar starts (else `don't` is plain text). */
function opensQuote(text: string, k: number): boolean {
  const before = text.slice(0, k).trimEnd();
  return before === '' || /[:\-\[,{]$/.test(before);
}

function isSeqItem(line: Line): boolean {
  return line.text === '-' || line.text.startsWith('- ');
}

function parseBlock(state: { lines: Line[]; i: number }, indent: number): YamlValue {
  const first = state.lines[state.i]!;
  return isSeqItem(first) ? parseSeq(state, indent) : parseMap(state, indent);
}

const KEY = /^([A-Za-z0-9_][A-Za-z0-9_.\/-]*):(?:\s+(.*))?$/;

function parseMap(state: { lines: Line[]; i: number }, indent: number): YamlValue {
  const map: { [key: string]: YamlValue } = {};
  while (state.i < state.lines.length) {
    const line = state.lines[state.i]!;
    if (line.indent < indent) break;
    if (line.indent > indent) fail(line, 'unexpected indentation');
    if (isSeqItem(line)) break; // a compact sequence belongs to the key above; the caller decides
    const m = KEY.exec(line.text);
    if (!m) fail(line, 'expected "key: value" with a plain key');
    const key = m[1]!;
    if (Object.hasOwn(map, key)) fail(line, `duplicate key ${key}`);
    state.i++;
    if (m[2] !== undefined) {
      map[key] = parseScalarOrFlow(m[2], line);
      continue;
    }
    const next = state.lines[state.i];
    if (next && next.indent > indent) map[key] = parseBlock(state, next.indent);
    else if (next && next.indent === indent && isSeqItem(next)) map[key] = parseSeq(state, indent);
    else map[key] = null;
  }
  return map;
}

function parseSeq(state: { lines: Line[]; i: number }, indent: number): YamlValue {
  const seq: YamlValue[] = [];
  while (state.i < state.lines.length) {
    const line = state.lines[state.i]!;
    if (line.indent !== indent || !isSeqItem(line)) {
      if (line.indent > indent) fail(line, 'unexpected indentation');
      break;
    }
    const afterDash = line.text.slice(1);
    const rest = afterDash.trimStart();
    if (rest === '') {
      state.i++;
      const next = state.lines[state.i];
      seq.push(next && next.indent > indent ? parseBlock(state, next.indent) : null);
    } else if (KEY.test(rest) || isSeqItem({ ...line, text: rest })) {
      // "- key: value" opens a mapping (or "- - x" a sequence) whose column is after the dash
      const column = indent + 1 + (afterDash.length - rest.length);
      state.lines[state.i] = { no: line.no, indent: column, text: rest };
      seq.push(parseBlock(state, column));
    } else {
      state.i++;
      seq.push(parseScalarOrFlow(rest, line));
    }
  }
  return seq;
}

function parseScalarOrFlow(text: string, line: Line): YamlValue {
  if (text.startsWith('[')) {
    if (!text.endsWith(']')) fail(line, 'a flow sequence must end on its line');
    const inner = text.slice(1, -1).trim();
    if (inner === '') return [];
    return splitFlow(inner, line).map((item) => parseScalar(item.trim(), line));
  }
  if (text === '{}') return {};
  return parseScalar(text, line);
}

/** Splits a flow sequence's items at the commas outside quotes. */
function splitFlow(inner: string, line: Line): string[] {
  const items: string[] = [];
  let quote: '"' | "'" | null = null;
  let start = 0;
  for (let k = 0; k < inner.length; k++) {
    const c = inner[k]!;
    if (quote === '"') {
      if (c === '\\') k++;
      else if (c === '"') quote = null;
    } else if (quote === "'") {
      if (c === "'" && inner[k + 1] === "'") k++;
      else if (c === "'") quote = null;
    } else if (c === '"' || c === "'") {
      quote = c;
    } else if (c === '[' || c === ']' || c === '{' || c === '}') {
      fail(line, 'nested flow collections are not supported');
    } else if (c === ',') {
      items.push(inner.slice(start, k));
      start = k + 1;
    }
  }
  if (quote) fail(line, 'unterminated quoted scalar');
  items.push(inner.slice(start));
  return items;
}

const DOUBLE_ESCAPES: Record<string, string> = { '\\': '\\', '"': '"', '/': '/', n: '\n', t: '\t', r: '\r', '0': '\0' };

function parseScalar(text: string, line: Line): YamlValue {
  if (text.startsWith('"')) {
    let out = '';
    for (let k = 1; k < text.length; k++) {
      const c = text[k]!;
      if (c === '\\') {
        const e = DOUBLE_ESCAPES[text[k + 1] ?? ''];
        if (e === undefined) fail(line, 'unsupported escape in a double-quoted scalar');
        out += e;
        k++;
      } else if (c === '"') {
        if (k !== text.length - 1) fail(line, 'text after a quoted scalar');
        return out;
      } else {
        out += c;
      }
    }
    fail(line, 'unterminated double-quoted scalar');
  }
  if (text.startsWith("'")) {
    let out = '';
    for (let k = 1; k < text.length; k++) {
      const c = text[k]!;
      if (c === "'" && text[k + 1] === "'") {
        out += "'";
        k++;
      } else if (c === "'") {
        if (k !== text.length - 1) fail(line, 'text after a quoted scalar');
        return out;
      } else {
        out += c;
      }
    }
    fail(line, 'unterminated single-quoted scalar');
  }
  if (/^[&*!|>%@`{}\[\]]/.test(text)) fail(line, 'anchors, aliases, tags, block scalars and flow mappings are not supported');
  if (/:\s/.test(text) || text.endsWith(':')) fail(line, 'a plain scalar cannot hold ": "');
  if (text === 'true') return true;
  if (text === 'false') return false;
  if (text === 'null' || text === '~') return null;
  if (/^[-+]?(0|[1-9][0-9]*)$/.test(text)) return Number(text);
  if (/^[-+]?([0-9]+\.[0-9]*|\.[0-9]+)$/.test(text)) return Number(text);
  // Read differently by YAML 1.1 and 1.2 (booleans, octals, base-60 numbers, exponents,
  // special floats): such a value must be quoted.
  if (
    /^(y|n|yes|no|on|off|true|false|null)$/i.test(text) ||
    /^[-+]?0[0-9_]+$/.test(text) ||
    /^[-+]?0[xXoObB]/.test(text) ||
    /^[-+]?[0-9][0-9_]*(:[0-5]?[0-9])+(\.[0-9_]*)?$/.test(text) ||
    /^[-+]?([0-9][0-9_]*)?\.?[0-9_]*[eE][-+]?[0-9]+$/.test(text) ||
    /^[-+]?\.(inf|nan)$/i.test(text) ||
    /^[-+]?[0-9][0-9_]*$/.test(text)
  ) {
    fail(line, 'ambiguous plain scalar (YAML 1.1 and 1.2 read it differently): quote it');
  }
  return text;
}
