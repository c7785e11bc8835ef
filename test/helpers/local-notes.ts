// The notes the local CRM (DATA_DIR) holds on a ticket, read from outside the worker that wrote
// them: all of them, or one session's.
import { LocalCrm } from '../../src/targets/local/local-crm.ts';

export function localNotes(dataDir: string, ticket: string, sessionKey?: string) {
  const crm = new LocalCrm(dataDir);
  try {
    const notes = crm.get(ticket)?.notes ?? [];
    return sessionKey === undefined ? notes : notes.filter((n) => n.sessionKey === sessionKey);
  } finally {
    void crm.close();
  }
}
