// The Salesforce double in its own process for the benchmark, so that the worker's CPU and
// memory figures are the worker's alone. Driven over IPC by bench/salesforce.ts.
import { startSalesforceDouble } from '../test/salesforce/double.ts';

const latencyMs = Number(process.argv[2] ?? 50);
const sf = await startSalesforceDouble({ latencyMs, dailyLimit: 100_000_000 });

type Msg = { id: number; cmd: 'info' | 'apiCalls' | 'insertCases' | 'reset' | 'taskCount' | 'close'; n?: number };

process.on('message', async (m: Msg) => {
  const reply = (value: unknown) => process.send!({ id: m.id, value });
  switch (m.cmd) {
    case 'info':
      return reply({ url: sf.url, token: sf.accessToken(), apiVersion: sf.apiVersion });
    case 'apiCalls':
      return reply(sf.apiCalls());
    case 'insertCases':
      return reply(Array.from({ length: m.n ?? 1 }, (_, i) => sf.insert('Case', { Subject: `bench case ${i}` })));
    case 'reset':
      sf.reset();
      return reply(true);
    case 'taskCount':
      return reply(sf.records('Task').length);
    case 'close':
      await sf.close();
      reply(true);
      return process.exit(0);
  }
});
process.send!({ ready: true });
