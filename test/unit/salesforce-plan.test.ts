import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { enrich } from '../../src/domain/enrich/enrich.ts';
import { DEFAULT_MAPPING, loadMapping, parseMapping } from '../../src/targets/salesforce/mapping.ts';
import { callObjectFor, commentMarker, planWrite } from '../../src/targets/salesforce/plan.ts';
import { quoteAll } from '../../src/targets/salesforce/salesforce-target.ts';
import { buildSession, buildTicket } from '../helpers/session-builder.ts';

const note = { subject: 'Call 1418 · Voice Inbound (IVR)', text: 'the note', html: '<p>the note</p>' };

describe('Salesforce write plan', () => {
  const e = enrich(buildSession(), buildTicket());

  it('by default: a Task with the call fields on the Case, no Case fields, no comment', () => {
    const w = planWrite(e, note, DEFAULT_MAPPING);
    assert.equal(w.callObject, `call-1418@${e.version}`);
    assert.equal(w.task?.WhatId, e.ticket.id);
    assert.equal(w.task?.CallObject, w.callObject);
    assert.equal(w.task?.CallType, 'Inbound');
    assert.equal(w.task?.CallDurationInSeconds, e.fields.talk_seconds, 'the call duration, not handle time');
    assert.equal(w.task?.CallDisposition, e.fields.last_disposition);
    assert.equal(w.task?.Subject, note.subject);
    assert.equal(w.task?.Description, 'the note');
    assert.equal(w.task?.Status, 'Completed');
    assert.match(String(w.task?.ActivityDate), /^\d{4}-\d{2}-\d{2}$/);
    assert.equal(w.caseFields, null);
    assert.deepEqual(w.posts, []);
  });

  it('CallDurationInSeconds is call_duration as the file says, not handle time (call_duration plus after-call work)', () => {
    const s = buildSession({ durations: { talk: 459, afterCallWork: 40, handle: 499 } });
    const w = planWrite(enrich(s, buildTicket()), note, DEFAULT_MAPPING);
    assert.equal(w.task?.CallDurationInSeconds, 459);
    const mapped = planWrite(enrich(s, buildTicket()), note, parseMapping({ task: { fields: { Handle_Seconds__c: 'handle_seconds' } } }));
    assert.equal(mapped.task?.Handle_Seconds__c, 499, 'handle time can be mapped to a field of its own');
  });

  it('maps Case fields only when asked, always with the version field', () => {
    const m = parseMapping({ case: { fields: { CCAI_CSAT__c: 'csat_rating', CCAI_Notes__c: 'disposition_notes' } } });
    const w = planWrite(e, note, m);
    assert.deepEqual(Object.keys(w.caseFields ?? {}).sort(), ['CCAI_CSAT__c', 'CCAI_Notes__c', 'CCAI_Session_Version__c']);
    assert.equal(w.caseFields?.CCAI_CSAT__c, e.fields.csat_rating);
    assert.equal(w.caseFields?.CCAI_Session_Version__c, e.version);
  });

  it('starts a CaseComment with its marker and keeps it within 4,000 bytes', () => {
    const m = parseMapping({ caseComment: { enabled: true } });
    const long = { ...note, text: 'é'.repeat(5000) };
    const w = planWrite(e, long, m);
    const body = String(w.posts[0]?.record.CommentBody);
    assert.ok(body.startsWith(commentMarker(callObjectFor(e))));
    assert.ok(Buffer.byteLength(body, 'utf8') <= 4000);
  });

  it('posts a FeedItem (TextPost) within 10,000 characters when enabled, beside a comment', () => {
    const m = parseMapping({ caseComment: { enabled: true }, feedItem: { enabled: true } });
    const w = planWrite(e, { ...note, text: 'x'.repeat(20_000) }, m);
    assert.deepEqual(w.posts.map((p) => p.type), ['CaseComment', 'FeedItem']);
    const feed = w.posts[1]!.record;
    assert.equal(feed.Type, 'TextPost');
    assert.equal(feed.ParentId, e.ticket.id);
    assert.ok(String(feed.Body).length <= 10_000);
    assert.ok(String(feed.Body).startsWith(commentMarker(callObjectFor(e))));
  });

  it('the example mapping shipped in templates/ is valid', () => {
    const m = loadMapping(new URL('../../templates/salesforce-mapping.example.json', import.meta.url).pathname);
    assert.equal(m.case.fields.CCAI_CSAT__c, 'csat_rating');
    assert.equal(m.case.versionField, 'CCAI_Session_Version__c');
  });

  it('rejects a mapping with unknown enrichment fields or keys, listing each', () => {
    assert.throws(() => parseMapping({ case: { fields: { X__c: 'no_such_field' } }, tsk: {} }), (err: Error) => /case\.fields\.X__c/.test(err.message) && /tsk/.test(err.message));
  });

  it('cuts a long Task description and says how much was left out', () => {
    const w = planWrite(e, { ...note, text: 'x'.repeat(40_000) }, DEFAULT_MAPPING);
    const c = String(w.task?.Description);
    assert.ok(c.length <= 32_000 && c.length > 31_950, String(c.length));
    const kept = c.indexOf('…');
    assert.ok(c.endsWith(`… (${(40_000 - kept).toLocaleString('en-US')} characters more)`), c.slice(-40));
    assert.deepEqual(w.cuts, [`Task.Description: cut to 32,000 characters, ${(40_000 - kept).toLocaleString('en-US')} characters left out`]);
  });

  it('names every cut it makes, and cuts mapped text fields to their described length instead of having them refused', () => {
    const m = parseMapping({ case: { fields: { CCAI_Notes__c: 'disposition_notes' } }, task: { fields: { Short__c: 'csat_comment' } }, caseComment: { enabled: true } });
    const long = enrich(buildSession({ csat: { comment: 'c'.repeat(300) }, dispositions: [{ ...buildSession().dispositions[0]!, note: 'n'.repeat(600) }] }), buildTicket());
    const lengths = new Map([['case.ccai_notes__c', 255], ['task.short__c', 100]]);
    const w = planWrite(long, { ...note, text: 'x'.repeat(40_000) }, m, lengths);
    assert.ok(String(w.caseFields?.CCAI_Notes__c).length <= 255);
    assert.match(String(w.caseFields?.CCAI_Notes__c), /characters more\)$/);
    assert.ok(String(w.task?.Short__c).length <= 100);
    assert.equal(w.caseFields?.[m.case.versionField], long.version, 'the version is never cut');
    assert.deepEqual(w.cuts.map((c) => c.split(':')[0]).sort(), ['Case.CCAI_Notes__c', 'CaseComment.CommentBody', 'Task.Description', 'Task.Short__c']);
    assert.deepEqual(planWrite(e, note, m, lengths).cuts, [], 'nothing cut, nothing said');
  });

  it('escapes SOQL string literals', () => {
    assert.equal(quoteAll(["a'b", 'c\\d']), "'a\\'b', 'c\\\\d'");
  });
});
