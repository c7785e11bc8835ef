// The console's building blocks without a server: escaping by default, Basic credentials, the
// same-origin check and the form token, the chart, the failed groups.
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { describe, it } from 'node:test';
import { authorised, formToken, sameOrigin, validFormToken } from '../../src/admin/auth.ts';
import { minuteChart } from '../../src/admin/chart.ts';
import { groupFailed } from '../../src/admin/console.ts';
import { html, link, trusted } from '../../src/admin/html.ts';
import { sessionPage, sessionsPage } from '../../src/admin/pages.ts';

const req = (headers: Record<string, string>) => ({ headers }) as unknown as IncomingMessage;
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const creds = { user: 'admin', password: 'correct horse battery' };

describe('html', () => {
  it('escapes every value, joins arrays, leaves out null and false, keeps fragments as they are', () => {
    const hostile = `<script>alert("x")</script>&'`;
    const out = html`<p title="${hostile}">${hostile}${[hostile, html`<b>${hostile}</b>`]}${null}${false}${0}</p>`.value;
    assert.equal(out.includes('<script>'), false);
    assert.equal(out, `<p title="&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;">&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;<b>&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;</b>0</p>`);
    assert.equal(html`${trusted('<hr>')}`.value, '<hr>');
  });

  it('drops control characters', () => {
    assert.equal(html`${'a\u0000b\u001bc\td\ne'}`.value, 'abc\td\ne');
  });

  it('links only to http(s) addresses', () => {
    assert.equal(link('javascript:alert(1)', 'x').value, 'x');
    assert.equal(link('data:text/html,<b>', 'x').value, 'x');
    assert.equal(link('not a url', 'x').value, 'x');
    assert.equal(link('https://example.my.salesforce.com/500"onmouseover="x', 'case').value, '<a href="https://example.my.salesforce.com/500&quot;onmouseover=&quot;x" rel="noopener noreferrer">case</a>');
  });
});

describe('auth', () => {
  it('takes exactly the configured user and password', () => {
    assert.equal(authorised(req({ authorization: basic('admin', 'correct horse battery') }), creds), true);
    assert.equal(authorised(req({ authorization: basic('admin', 'correct horse batter') }), creds), false);
    assert.equal(authorised(req({ authorization: basic('root', 'correct horse battery') }), creds), false);
    assert.equal(authorised(req({ authorization: 'Bearer correct horse battery' }), creds), false);
    assert.equal(authorised(req({}), creds), false);
    // a password with a colon: only the first one separates
    assert.equal(authorised(req({ authorization: basic('admin', 'a:b:c and more') }), { user: 'admin', password: 'a:b:c and more' }), true);
  });

  it('takes a change only from the host it was sent to (Origin, else Referer)', () => {
    assert.equal(sameOrigin(req({ host: '127.0.0.1:8080', origin: 'http://127.0.0.1:8080' })), true);
    assert.equal(sameOrigin(req({ host: '127.0.0.1:8080', origin: 'http://evil.example' })), false);
    assert.equal(sameOrigin(req({ host: '127.0.0.1:8080', origin: 'null' })), false);
    assert.equal(sameOrigin(req({ host: '127.0.0.1:8080', origin: 'null', referer: 'http://127.0.0.1:8080/admin' })), false, 'an Origin decides alone');
    assert.equal(sameOrigin(req({ host: '127.0.0.1:8080', origin: 'http://evil.example', referer: 'http://127.0.0.1:8080/admin' })), false);
    assert.equal(sameOrigin(req({ host: '127.0.0.1:8080' })), false);
    assert.equal(sameOrigin(req({ host: '127.0.0.1:8080', referer: 'http://127.0.0.1:8080/admin/replay?code=X' })), true);
    assert.equal(sameOrigin(req({ host: '127.0.0.1:8080', referer: 'http://127.0.0.1:8081/admin' })), false);
    // behind a TLS proxy that keeps the public host in X-Forwarded-Host
    assert.equal(sameOrigin(req({ host: '10.0.0.5:8080', 'x-forwarded-host': 'ccai.example.com', origin: 'https://ccai.example.com' })), true);
  });

  it('a form token depends on the credentials and is checked exactly', () => {
    const t = formToken(creds);
    assert.equal(validFormToken(t, creds), true);
    assert.equal(validFormToken(`${t}x`, creds), false);
    assert.equal(validFormToken('', creds), false);
    assert.equal(validFormToken(null, creds), false);
    assert.notEqual(formToken({ ...creds, password: 'another password' }), t);
  });
});

