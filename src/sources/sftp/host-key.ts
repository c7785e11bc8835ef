// SFTP_HOST_KEY: the server's host key, pinned. Without it anyone between the worker and the
// server (or a server at a reused address) could pose as the server and be handed the account's
// password, or feed the worker files. So the setting is required, an unknown or changed key
// refuses the connection before any credential is sent, and the refusal says how to read the
// right fingerprint. Pure (node:crypto hashes the key the server presented).
import { createHash } from 'node:crypto';
import { SyncError } from '../../errors.ts';

/** `SHA256:` and 43 characters of unpadded base64: how `ssh-keygen -lf` prints a fingerprint. */
const SHA256_FINGERPRINT = /^SHA256:[A-Za-z0-9+/]{43}$/;

/** The command that prints a server's host key fingerprints. */
export function keyscanHint(host: string, port: number): string {
  const h = host.includes(':') ? `[${host}]` : host;
  return `ssh-keyscan -p ${port} ${h} | ssh-keygen -lf -`;
}

/**
 * SFTP_HOST_KEY: one fingerprint, or several separated by commas (a server has a key of each
 * type, RSA, ECDSA and Ed25519, and which one a client sees depends on what both support; during
 * a key rotation the old and the new one are both right). A trailing `=` (padded base64) is
 * accepted. Answers the fingerprints, or what is wrong (a sentence to follow `SFTP_HOST_KEY: `).
 */
export function parseHostKeys(value: string, where?: { host: string; port: number }): string[] | string {
  const how = `as \`${where ? keyscanHint(where.host, where.port) : 'ssh-keyscan -p PORT HOST | ssh-keygen -lf -'}\` prints it`;
  const items = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (items.length === 0) return `is required: the server's host key fingerprint, SHA256:…, ${how}`;
  const out: string[] = [];
  for (const item of items) {
    const fp = item.replace(/=+$/, '');
    if (SHA256_FINGERPRINT.test(fp)) {
      out.push(fp);
      continue;
    }
    if (/^(MD5:)?([0-9a-f]{2}:){15}[0-9a-f]{2}$/i.test(item)) return `an MD5 fingerprint (${item}) is not accepted: give the SHA256 one, ${how}`;
    return `"${item}" is not a SHA256 host key fingerprint (SHA256: and 43 characters), ${how}; several: comma-separated`;
  }
  return out;
}

/** The fingerprint of a public key (the SSH wire blob), as `ssh-keygen -lf` prints it. */
export function fingerprintOf(key: Uint8Array): string {
  return `SHA256:${createHash('sha256').update(key).digest('base64').replace(/=+$/, '')}`;
}

/** The key's type as `ssh-keygen -lf` names it at the end of its line (ED25519, RSA, ECDSA), from the blob's first field. */
export function keyTypeOf(key: Uint8Array): string {
  if (key.length < 4) return 'unknown';
  const len = ((key[0]! << 24) | (key[1]! << 16) | (key[2]! << 8) | key[3]!) >>> 0;
  if (len === 0 || len > 64 || key.length < 4 + len) return 'unknown';
  const name = Buffer.from(key.subarray(4, 4 + len)).toString('latin1');
  if (name === 'ssh-ed25519') return 'ED25519';
  if (name === 'ssh-ed448') return 'ED448';
  if (name === 'ssh-rsa') return 'RSA';
  if (name === 'ssh-dss') return 'DSA';
  if (name.startsWith('ecdsa-sha2-')) return 'ECDSA';
  return name;
}

/** The refusal of a server whose host key is not one of SFTP_HOST_KEY: a setting to fix (or an attack), never retried blindly. */
export function hostKeyRefused(seen: { fingerprint: string; type: string }, expected: readonly string[], host: string, port: number): SyncError {
  const said = expected.length === 1 ? `SFTP_HOST_KEY says ${expected[0]}` : `SFTP_HOST_KEY says one of ${expected.join(', ')}`;
  return new SyncError(
    'CONFIG_INVALID',
    `SFTP: host key refused: ${host}:${port} presented its ${seen.type} key, fingerprint ${seen.fingerprint}, and ${said}. ` +
      'Nothing was sent to it. If the server or its key changed on purpose, read the new fingerprint ' +
      `(\`${keyscanHint(host, port)}\`, the ${seen.type} line; better, on the server itself: \`ssh-keygen -lf <its host key>.pub\`) ` +
      'and set SFTP_HOST_KEY to it; if not, something is answering in the server’s place.',
  );
}
