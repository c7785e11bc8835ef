// The SFTP storage (src/sources/sftp/) against a real OpenSSH server (rootless sshd with
// internal-sftp, test/helpers/sshd.ts): the host key check, listing, reading, claiming and
// putting files away, and what it does when the connection drops (killed sessions, a proxy that
// cuts a download at a chosen byte, a server that is down) or the login is refused.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { appendFileSync, chmodSync, existsSync, readFileSync, readdirSync, symlinkSync, unlinkSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { SyncError } from '../../src/errors.ts';
import { createLogger } from '../../src/logger.ts';
import type { RemoteEntry, RemoteStorage } from '../../src/sources/remote/storage.ts';
import { keyscanHint } from '../../src/sources/sftp/host-key.ts';
import { claimName } from '../../src/sources/sftp/sftp-names.ts';
import { HEAD_BYTES, PAGE_SIZE, openSftpStorage } from '../../src/sources/sftp/sftp-storage.ts';
import type { SftpSettings } from '../../src/sources/sftp/sftp-storage.ts';
import { parseSftpUrl } from '../../src/sources/sftp/sftp-url.ts';
import { startCuttingProxy } from '../helpers/cutting-proxy.ts';
import type { CuttingProxy } from '../helpers/cutting-proxy.ts';
import { FIXTURES, waitFor } from '../helpers/env.ts';
import { startSshd } from '../helpers/sshd.ts';
import type { Sshd } from '../helpers/sshd.ts';

const DOC = readFileSync(join(FIXTURES, 'sessions', 'metadata_call-1418.json'));
const OTHER_FINGERPRINT = 'SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8';

let sshd: Sshd;
let folders = 0;
const opened: RemoteStorage[] = [];
const proxies: CuttingProxy[] = [];

before(async () => {
  sshd = await startSshd();
});
after(async () => {
  await sshd?.stop();
});
afterEach(async () => {
  for (const s of opened.splice(0)) await s.close();
  for (const p of proxies.splice(0)) await p.close();
});

/** A fresh folder on the server for one test: its path there. */
function folder(name: string): string {
  return sshd.folder(`${++folders}-${name}`);
}

interface Opened {
  storage: RemoteStorage;
  /** the messages logged, in order */
  logged: () => string[];
}

/** The storage on `dir`, with the test server's key and account unless told otherwise. */
async function open(dir: string, overrides: Partial<SftpSettings> & { port?: number; server?: Sshd } = {}): Promise<Opened> {
  const { port, server = sshd, ...rest } = overrides;
  const url = parseSftpUrl(server.url(dir.slice(server.root.length)));
  assert.ok(typeof url === 'object', String(url));
  const lines: string[] = [];
  const log = createLogger('debug', { write: (s: string) => void lines.push(s) });
  const settings: SftpSettings = {
    url: port ? { ...url, port } : url,
    privateKey: server.clientKey,
    password: null,
    hostKey: server.fingerprint,
    after: 'leave',
    connectTimeoutMs: 10_000,
    ...rest,
  };
  const storage = await openSftpStorage(settings, log);
  opened.push(storage);
  return { storage, logged: () => lines.map((l) => (JSON.parse(l) as { msg: string }).msg) };
}

async function listAll(storage: RemoteStorage): Promise<RemoteEntry[]> {
  const out: RemoteEntry[] = [];
  for await (const page of storage.list()) out.push(...page);
  return out;
}

const names = (entries: RemoteEntry[]) => entries.map((e) => e.name).sort();

async function rejectsWith(p: Promise<unknown>, code: string, message?: RegExp): Promise<SyncError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof SyncError, `a SyncError, not ${String(err)}`);
    assert.equal(err.code, code, err.message);
    if (message) assert.match(err.message, message);
    return err;
  }
  assert.fail(`expected ${code}`);
}