describe('pages', () => {
  it('a hostile session record stays text on the session page, the HTML note only in a sandboxed frame', () => {
    const hostile = '<img src=x onerror=alert(1)>';
    const event = { state: 'failed', version: hostile, ticket: hostile, reason: `REQUIRED_FIELD_MISSING ${hostile}`, code: 'TARGET_REJECTED', source: hostile, jobId: 'call-1-1', warnings: [{ field: hostile, message: hostile }], at: '2026-12-07T08:00:00.000Z' };
    const page = sessionPage(
      { key: 'call-1', latest: event, history: [event], job: null, note: { subject: hostile, text: `<script>alert(1)</script>`, htmlHref: '/admin/sessions/call-1/note.html?job=call-1-1', ticketUrl: 'javascript:alert(1)', ticketSystem: 'salesforce' }, replayable: true },
      { readOnly: false, token: 'tok' },
    ).body.value;
    assert.equal(page.includes('<img'), false);
    assert.equal(page.includes('<script>'), false);
    assert.match(page, /&lt;script&gt;alert\(1\)&lt;\/script&gt;/);
    assert.equal(page.includes('javascript:'), false, 'a javascript: ticket URL is not linked');
    assert.match(page, /<iframe class="note" title="the HTML note" sandbox src="\/admin\/sessions\/call-1\/note.html\?job=call-1-1">/);
    assert.match(page, /<button type="submit">Replay this session<\/button>/);
    const readOnly = sessionPage({ key: 'call-1', latest: event, history: [event], job: null, note: null, replayable: true }, { readOnly: true, token: 'tok' }).body.value;
    assert.equal(readOnly.includes('<form'), false, 'read-only: no button that changes something');
  });

  it('the search form keeps what was asked, escaped', () => {
    const page = sessionsPage({ q: '"><script>', state: 'failed', code: '', from: '', to: '' }, { items: [], next: null, truncated: false, scanned: 0, note: null }, []).body.value;
    assert.match(page, /value="&quot;&gt;&lt;script&gt;"/);
    assert.match(page, /<option value="failed" selected>failed<\/option>/);
  });
});

describe('chart', () => {
  it('one bar per minute, stacked to the counts, with a title per minute', () => {
    const minutes = Array.from({ length: 60 }, (_, i) => ({ minute: new Date(Date.UTC(2026, 11, 7, 8, i)).toISOString(), counts: i === 10 ? { delivered: 7, failed: 3 } : {} }));
    const svg = minuteChart(minutes).value;
    assert.equal((svg.match(/<title>/g) ?? []).length, 60);
    assert.match(svg, /<title>08:10 UTC: 7 delivered, 3 failed<\/title>/);
    assert.match(svg, /aria-label="sessions per minute, last 60 minutes \(UTC\): 10 in all"/);
    // the scale's top is the round number at or above the busiest minute
    assert.match(svg, />10<\/text>/);
  });
});

describe('groupFailed', () => {
  it('groups by code, the largest first, each with its latest reason', () => {
    const f = (code: string | null, reason: string, failedAt: string) => ({ jobId: reason, sessionKey: 'call-1', ticketId: 't', code, reason, failedAt });
    const groups = groupFailed(
      [f('TARGET_REJECTED', 'old', '2026-12-07T08:00:00Z'), f('TARGET_REJECTED', 'new', '2026-12-07T09:00:00Z'), f('TARGET_CONFIG', 'cfg', '2026-12-07T08:30:00Z'), f(null, 'bounce', '2026-12-07T07:00:00Z')],
      (c) => `summary of ${c}`,
    );
    assert.deepEqual(
      groups.map((g) => [g.code, g.count, g.example]),
      [
        ['TARGET_REJECTED', 2, 'new'],
        ['NONE', 1, 'bounce'],
        ['TARGET_CONFIG', 1, 'cfg'],
      ],
    );
    assert.equal(groups[0]!.summary, 'summary of TARGET_REJECTED');
  });
});
