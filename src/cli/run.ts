// `run <file|folder>... [--dry-run] [--json]`: process inputs through the queue until they are
// drained and report one result per input.
import { relative, resolve } from 'node:path';
import type { Config } from '../config.ts';
import { enrich } from '../domain/enrichment.ts';
import { intake } from '../domain/intake.ts';
import type { RenderedNote } from '../domain/types.ts';
import type { Logger } from '../logger.ts';
import { createApp, enrichOptionsOf, intakeOptionsOf } from '../main.ts';
import type { SubmitResult } from '../pipeline/submit.ts';
import { parseFailure } from '../queue/jobs.ts';
import { loadTemplates, renderNote } from '../render/templates.ts';
import { listInputs, readDocument } from '../sources/files.ts';
import { keepRejectedCopy, reasonFor } from '../sources/rejected.ts';
import { EXIT, printJson } from './context.ts';

export type ResultStatus = 'delivered' | 'skipped' | 'rejected' | 'failed';

export interface RunResult {
  source: string;
  session: string | null;
  ticket: string | null;
  status: ResultStatus;
  reason: string | null;
  version: string | null;
  code: string | null;
  field: string | null;
  /** where the original of a rejected document was kept */
  keptAt: string | null;
  /** --dry-run: what would be written */
  wouldWrite?: { fields: Record<string, unknown>; note: RenderedNote };
}

export interface RunOptions {
  dryRun?: boolean;
  json?: boolean;
  wait?: string;
}

interface Input {
  source: string;
  path: string;
  /** found inside a folder given on the command line */
  discovered: boolean;
}

async function expand(paths: string[]): Promise<Array<Input | RunResult>> {
  const out: Array<Input | RunResult> = [];
  for (const p of paths) {
    try {
      const files = await listInputs(p);
      const isFolder = files.length !== 1 || resolve(files[0]!) !== resolve(p);
      for (const file of files) out.push({ source: displayPath(file), path: file, discovered: isFolder });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'error';
      out.push(blank(displayPath(p), 'rejected', `INPUT_UNREADABLE: cannot read ${p} (${code})`, 'INPUT_UNREADABLE'));
    }
  }
  return out;
}

function displayPath(p: string): string {
  const rel = relative(process.cwd(), resolve(p));
  return rel.startsWith('..') ? resolve(p) : rel;
}

function blank(source: string, status: ResultStatus, reason: string | null, code: string | null = null): RunResult {
  return { source, session: null, ticket: null, status, reason, version: null, code, field: null, keptAt: null };
}

function fromSubmit(s: SubmitResult): RunResult {
  return {
    source: s.source,
    session: s.session,
    ticket: s.ticket,
    status: s.status === 'rejected' ? 'rejected' : 'skipped',
    reason: s.code ? `${s.code}${s.field ? ` (${s.field})` : ''}: ${s.reason}` : s.reason,
    version: s.version,
    code: s.code,
    field: s.field,
    keptAt: null,
  };
}

export async function runCommand(config: Config, log: Logger, inputs: string[], opts: RunOptions): Promise<number> {
  const items = await expand(inputs);
  const results = opts.dryRun ? await dryRun(config, items) : await realRun(config, log, items, Number(opts.wait ?? 300) * 1000);
  if (opts.json) printJson({ results });
  else printHuman(results, Boolean(opts.dryRun));
  return results.some((r) => r.status === 'rejected' || r.status === 'failed') ? EXIT.problems : EXIT.ok;
}

async function dryRun(config: Config, items: Array<Input | RunResult>): Promise<RunResult[]> {
  const templates = await loadTemplates(config.TEMPLATES_DIR);
  const results: RunResult[] = [];
  for (const item of items) {
    if (!('path' in item)) {
      results.push(item);
      continue;
    }
    const read = await readDocument(item.path, config.MAX_FILE_BYTES);
    if (!read.ok) {
      results.push({ ...blank(item.source, 'rejected', `${read.problem.code}: ${read.problem.message}`, read.problem.code) });
      continue;
    }
    const r = intake(read.bytes, { ...intakeOptionsOf(config), discovered: item.discovered });
    if (r.status === 'accepted') {
      const e = enrich(r.session, r.ticket, enrichOptionsOf(config));
      const note = await renderNote(templates, e);
      results.push({
        source: item.source,
        session: r.session.key,
        ticket: r.ticket.id,
        status: 'delivered',
        reason: 'dry run: nothing was written',
        version: r.session.version,
        code: null,
        field: null,
        keptAt: null,
        wouldWrite: { fields: e.fields, note },
      });
    } else if (r.status === 'rejected') {
      const p = r.problem;
      results.push({ ...blank(item.source, 'rejected', `${p.code}${p.field ? ` (${p.field})` : ''}: ${p.message}`, p.code), session: r.session?.key ?? null, field: p.field ?? null });
    } else if (r.status === 'skipped') {
      results.push({ ...blank(item.source, 'skipped', r.reason), session: r.session.key, version: r.session.version });
    } else {
      results.push(blank(item.source, 'skipped', r.reason));
    }
  }
  return results;
}

