import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { intake, notMetadataByName, recogniseMedia } from '../../src/domain/intake.ts';
import { sessionFiles } from '../../src/pipeline/submit.ts';
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

  it('reads a UTF-16 document with a byte-order mark (LE or BE), found in a folder or handed over', () => {
    const text = load('sessions/metadata_call-1418.json').toString('utf8');
    const le = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]);
    const be = Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from(text, 'utf16le').swap16()]);
    for (const [name, bytes] of [['LE', le], ['BE', be]] as const) {
      // FF FE also starts an MPEG audio frame: a UTF-16 LE document used to be ignored as "an MP3 recording"
      assert.equal(recogniseMedia(bytes), null, `UTF-16 ${name} is not a recording`);
      for (const discovered of [true, false]) {
        const r = intake(bytes, { ...opts, discovered });
        assert.equal(r.status, 'accepted', `UTF-16 ${name}, discovered: ${discovered}: ${JSON.stringify(r)}`);
        assert.equal(r.status === 'accepted' && r.session.key, 'call-1418');
        assert.ok(r.status === 'accepted' && r.warnings.some((w) => w.field === '(the document)' && w.message.includes(`UTF-16 ${name}`)), 'a warning says how it was read');
      }
    }
    const transcript = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('Agent: Hello\nCustomer: Hi\n', 'utf16le')]);
    const found = intake(transcript, { ...opts, discovered: true });
    assert.equal(found.status, 'ignored', 'UTF-16 plain text found in a folder is a transcript, as in UTF-8');
  });

  it('one UTF-16 decoder label, from session-text, for the folder sniff and the decoding', async () => {
    // imported here so that the rest of this file runs whatever session-text exports
    const { utf16Label } = (await import('../../src/domain/session/decode.ts')) as { utf16Label?: (o: 'UTF-16 LE' | 'UTF-16 BE') => string };
    assert.equal(typeof utf16Label, 'function', 'session-text exports utf16Label');
    assert.equal(utf16Label!('UTF-16 LE'), 'utf-16le');
    assert.equal(utf16Label!('UTF-16 BE'), 'utf-16be');
    assert.equal(new TextDecoder(utf16Label!('UTF-16 BE')).decode(Buffer.from('{}', 'utf16le').swap16()), '{}');
  });

  it('names a gzip or zip file: ignored when found in a folder, rejected when handed over', () => {
    const gz = gzipSync(load('sessions/metadata_call-1418.json'));
    const zip = Buffer.concat([Buffer.from('PK\x03\x04\x14\x00\x00\x00\x08\x00', 'latin1'), Buffer.alloc(40)]);
    for (const [bytes, what] of [[gz, /a gzip-compressed file: decompress it first/], [zip, /a zip archive: unzip it first/]] as const) {
      const found = intake(bytes, { ...opts, discovered: true });
      assert.equal(found.status, 'ignored');
      assert.match(found.status === 'ignored' ? found.reason : '', what);
      const given = intake(bytes, opts);
      assert.equal(given.status, 'rejected');
      assert.equal(given.status === 'rejected' && given.problem.code, 'INPUT_BINARY');
      assert.match(given.status === 'rejected' ? given.problem.message : '', what);
    }
  });

  it('names the other compressed formats by their magic bytes', () => {
    const cases: Array<[number[], RegExp]> = [
      [[0x42, 0x5a, 0x68, 0x39, 0x31, 0x41, 0x59, 0x26, 0x53, 0x59], /bzip2-compressed/],
      [[0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00], /xz-compressed/],
      [[0x28, 0xb5, 0x2f, 0xfd], /zstd-compressed/],
      [[0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c], /7-Zip archive/],
    ];
    for (const [magic, what] of cases) {
      const r = intake(Buffer.concat([Buffer.from(magic), Buffer.alloc(32, 0x41)]), { ...opts, discovered: true });
      assert.equal(r.status, 'ignored');
      assert.match(r.status === 'ignored' ? r.reason : '', what);
    }
    // plain text that happens to start like bzip2's "BZh" is still text
    const text = intake(Buffer.from('BZh is how bzip2 files start\n'), { ...opts, discovered: true });
    assert.match(text.status === 'ignored' ? text.reason : '', /plain text, not JSON/);
  });
});

describe('remote objects: what the name or the content type says, before any download', () => {
  it('skips the files CCAI Platform writes beside the metadata', () => {
    for (const name of ['call-987.mp3', 'p/call-987.WAV', 'chat-135.txt', 'email-5.pdf', 'photo.jpeg', 'video-3.mp4', 'x.zip']) {
      assert.match(notMetadataByName(name) ?? '', /^not a metadata document: .* by its name; not downloaded$/, name);
    }
    assert.match(notMetadataByName('upload-7', 'audio/wav') ?? '', /a recording \(upload-7, audio\/wav\), by its content type/);
  });

  it('reads what may be metadata: metadata-{id}.json or .txt, anything unnamed as media', () => {
    for (const name of ['metadata-1418.json', 'metadata-1418.txt', 'folder/metadata_9.json', 'export.json', 'notes.txt', 'metadata-1.mp3']) {
      assert.equal(notMetadataByName(name, 'text/plain'), null, name);
    }
  });
});

describe('sessionFiles: the session\'s own recording and transcript among the names beside it', () => {
  it('keeps <kind>-<id>.txt, .mp3 and .wav of that session, in any case, each once', () => {
    const names = ['metadata.json', 'call-1418.MP3', 'call-1418.wav', 'call-14180.mp3', 'chat-1418.txt', 'call-1418-photo-1.jpg', 'call-1418.wav'];
    assert.deepEqual(sessionFiles('call-1418', names), ['call-1418.MP3', 'call-1418.wav']);
    assert.deepEqual(sessionFiles('chat-1418', names), ['chat-1418.txt']);
    assert.deepEqual(sessionFiles('call-1418', undefined), []);
  });
});
