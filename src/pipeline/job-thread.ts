// A job thread (see job-threads.ts): compiles the templates it is given, then prepares jobs
// on request, in order.
import { parentPort, workerData } from 'node:worker_threads';
import { toSyncError } from '../errors.ts';
import { compileTemplates } from '../render/templates.ts';
import type { NoteTemplates } from '../render/templates.ts';
import type { JobThreadData, JobThreadReply, JobThreadRequest } from './job-threads.ts';
import { prepareJob } from './prepare.ts';

const port = parentPort!;
const data = workerData as JobThreadData;
const reply = (m: JobThreadReply) => port.postMessage(m);

/** A SyncError as its parts (errors lose their class between threads); anything else is INTERNAL. */
function describe(err: unknown): { code: string; message: string; field?: string } {
  const e = toSyncError(err);
  return e.field === undefined ? { code: e.code, message: e.message } : { code: e.code, message: e.message, field: e.field };
}

let templates: NoteTemplates;
try {
  templates = compileTemplates(data.templatesDir, data.templates, data.noteSettings);
} catch (err) {
  reply({ failed: describe(err) });
  process.exit(1);
}
const options = { intake: data.intake, enrich: data.enrich, templates };

port.on('message', (m: JobThreadRequest) => {
  try {
    reply({ id: m.id, prepared: prepareJob(options, m.document, m.html, null, m.files) });
  } catch (err) {
    reply({ id: m.id, error: describe(err) });
  }
});
reply({ ready: true });
