// A TCP proxy on loopback that can go silent: freeze() makes every connection open at that
// moment stop passing bytes either way while staying open (a server or a middlebox that hangs,
// the case where IMAP readers "silently stop"); connections made afterwards work normally.
import { createConnection, createServer } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';

export interface FreezingProxy {
  port: number;
  freeze(): void;
  close(): Promise<void>;
}

export async function startFreezingProxy(targetHost: string, targetPort: number): Promise<FreezingProxy> {
  const live = new Set<{ frozen: boolean; sockets: Socket[] }>();
  const server = createServer((client) => {
    const upstream = createConnection({ host: targetHost, port: targetPort });
    const conn = { frozen: false, sockets: [client, upstream] };
    live.add(conn);
    client.on('data', (d) => conn.frozen || upstream.write(d));
    upstream.on('data', (d) => conn.frozen || client.write(d));
    const end = () => {
      live.delete(conn);
      client.destroy();
      upstream.destroy();
    };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    freeze() {
      for (const c of live) c.frozen = true;
    },
    async close() {
      for (const c of live) for (const s of c.sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
