// The SFTP source's pure parts: SFTP_URL, SFTP_HOST_KEY, and the names it reads and gives in
// the folder (what a listing hands on, claimed names, free names in processed/).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fingerprintOf, hostKeyRefused, keyTypeOf, keyscanHint, parseHostKeys } from '../../src/sources/sftp/host-key.ts';
import { childPath, claimName, clashName, originalName, parseClaim, skipReason, versionOf } from '../../src/sources/sftp/sftp-names.ts';
import { parseSftpUrl } from '../../src/sources/sftp/sftp-url.ts';

describe('SFTP_URL', () => {
  it('user, host, port (22 by default), an absolute folder, and a label without a trailing-slash ambiguity', () => {
    assert.deepEqual(parseSftpUrl('sftp://ccai@sftp.example.com/srv/ccai/out'), {
      host: 'sftp.example.com',
      port: 22,
      user: 'ccai',
      path: '/srv/ccai/out',
      label: 'sftp://ccai@sftp.example.com:22/srv/ccai/out/',
    });
    assert.deepEqual(parseSftpUrl('sftp://ccai@10.0.0.5:2222/upload/'), {
      host: '10.0.0.5',
      port: 2222,
      user: 'ccai',
      path: '/upload',
      label: 'sftp://ccai@10.0.0.5:2222/upload/',
    });
  });

  it('`/` is the root (a chrooted account’s chroot); `/~` the home, `/~/x` a folder in it', () => {
    const root = parseSftpUrl('sftp://ccai@h/');
    assert.ok(typeof root === 'object');
    assert.equal(root.path, '/');
    assert.equal(root.label, 'sftp://ccai@h:22/');
    const home = parseSftpUrl('sftp://ccai@h/~');
    assert.ok(typeof home === 'object');
    assert.equal(home.path, '.');
    assert.equal(home.label, 'sftp://ccai@h:22/~/');
    const inHome = parseSftpUrl('sftp://ccai@h/~/ccai/out/');
    assert.ok(typeof inHome === 'object');
    assert.equal(inHome.path, 'ccai/out');
    assert.equal(inHome.label, 'sftp://ccai@h:22/~/ccai/out/');
  });

  it('URI-decodes the user and each folder name; IPv6 hosts lose their brackets for connecting only', () => {
    const u = parseSftpUrl('sftp://ccai%40tenant@[::1]:2022/Call%20Data//metadata');
    assert.ok(typeof u === 'object');
    assert.equal(u.user, 'ccai@tenant');
    assert.equal(u.host, '::1');
    assert.equal(u.path, '/Call Data/metadata');
    assert.equal(u.label, 'sftp://ccai%40tenant@[::1]:2022/Call%20Data/metadata/');
  });

  it('refuses a password in the URL, without repeating it, and says where it goes', () => {
    const r = parseSftpUrl('sftp://ccai:hunter2@h/x');
    assert.equal(typeof r, 'string');
    assert.doesNotMatch(r as string, /hunter2/);
    assert.match(r as string, /SFTP_PASSWORD_FILE/);
    assert.match(r as string, /SFTP_PRIVATE_KEY_FILE/);
  });

  it('says what is missing or wrong', () => {
    const cases: Array<[string, RegExp]> = [
      ['not a url', /is not a URL/],
      ['ftp://ccai@h/x', /must start with sftp:\/\//],
      ['sftp://h/x', /needs the account/],
      ['sftp://ccai@h', /needs the folder/],
      ['sftp://ccai@h/x?y=1', /query/],
      ['sftp://ccai@h/x#frag', /fragment/],
      ['sftp://ccai@h:0/x', /port 0/],
      ['sftp://ccai;fingerprint=ssh-ed25519-abc@h/x', /SFTP_HOST_KEY/],
      ['sftp://ccai@h/a%2Fb', /encoded \//],
      ['sftp://ccai@h/%E0%A4%A', /URI-encoded/],
    ];
    for (const [url, why] of cases) assert.match(String(parseSftpUrl(url)), why, url);
  });
});

describe('SFTP_HOST_KEY', () => {
  const fp = 'SHA256:z+HpdLQCN0PvY68Vy33xHk61hZ/D9ENZIg5eHtFEvns';
  const other = 'SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8';

  it('one fingerprint or several (comma-separated); a padded one is accepted', () => {
    assert.deepEqual(parseHostKeys(fp), [fp]);
    assert.deepEqual(parseHostKeys(` ${fp} , ${other}= `), [fp, other]);
  });

  it('refuses what is not a SHA256 fingerprint, saying how to read one', () => {
    assert.match(String(parseHostKeys('', { host: 'sftp.example.com', port: 2222 })), /is required.*ssh-keyscan -p 2222 sftp\.example\.com \| ssh-keygen -lf -/);
    assert.match(String(parseHostKeys('16:27:ac:a5:76:28:2d:36:63:1b:56:4d:eb:df:a6:48')), /MD5 fingerprint .*SHA256/);
    assert.match(String(parseHostKeys('MD5:16:27:ac:a5:76:28:2d:36:63:1b:56:4d:eb:df:a6:48')), /MD5/);
    assert.match(String(parseHostKeys('SHA256:short')), /is not a SHA256 host key fingerprint/);
    assert.match(String(parseHostKeys(`${fp},ssh-ed25519 AAAAC3Nza`)), /"ssh-ed25519 AAAAC3Nza" is not/);
  });

  it('fingerprints a key blob as ssh-keygen does, and names its type', () => {
    // `ssh-keygen -lf` of this public key printed: 256 SHA256:IVjjEqykJYvrmmHZbyTC20t189+6es1wZINJ4DwI4jw vector (ED25519)
    const blob = Buffer.from('AAAAC3NzaC1lZDI1NTE5AAAAIGRSayxDCxwRlZNneLZSm+ZtR/nQdbz/OdukPWhxJWZh', 'base64');
    assert.equal(fingerprintOf(blob), 'SHA256:IVjjEqykJYvrmmHZbyTC20t189+6es1wZINJ4DwI4jw');
    assert.equal(keyTypeOf(blob), 'ED25519');
    const rsa = Buffer.from('ssh-rsa');
    assert.equal(keyTypeOf(Buffer.concat([Buffer.from([0, 0, 0, rsa.length]), rsa])), 'RSA');
    const ecdsa = Buffer.from('ecdsa-sha2-nistp256');
    assert.equal(keyTypeOf(Buffer.concat([Buffer.from([0, 0, 0, ecdsa.length]), ecdsa])), 'ECDSA');
    assert.equal(keyTypeOf(Buffer.from([0, 0])), 'unknown');
  });

  it('a refused key names both fingerprints, the key type and the command that reads the right one (IPv6 in brackets)', () => {
    const err = hostKeyRefused({ fingerprint: other, type: 'ED25519' }, [fp], 'sftp.example.com', 22);
    assert.equal(err.code, 'CONFIG_INVALID');
    assert.ok(err.message.includes(`sftp.example.com:22 presented its ED25519 key, fingerprint ${other}`), err.message);
    assert.ok(err.message.includes(`SFTP_HOST_KEY says ${fp}`));
    assert.ok(err.message.includes('`ssh-keyscan -p 22 sftp.example.com | ssh-keygen -lf -`, the ED25519 line'));
    assert.equal(keyscanHint('::1', 2022), 'ssh-keyscan -p 2022 [::1] | ssh-keygen -lf -');
  });
});

describe('SFTP folder names', () => {
  it('a listing hands on regular names only: not dot-files, claims, or uploads in progress', () => {
    for (const name of ['metadata-1418.json', 'metadata-1418.txt', 'call-1418.mp3', 'chat-77.txt', 'email-5.pdf']) assert.equal(skipReason(name), null, name);
    for (const name of ['.', '..', '.DS_Store', '.metadata-1.json.part', '.ccai-claimed']) assert.equal(skipReason(name), 'dot-file', name);
    assert.equal(skipReason(claimName('metadata-1.json', Date.now(), 'ab12')), 'claimed');
    for (const name of ['metadata-1.json.part', 'x.filepart', 'x.tmp', 'x.PART', 'x.json~']) assert.equal(skipReason(name), 'in-progress', name);
  });

  it('a claimed name keeps the original name, when it was claimed, and by whom', () => {
    const at = Date.UTC(2026, 2, 23, 20, 16, 58, 123);
    const claimed = claimName('metadata-1418.json', at, 'ab12cd34');
    assert.match(claimed, /^metadata-1418\.json\.ccai-claimed-[0-9a-z]+-ab12cd34$/);
    assert.deepEqual(parseClaim(claimed), { original: 'metadata-1418.json', claimedAtMs: at, owner: 'ab12cd34' });
    assert.equal(originalName(claimed), 'metadata-1418.json');
    assert.equal(originalName('metadata-1418.json'), 'metadata-1418.json');
    assert.equal(parseClaim('metadata-1418.json'), null);
    assert.equal(parseClaim('x.ccai-claimed-'), null);
  });

  it('free names: name, name.1, name.2; paths inside the folder; the version', () => {
    assert.deepEqual([0, 1, 2].map((i) => clashName('metadata-1.json', i)), ['metadata-1.json', 'metadata-1.json.1', 'metadata-1.json.2']);
    assert.equal(childPath('/srv/ccai', 'a.json'), '/srv/ccai/a.json');
    assert.equal(childPath('/', 'a.json'), '/a.json');
    assert.equal(childPath('.', 'a.json'), 'a.json');
    assert.equal(childPath('ccai/out', 'processed'), 'ccai/out/processed');
    assert.equal(versionOf(1024, 1774297018), '1024:1774297018000');
  });
});
