// The Salesforce double in its own process for the benchmark, so that the worker's CPU and
// memory figures are the worker's alone. Driven over IPC by bench/salesforce.ts and bench/run.ts.
import { startSalesforceDouble } from '../test/salesforce/double.ts';

const latencyMs = Number(process.argv[2] ?? 50);
const sf = await startSalesforceDouble({ latencyMs, dailyLimit: 100_000_000 });

type Msg = {
  id: number;
  cmd: 'info' | 'apiCalls' | 'insertCases' | 'reset' | 'taskCount' | 'state' | 'insertTask' | 'removeTask' | 'close';
  n?: number;
  arg?: unknown;
};

/** The first line of a post (where the target puts its `[ccai <CallObject>]` marker). */
const firstLine = (v: unknown): string => String(v ?? '').split('\n', 1)[0]!;

// The parent went away (Ctrl-C, a crash, SIGKILL): this process does not outlive it.
process.on('disconnect', () => process.exit(0));

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
    // What the target wrote, from the double's own store (not from the workers' reports): each
    // Task as [Id, CallObject, WhatId], each post (CaseComment, FeedItem) as [ParentId, first line].
    case 'state':
      return reply({
        tasks: sf.records('Task').map((r) => [r.Id, r.CallObject ?? null, r.WhatId ?? null]),
        caseComments: sf.records('CaseComment').map((r) => [r.ParentId ?? null, firstLine(r.CommentBody)]),
        feedItems: sf.records('FeedItem').map((r) => [r.ParentId ?? null, firstLine(r.Body)]),
      });
    // For the benchmark's check of its own counting: a Task written behind the worker's back,
    // and one taken away.
    case 'insertTask':
      return reply(sf.insert('Task', m.arg as Record<string, unknown>));
    case 'removeTask':
      sf.remove('Task', String(m.arg));
      return reply(true);
    case 'close':
      await sf.close();
      reply(true);
      return process.exit(0);
  }
});
process.send!({ ready: true });