describe('SFTP storage (real OpenSSH)', () => {
  it('host key: the fingerprint ssh-keyscan | ssh-keygen -lf prints is accepted (alone or in a list); another is refused, naming both and how to read the right one', async () => {
    const dir = folder('host-key');
    // what the README and the refusal tell an admin to run
    const printed = execFileSync('sh', ['-c', keyscanHint(sshd.host, sshd.port)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    assert.ok(printed.includes(`${sshd.fingerprint} `), printed);
    await open(dir);
    await open(dir, { hostKey: `${OTHER_FINGERPRINT}, ${sshd.fingerprint}` });

    const ports = () => [...sshd.log().matchAll(/Connection from 127\.0\.0\.1 port (\d+)/g)].map((m) => m[1]!);
    const known = new Set(ports());
    const err = await rejectsWith(open(dir, { hostKey: OTHER_FINGERPRINT }), 'CONFIG_INVALID', /^SFTP: host key refused/);
    // sshd saw that connection end in the key exchange, before any login (`Disconnected from
    // authenticating user …` once one was tried); it logs just after, so wait for it
    const port = await waitFor('sshd to log the refused connection', async () => ports().find((p) => !known.has(p)), 5_000, 20);
    await waitFor('sshd to log its end', async () => sshd.log().includes(`Disconnected from 127.0.0.1 port ${port} [preauth]`), 5_000, 20);
    assert.doesNotMatch(sshd.log(), new RegExp(`for ${sshd.user} from 127\\.0\\.0\\.1 port ${port} `), 'no login tried');
    assert.ok(err.message.includes(`presented its ED25519 key, fingerprint ${sshd.fingerprint}`), err.message);
    assert.ok(err.message.includes(`SFTP_HOST_KEY says ${OTHER_FINGERPRINT}`), err.message);
    assert.ok(err.message.includes(`ssh-keyscan -p ${sshd.port} 127.0.0.1 | ssh-keygen -lf -`), err.message);
    await rejectsWith(open(dir, { hostKey: 'ab:cd' }), 'CONFIG_INVALID', /^SFTP_HOST_KEY: "ab:cd" is not a SHA256 host key fingerprint/);
  });

  it('list: regular files directly in the folder, with size and time as the version; dot-files, sub-folders, links, claims and uploads in progress are left out', async () => {
    const dir = folder('list');
    const when = new Date('2026-03-23T20:16:58Z');
    sshd.write(join(dir, 'metadata-1418.json'), DOC, when);
    sshd.write(join(dir, 'call-1418.mp3'), Buffer.alloc(2048, 1));
    sshd.write(join(dir, 'chat-77.txt'), 'hello');
    sshd.write(join(dir, '.DS_Store'), 'x');
    sshd.write(join(dir, '.metadata-2.json.part'), '{');
    sshd.write(join(dir, 'metadata-3.json.filepart'), '{');
    sshd.write(join(dir, claimName('metadata-4.json', Date.now(), 'other001')), '{}');
    sshd.write(join(dir, 'sub', 'metadata-5.json'), '{}');
    sshd.write(join(dir, 'processed', 'metadata-6.json'), '{}');
    symlinkSync('metadata-1418.json', join(dir, 'link.json'));
    const { storage } = await open(dir);

    const entries = await listAll(storage);
    assert.deepEqual(names(entries), ['call-1418.mp3', 'chat-77.txt', 'metadata-1418.json']);
    const doc = entries.find((e) => e.name === 'metadata-1418.json')!;
    assert.deepEqual(doc, { name: 'metadata-1418.json', version: `${DOC.length}:${when.getTime()}`, size: DOC.length, updated: when.toISOString(), contentType: null });
    assert.equal(storage.label, `sftp://${sshd.user}@127.0.0.1:${sshd.port}${dir}/`);
    assert.deepEqual(await storage.stat!('metadata-1418.json'), doc);
    assert.equal(await storage.stat!('link.json'), null, 'a link is not a regular file');
    assert.equal(await storage.stat!('sub'), null);
    assert.equal(await storage.stat!('nope.json'), null);
  });

  it(`list: a large folder comes in pages of ${PAGE_SIZE}, every file once`, async () => {
    const dir = folder('many');
    for (let i = 0; i < 2 * PAGE_SIZE + 345; i++) sshd.write(join(dir, `metadata-${i}.json`), '{}');
    const { storage } = await open(dir);
    const sizes: number[] = [];
    const seen = new Set<string>();
    for await (const page of storage.list()) {
      sizes.push(page.length);
      for (const e of page) seen.add(e.name);
    }
    assert.deepEqual(sizes, [PAGE_SIZE, PAGE_SIZE, 345]);
    assert.equal(seen.size, 2 * PAGE_SIZE + 345);
    // stopping early closes the listing: the next one is whole
    for await (const page of storage.list()) {
      assert.equal(page.length, PAGE_SIZE);
      break;
    }
    assert.equal((await listAll(storage)).length, 2 * PAGE_SIZE + 345);
  });

  it('read: the bytes; over the limit only the first 4 KiB; gone once deleted or written again (size or time)', async () => {
    const dir = folder('read');
    sshd.write(join(dir, 'metadata-1418.json'), DOC);
    const big = Buffer.alloc(10_000);
    for (let i = 0; i < big.length; i++) big[i] = i % 251;
    sshd.write(join(dir, 'call-1418.wav'), big);
    sshd.write(join(dir, 'small.json'), '{"a":1}');
    const { storage } = await open(dir);
    const byName = new Map((await listAll(storage)).map((e) => [e.name, e]));

    const doc = await storage.read(byName.get('metadata-1418.json')!, 1024 * 1024);
    assert.ok('bytes' in doc);
    assert.deepEqual(Buffer.from(doc.bytes), DOC);
    const large = await storage.read(byName.get('call-1418.wav')!, 5_000);
    assert.ok('tooLarge' in large);
    assert.equal(large.head.length, HEAD_BYTES);
    assert.deepEqual(Buffer.from(large.head), big.subarray(0, HEAD_BYTES));
    const over = await storage.read(byName.get('small.json')!, 3);
    assert.ok('tooLarge' in over);
    assert.equal(Buffer.from(over.head).toString(), '{"a":1}', 'a head never longer than the file');

    // written again, larger
    sshd.write(join(dir, 'metadata-1418.json'), Buffer.concat([DOC, Buffer.from('\n')]));
    assert.deepEqual(await storage.read(byName.get('metadata-1418.json')!, 1024 * 1024), { gone: true });
    // the same size, another second
    const small = byName.get('small.json')!;
    utimesSync(join(dir, 'small.json'), new Date(Date.now() + 5_000), new Date(Date.now() + 5_000));
    assert.deepEqual(await storage.read(small, 1024), { gone: true });
    assert.notEqual((await storage.stat!('small.json'))!.version, small.version);
    // deleted
    unlinkSync(join(dir, 'call-1418.wav'));
    assert.deepEqual(await storage.read(byName.get('call-1418.wav')!, 1024 * 1024), { gone: true });
    assert.equal(await storage.stat!('call-1418.wav'), null);
  });

  it('claim (SFTP_AFTER=move): two workers claiming the same files at once take each exactly once; finish moves it to processed/ or rejected/ (created when missing)', async () => {
    const dir = folder('claim');
    const count = 20;
    for (let i = 0; i < count; i++) sshd.write(join(dir, `metadata-${i}.json`), `{"id":${i}}`);
    const a = (await open(dir, { after: 'move' })).storage;
    const b = (await open(dir, { after: 'move' })).storage;
    const entries = await listAll(a);
    assert.equal(entries.length, count);

    const pairs = await Promise.all(entries.map((e) => Promise.all([a.claim!(e), b.claim!(e)])));
    for (const [i, [byA, byB]] of pairs.entries()) assert.ok((byA === null) !== (byB === null), `${entries[i]!.name}: exactly one claim (${byA?.name}, ${byB?.name})`);
    // claimed files are nobody else's to list
    assert.deepEqual(await listAll(a), []);
    assert.deepEqual(await listAll(b), []);

    for (const [i, [byA, byB]] of pairs.entries()) {
      const storage = byA ? a : b;
      const claimed = (byA ?? byB)!;
      assert.match(claimed.name, new RegExp(`^${entries[i]!.name.replace('.', '\\.')}\\.ccai-claimed-`));
      assert.equal(claimed.version, entries[i]!.version, 'a rename keeps size and time');
      const read = await storage.read(claimed, 1024);
      assert.ok('bytes' in read);
      assert.equal(Buffer.from(read.bytes).toString(), readFileSync(join(dir, claimed.name), 'utf8'));
      // odd numbers are rejected, even ones processed
      await storage.finish(claimed, Number(/\d+/.exec(claimed.name)![0]) % 2 === 1 ? 'rejected' : 'processed');
    }
    assert.deepEqual(readdirSync(dir).sort(), ['processed', 'rejected']);
    assert.equal(readdirSync(join(dir, 'processed')).length, count / 2);
    assert.deepEqual(readdirSync(join(dir, 'rejected')).sort(), ['metadata-1.json', 'metadata-11.json', 'metadata-13.json', 'metadata-15.json', 'metadata-17.json', 'metadata-19.json', 'metadata-3.json', 'metadata-5.json', 'metadata-7.json', 'metadata-9.json']);
    assert.equal(readFileSync(join(dir, 'rejected', 'metadata-3.json'), 'utf8'), '{"id":3}');
  });

  it('finish (move): a name taken in processed/ gets a number, nothing is overwritten; an unclaimed entry moves too', async () => {
    const dir = folder('clash');
    sshd.write(join(dir, 'processed', 'metadata-1.json'), 'first');
    sshd.write(join(dir, 'processed', 'metadata-1.json.1'), 'second');
    sshd.write(join(dir, 'metadata-1.json'), 'third');
    sshd.write(join(dir, 'metadata-2.json'), 'unclaimed');
    const { storage } = await open(dir, { after: 'move' });
    const [one, two] = (await listAll(storage)).sort((x, y) => x.name.localeCompare(y.name));
    await storage.finish((await storage.claim!(one!))!, 'processed');
    await storage.finish(two!, 'processed');
    const kept = (n: string) => readFileSync(join(dir, 'processed', n), 'utf8');
    assert.deepEqual([kept('metadata-1.json'), kept('metadata-1.json.1'), kept('metadata-1.json.2'), kept('metadata-2.json')], ['first', 'second', 'third', 'unclaimed']);
    assert.deepEqual(readdirSync(dir), ['processed']);
    // a second finish (a retry after a lost answer) finds nothing left to do
    await storage.finish(two!, 'processed');
  });

  it('a file written again after it was listed is never put away unread: delete and move leave it, a changed claim is given back', async () => {
    const dir = folder('changed');
    sshd.write(join(dir, 'metadata-1.json'), '{"v":1}');
    sshd.write(join(dir, 'metadata-2.json'), '{"v":1}');
    const del = (await open(dir, { after: 'delete' })).storage;
    const [one, two] = (await listAll(del)).sort((x, y) => x.name.localeCompare(y.name));
    assert.equal(await del.claim!(one!), one, 'with delete, claim hands the entry back as it is');

    sshd.write(join(dir, 'metadata-1.json'), '{"v":22}');
    await del.finish(one!, 'processed');
    assert.equal(readFileSync(join(dir, 'metadata-1.json'), 'utf8'), '{"v":22}', 'the newer version stays, to be read');
    await del.finish(two!, 'processed');
    assert.equal(existsSync(join(dir, 'metadata-2.json')), false, 'deleted');
    await del.finish(two!, 'processed'); // already gone: nothing to do

    // claimed, then the upload it was part of went on (the writer had the file open)
    const mv = (await open(dir, { after: 'move' })).storage;
    const [fresh] = await listAll(mv);
    const claimed = (await mv.claim!(fresh!))!;
    appendFileSync(join(dir, claimed.name), ' more');
    assert.deepEqual(await mv.read(claimed, 1024), { gone: true });
    assert.deepEqual(readdirSync(dir), ['metadata-1.json'], 'back under its own name');
    const [again] = await listAll(mv);
    assert.notEqual(again!.version, fresh!.version, 'listed again as a new version');
  });

  it('a stale claim (its worker died) is given back by a listing; a fresh one is left; one whose name is taken again stays, with one warning', async () => {
    const dir = folder('stale');
    const old = Date.now() - 60_000;
    sshd.write(join(dir, claimName('metadata-7.json', old, 'dead0001')), '{"v":7}');
    sshd.write(join(dir, claimName('metadata-8.json', old, 'dead0001')), '{"v":8}');
    sshd.write(join(dir, 'metadata-8.json'), '{"v":88}');
    const fresh = claimName('metadata-9.json', Date.now(), 'live0001');
    sshd.write(join(dir, fresh), '{"v":9}');
    const { storage, logged } = await open(dir, { after: 'move', claimStaleMs: 30_000 });
    await listAll(storage);
    assert.deepEqual(readdirSync(dir).sort(), [claimName('metadata-8.json', old, 'dead0001'), 'metadata-7.json', 'metadata-8.json', fresh].sort());
    assert.deepEqual(names(await listAll(storage)), ['metadata-7.json', 'metadata-8.json']);
    assert.equal(readFileSync(join(dir, 'metadata-7.json'), 'utf8'), '{"v":7}');
    assert.equal(logged().filter((m) => m.includes('cannot be given back')).length, 1, 'warned once over two listings');
    assert.equal(logged().filter((m) => m.includes('is given back')).length, 1);
  });

  it('a connection dropped in the middle of a download: the read is sent again on a new connection', async () => {
    const dir = folder('drop-mid');
    const big = Buffer.alloc(3 * 1024 * 1024);
    for (let i = 0; i < big.length; i += 4096) big.writeUInt32BE(i, i);
    sshd.write(join(dir, 'metadata-big.json'), big);
    const proxy = await startCuttingProxy(sshd.host, sshd.port);
    proxies.push(proxy);
    const { storage, logged } = await open(dir, { port: proxy.port });
    const entry = (await storage.stat!('metadata-big.json'))!;

    const cut = proxy.cutAfter(1024 * 1024);
    const read = await storage.read(entry, 8 * 1024 * 1024);
    await cut;
    assert.ok('bytes' in read);
    assert.ok(Buffer.from(read.bytes).equals(big), 'the whole file, read again');
    assert.equal(proxy.connections, 2, 'on a second connection');
    assert.ok(logged().some((m) => m === 'SFTP connection lost while reading metadata-big.json: trying again on a new connection'), logged().join('\n'));
  });

  it('dropped and not back: the read is reported (SOURCE_UNAVAILABLE), calls wait for the backoff, then it connects again', async () => {
    const dir = folder('drop-down');
    sshd.write(join(dir, 'metadata-big.json'), Buffer.alloc(2 * 1024 * 1024, 7));
    const proxy = await startCuttingProxy(sshd.host, sshd.port);
    proxies.push(proxy);
    const { storage } = await open(dir, { port: proxy.port });
    const entry = (await storage.stat!('metadata-big.json'))!;

    const cut = proxy.cutAfter(256 * 1024);
    proxy.refuse(true);
    await rejectsWith(storage.read(entry, 4 * 1024 * 1024), 'SOURCE_UNAVAILABLE', /^SFTP: /);
    await cut;
    proxy.refuse(false);
    // the next attempt is a second away: until then a call fails at once, with the last error
    await rejectsWith(storage.stat!('metadata-big.json'), 'SOURCE_UNAVAILABLE', /next attempt in 1 s/);
    await new Promise((r) => setTimeout(r, 1_100));
    assert.deepEqual(await storage.stat!('metadata-big.json'), entry);
    const read = await storage.read(entry, 4 * 1024 * 1024);
    assert.ok('bytes' in read && read.bytes.length === entry.size);
  });

  it('the server ends the session (its sshd processes killed) between calls: the next call opens a new connection', async () => {
    const dir = folder('killed');
    sshd.write(join(dir, 'metadata-1.json'), DOC);
    const { storage, logged } = await open(dir);
    assert.equal((await listAll(storage)).length, 1);
    await sshd.dropConnections();
    // the client hears the close
    for (let i = 0; i < 100 && !logged().includes('SFTP connection closed: the next request opens a new one'); i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal((await listAll(storage)).length, 1);
    const read = await storage.read((await storage.stat!('metadata-1.json'))!, 1024 * 1024);
    assert.ok('bytes' in read);
  });

  it('requests made at once (reads, stats, a listing) are all answered, over the one connection', async () => {
    const dir = folder('serial');
    for (let i = 0; i < 30; i++) sshd.write(join(dir, `metadata-${i}.json`), `{"id":${i}}`);
    const proxy = await startCuttingProxy(sshd.host, sshd.port);
    proxies.push(proxy);
    const { storage } = await open(dir, { port: proxy.port });
    const entries = await listAll(storage);
    const [reads] = await Promise.all([Promise.all(entries.map((e) => storage.read(e, 1024))), listAll(storage), ...entries.map((e) => storage.stat!(e.name))]);
    for (const [i, r] of reads.entries()) {
      assert.ok('bytes' in r);
      assert.equal(Buffer.from(r.bytes).toString(), readFileSync(join(dir, entries[i]!.name), 'utf8'));
    }
    assert.equal(proxy.connections, 1, 'one connection');
  });

  it('a login refused is CONFIG_INVALID, naming the settings: a key not authorized, a wrong password, not a key, nothing to log in with; an RSA key in PEM works', async () => {
    const dir = folder('auth');
    const stranger = sshd.newClientKey('ed25519', { authorize: false });
    await rejectsWith(open(dir, { privateKey: stranger }), 'CONFIG_INVALID', /All configured authentication methods failed \(the server refused the account of SFTP_URL with SFTP_PRIVATE_KEY_FILE \/ SFTP_PASSWORD/);
    // the server's account has no password we know (nobody's is locked): any is refused, so a
    // password login cannot be made to work here; the password was offered both ways, as a
    // password and at the keyboard-interactive prompt
    await rejectsWith(open(dir, { privateKey: null, password: 'not-the-password' }), 'CONFIG_INVALID', /authentication methods failed/);
    // (sshd logs a failure just after it answers it)
    await waitFor('sshd to log the refused password', async () => sshd.log().includes(`Failed keyboard-interactive/pam for ${sshd.user} `), 5_000, 20);
    assert.ok(sshd.log().includes(`Failed password for ${sshd.user} `), sshd.log());
    await rejectsWith(open(dir, { privateKey: 'not a key' }), 'CONFIG_INVALID', /privateKey/);
    await rejectsWith(open(dir, { privateKey: null, password: null }), 'CONFIG_INVALID', /SFTP_PRIVATE_KEY_FILE or SFTP_PASSWORD_FILE/);
    const pem = sshd.newClientKey('rsa', { pem: true });
    assert.match(pem, /^-----BEGIN RSA PRIVATE KEY-----/);
    await open(dir, { privateKey: pem });
  });

  it('the folder missing is CONFIG_INVALID at start; a folder the account may not change refuses the claim (CONFIG_INVALID)', async () => {
    const dir = folder('perm');
    await rejectsWith(open(join(dir, 'nope')), 'CONFIG_INVALID', /opening the folder .*\/nope: No such file \(check the folder of SFTP_URL\)/);
    sshd.write(join(dir, 'metadata-1.json'), DOC);
    chmodSync(dir, 0o555);
    try {
      const { storage } = await open(dir, { after: 'move' });
      const [entry] = await listAll(storage);
      await rejectsWith(storage.claim!(entry!), 'CONFIG_INVALID', /claiming metadata-1\.json: Permission denied \(the account may not do this/);
    } finally {
      chmodSync(dir, 0o755);
    }
  });

  it('a server that is down: SOURCE_UNAVAILABLE; back on the same port: read again', async () => {
    const own = await startSshd();
    try {
      own.write('metadata-1.json', DOC);
      const { storage } = await open(own.root, { server: own });
      const entry = (await storage.stat!('metadata-1.json'))!;
      await own.halt();
      await rejectsWith(storage.read(entry, 1024 * 1024), 'SOURCE_UNAVAILABLE', /ECONNREFUSED/);
      await own.resume();
      await new Promise((r) => setTimeout(r, 1_100)); // the backoff after one failed attempt
      const read = await storage.read(entry, 1024 * 1024);
      assert.ok('bytes' in read);
      await rejectsWith(open(own.root, { server: own, port: sshd.port }), 'CONFIG_INVALID', /host key refused/);
    } finally {
      for (const s of opened.splice(0)) await s.close();
      await own.stop();
    }
  });
});
