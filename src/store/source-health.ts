// Whether a source that saves its health in Redis (a mailbox folder, a bucket or SFTP sweep)
// is answering, read by any process: stopped on purpose, or read successfully within its own
// limit (what it saved as staleAfterMs, else the reader's default).
export interface SavedSourceHealth {
  state: string;
  lastOkAt: string | null;
  staleAfterMs?: number | null;
}

export function answering(h: SavedSourceHealth, fallbackStaleMs: number, now = Date.now()): boolean {
  return h.state === 'stopped' || (h.lastOkAt !== null && now - Date.parse(h.lastOkAt) < (h.staleAfterMs ?? fallbackStaleMs));
}
