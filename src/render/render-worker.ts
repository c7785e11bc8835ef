// A rendering thread (see render-pool.ts): loads the templates once, renders notes on request.
import { parentPort, workerData } from 'node:worker_threads';
import type { Enrichment } from '../domain/types.ts';
import { loadTemplates, renderNote } from './templates.ts';

const templates = await loadTemplates((workerData as { dir: string }).dir);

parentPort!.on('message', (m: { id: number; e: Enrichment; html: boolean }) => {
  try {
    parentPort!.postMessage({ id: m.id, note: renderNote(templates, m.e, { html: m.html }) });
  } catch (err) {
    const e = err as { code?: string; message?: string };
    parentPort!.postMessage({ id: m.id, error: { code: e.code ?? 'INTERNAL', message: e.message ?? String(err) } });
  }
});
parentPort!.postMessage({ ready: true });
