// HTML for the console's pages, escaped by default: every value put into an `html` template
// is text (& < > " ' escaped) unless it is itself an `Html` made by `html` (a fragment built
// the same way) or by `trusted` (markup written in this folder, never from data). A page built
// from a metadata file's values cannot then carry markup from it, whichever value a page
// forgets to think about: there is no "remember to escape" to forget.

export class Html {
  readonly value: string;
  constructor(value: string) {
    this.value = value;
  }
  toString(): string {
    return this.value;
  }
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text as HTML text or attribute value (quoted); control characters but tab and newline dropped. */
export function escapeHtml(s: string): string {
  return s.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g, '').replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

type Part = Html | string | number | boolean | null | undefined | readonly Part[];

function render(v: Part): string {
  if (v === null || v === undefined || v === false) return '';
  if (v instanceof Html) return v.value;
  if (Array.isArray(v)) return v.map(render).join('');
  return escapeHtml(String(v));
}

/** A template whose values are escaped (arrays joined, null/undefined/false left out). */
export function html(strings: TemplateStringsArray, ...values: Part[]): Html {
  let out = strings[0]!;
  for (let i = 0; i < values.length; i++) out += render(values[i]!) + strings[i + 1]!;
  return new Html(out);
}

/** Markup written in this folder (an SVG built from numbers, a constant): never a value from a file. */
export function trusted(markup: string): Html {
  return new Html(markup);
}

/** A link only to an http(s) address; anything else is shown as text, not linked. */
export function link(href: string | null | undefined, text: Part, attrs: Html = html``): Html {
  if (!href) return html`${text}`;
  try {
    const u = new URL(href);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') return html`${text}`;
  } catch {
    return html`${text}`;
  }
  return html`<a href="${href}" rel="noopener noreferrer"${attrs}>${text}</a>`;
}

/** A query string from parameters (empty ones left out), for links within the console. */
export function query(params: Record<string, string | number | null | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== null && v !== undefined && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}
