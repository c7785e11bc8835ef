// A TCP proxy on loopback that cuts connections at a chosen moment: cutAfter(n) destroys each
// connection open now once n more bytes have gone from the server to the client (a connection
// dropped in the middle of a download, at a point the test decides rather than a race), and
// refuse() closes every new connection at once (a server that stays down). Connections made
// after a cut pass normally.
import { createConnection, createServer } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';

export interface CuttingProxy {
  port: number;
  /** connections accepted so far */
  readonly connections: number;
  /** cut each connection open now after `bytes` more bytes from the server; resolves when one was cut */
  cutAfter(bytes: number): Promise<void>;
  /** true: new connections are closed as soon as they open */
  refuse(on: boolean): void;
  close(): Promise<void>;
}

interface Conn {
  sockets: Socket[];
  /** bytes from the server still to pass before the cut, when armed */
  left: number | null;
}

export async function startCuttingProxy(targetHost: string, targetPort: number): Promise<CuttingProxy> {
  const live = new Set<Conn>();
  let accepted = 0;
  let refusing = false;
  let onCut: (() => void) | null = null;
  const server = createServer((client) => {
    accepted += 1;
    if (refusing) {
      client.destroy();
      return;
    }
    const upstream = createConnection({ host: targetHost, port: targetPort });
    const conn: Conn = { sockets: [client, upstream], left: null };
    live.add(conn);
    const end = () => {
      live.delete(conn);
      client.destroy();
      upstream.destroy();
    };
    client.on('data', (d) => upstream.write(d));
    upstream.on('data', (d: Buffer) => {
      if (conn.left !== null) {
        if (d.length >= conn.left) {
          client.write(d.subarray(0, conn.left));
          end();
          onCut?.();
          return;
        }
        conn.left -= d.length;
      }
      client.write(d);
    });
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    get connections() {
      return accepted;
    },
    cutAfter(bytes) {
      for (const c of live) c.left = bytes;
      return new Promise<void>((resolve) => {
        onCut = () => {
          onCut = null;
          resolve();
        };
      });
    },
    refuse(on) {
      refusing = on;
    },
    async close() {
      for (const c of live) for (const s of c.sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
