import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { intake, recogniseMedia } from '../../src/domain/intake.ts';
import { FIXTURES } from '../helpers/env.ts';

const opts = { maxBytes: 5 * 1024 * 1024, allowedHosts: [] as string[] };
const load = (p: string) => readFileSync(join(FIXTURES, p));

describe('intake', () => {
  it('accepts a call with its Salesforce case', () => {
    const r = intake(load('sessions/metadata_call-1418.json'), opts);
    assert.equal(r.status, 'accepted');
    assert.equal(r.status === 'accepted' && r.ticket.id, '500ak000024vx4uAAA');
    assert.equal(r.status === 'accepted' && r.session.key, 'call-1418');
  });

  it('skips a chat that names no CRM record', () => {
    const r = intake(load('sessions/metadata_chat-135.json'), opts);
    assert.equal(r.status, 'skipped');
  });

  it('rejects a case URL on a host the admin did not allow', () => {
    const r = intake(load('sessions/metadata_call-1418.json'), { ...opts, allowedHosts: ['acme.my.salesforce.com'] });
    assert.equal(r.status, 'rejected');
    assert.equal(r.status === 'rejected' && r.problem.code, 'TICKET_HOST_NOT_ALLOWED');
    assert.equal(r.status === 'rejected' && r.session?.key, 'call-1418');
  });

  it('recognises recordings, images and PDFs by content, whatever their name', () => {
    assert.equal(recogniseMedia(Buffer.from('ID3\x04\x00\x00')), 'an MP3 recording');
    assert.equal(recogniseMedia(Buffer.from('RIFF\0\0\0\0WAVEfmt ')), 'a WAV recording');
    assert.equal(recogniseMedia(Buffer.from([0xff, 0xd8, 0xff, 0xe0])), 'a JPEG image');
    assert.equal(recogniseMedia(Buffer.from('%PDF-1.7')), 'a PDF document');
    assert.equal(recogniseMedia(Buffer.from('{"id": 1}')), null);
    const r = intake(Buffer.from('ID3\x04\x00\x00\x00'), { ...opts, discovered: true });
    assert.equal(r.status, 'ignored');
    const explicit = intake(Buffer.from('ID3\x04\x00\x00\x00'), opts);
    assert.equal(explicit.status, 'rejected', 'a recording handed over explicitly is not a metadata document');
  });

  it('ignores plain text found in a folder, but rejects it when handed over explicitly', () => {
    const transcript = Buffer.from('Agent: Hello\nCustomer: Hi\n');
    assert.equal(intake(transcript, { ...opts, discovered: true }).status, 'ignored');
    const explicit = intake(transcript, opts);
    assert.equal(explicit.status, 'rejected');
    assert.equal(explicit.status === 'rejected' && explicit.problem.code, 'INPUT_NOT_JSON');
  });

  it('still rejects broken JSON found in a folder', () => {
    const r = intake(Buffer.from('{"id": 1418, "call_type": '), { ...opts, discovered: true });
    assert.equal(r.status, 'rejected');
    assert.equal(r.status === 'rejected' && r.problem.code, 'INPUT_TRUNCATED');
  });
});
