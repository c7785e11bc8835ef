// The part of ssh2-sftp-client 12 (and of the ssh2 1.x SFTP object its connect() resolves to)
// that sftp-storage.ts uses, typed here because neither package ships types and @types are not
// installed. Kept to what is used: each signature was read off node_modules/ssh2/lib/protocol/SFTP.js
// and ssh2-sftp-client/src/index.js; an upgrade of either is checked against this file.
declare module 'ssh2-sftp-client' {
  import type { EventEmitter } from 'node:events';

  /** SFTP v3 attributes; any of them may be missing when the server does not send it. */
  export interface SftpAttrs {
    mode?: number;
    size?: number;
    /** seconds since the epoch */
    mtime?: number;
    atime?: number;
  }

  export interface SftpDirEntry {
    filename: string;
    longname: string;
    attrs: SftpAttrs;
  }

  /** An SFTP error: `code` is the SFTP status (2 no such file, 3 permission denied, 4 failure, ...). */
  export type SftpCallbackError = (Error & { code?: number | string; level?: string }) | undefined | null;

  /** ssh2's SFTP client (SFTPWrapper): one request per call, answered through the callback. */
  export interface SftpSession extends EventEmitter {
    opendir(path: string, cb: (err: SftpCallbackError, handle: Buffer) => void): void;
    /** with a handle: the next batch of entries (OpenSSH sends about 100); EOF: an error with code 1 */
    readdir(handle: Buffer, cb: (err: SftpCallbackError, list: SftpDirEntry[]) => void): void;
    open(path: string, flags: 'r', cb: (err: SftpCallbackError, handle: Buffer) => void): void;
    fstat(handle: Buffer, cb: (err: SftpCallbackError, attrs: SftpAttrs) => void): void;
    /** bytesRead 0 at the end of the file */
    read(handle: Buffer, buf: Buffer, offset: number, length: number, position: number, cb: (err: SftpCallbackError, bytesRead: number) => void): void;
    close(handle: Buffer, cb: (err: SftpCallbackError) => void): void;
    lstat(path: string, cb: (err: SftpCallbackError, attrs: SftpAttrs) => void): void;
    /** SSH_FXP_RENAME: fails when the new name exists (OpenSSH links then unlinks) */
    rename(from: string, to: string, cb: (err: SftpCallbackError) => void): void;
    mkdir(path: string, cb: (err: SftpCallbackError) => void): void;
    unlink(path: string, cb: (err: SftpCallbackError) => void): void;
  }

  export interface ConnectOptions {
    host: string;
    port: number;
    username: string;
    privateKey?: string;
    password?: string;
    tryKeyboard?: boolean;
    /** without hostHash: the server's raw public key; false refuses the connection */
    hostVerifier?: (key: Buffer) => boolean;
    readyTimeout?: number;
    keepaliveInterval?: number;
    keepaliveCountMax?: number;
  }

  export interface KeyboardPrompt {
    prompt: string;
    echo?: boolean;
  }

  export default class SftpClient {
    /** callbacks: what the client does with an error, end or close of the connection outside a call (else it prints them) */
    constructor(name?: string, callbacks?: { error?: (err: Error) => void; end?: () => void; close?: () => void });
    /** the ssh2 Client underneath */
    client: { destroy(): void; setNoDelay(noDelay?: boolean): void };
    connect(options: ConnectOptions): Promise<SftpSession>;
    end(): Promise<boolean>;
    /** a listener on the ssh2 Client, ahead of the client's own */
    on(event: 'error', listener: (err: Error & { level?: string; code?: string }) => void): void;
    on(event: 'close' | 'end', listener: () => void): void;
    on(
      event: 'keyboard-interactive',
      listener: (name: string, instructions: string, lang: string, prompts: KeyboardPrompt[], finish: (answers: string[]) => void) => void,
    ): void;
  }
}