async function realRun(config: Config, log: Logger, items: Array<Input | RunResult>, waitMs: number): Promise<RunResult[]> {
  const app = await createApp(config, log, { worker: true, allowPrivateRedis: true });
  const rejectedDir = resolve(config.dataDir, 'rejected');
  try {
    const results: RunResult[] = [];
    const pending: Array<{ index: number; jobId: string; duplicateOf: string | null }> = [];
    const seen = new Map<string, string>();
    for (const item of items) {
      if (!('path' in item)) {
        results.push(item);
        continue;
      }
      const read = await readDocument(item.path, config.MAX_FILE_BYTES);
      if (!read.ok) {
        const reason = reasonFor(item.source, read.problem, null);
        const keptAt = read.problem.code === 'INPUT_UNREADABLE' ? null : await keepRejectedCopy(rejectedDir, reason, { path: item.path });
        results.push({ ...blank(item.source, 'rejected', `${read.problem.code}: ${read.problem.message}`, read.problem.code), keptAt });
        continue;
      }
      const s = await app.submit(read.bytes, item.source, { discovered: item.discovered });
      const result = fromSubmit(s);
      if (s.status === 'rejected' && s.intake.status === 'rejected') {
        result.keptAt = await keepRejectedCopy(rejectedDir, reasonFor(item.source, s.intake.problem, s.session), read.bytes);
      }
      results.push(result);
      if (s.jobId) {
        pending.push({ index: results.length - 1, jobId: s.jobId, duplicateOf: s.status === 'duplicate' ? (seen.get(s.jobId) ?? 'a job already in the queue') : null });
        if (!seen.has(s.jobId)) seen.set(s.jobId, item.source);
      }
    }
    await Promise.all(
      pending.map(async (p) => {
        const r = results[p.index]!;
        try {
          const outcome = await withTimeout(app.queue.waitFor(p.jobId), waitMs);
          if (outcome === 'timeout') {
            r.status = 'failed';
            r.reason = `still not done after ${waitMs / 1000} s (job ${p.jobId} stays queued; a worker will continue it)`;
            return;
          }
          r.ticket = outcome.ticketId;
          if (p.duplicateOf) {
            r.status = 'skipped';
            r.reason = `duplicate: same session version as ${p.duplicateOf}`;
          } else {
            r.status = outcome.status;
            r.reason = outcome.reason;
          }
        } catch (err) {
          const f = parseFailure(err instanceof Error ? err.message : String(err));
          r.status = 'failed';
          r.code = f.code;
          r.reason = `${f.code}: ${f.message}`;
        }
      }),
    );
    return results;
  } finally {
    await app.close();
  }
}

async function withTimeout<T>(p: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<'timeout'>((res) => {
    timer = setTimeout(() => res('timeout'), ms);
  });
  try {
    return await Promise.race([p, t]);
  } finally {
    clearTimeout(timer);
  }
}

function printHuman(results: RunResult[], dryRun: boolean): void {
  const w = process.stdout;
  for (const r of results) {
    w.write(`${r.status.padEnd(9)} ${(r.session ?? '-').padEnd(14)} ${(r.ticket ?? '-').padEnd(20)} ${r.source}\n`);
    if (r.reason) w.write(`          ${r.reason}\n`);
    if (r.keptAt) w.write(`          original kept at ${r.keptAt} (reason beside it)\n`);
    if (dryRun && r.wouldWrite) {
      w.write(`          would write on ${r.ticket}:\n`);
      for (const [k, v] of Object.entries(r.wouldWrite.fields)) if (v !== null) w.write(`            ${k}: ${String(v).replace(/\n/g, '\n              ')}\n`);
      w.write(`          note "${r.wouldWrite.note.subject}":\n`);
      w.write(`${r.wouldWrite.note.text.replace(/^/gm, '            ')}\n`);
    }
  }
  const count = (s: ResultStatus) => results.filter((r) => r.status === s).length;
  w.write(`\n${results.length} input(s): ${count('delivered')} delivered, ${count('skipped')} skipped, ${count('rejected')} rejected, ${count('failed')} failed${dryRun ? ' (dry run: nothing written)' : ''}\n`);
}
