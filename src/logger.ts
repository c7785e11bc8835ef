// One structured logger (pino) to stderr, so a command's stdout stays its report.
// Logs carry ids (session keys, job ids, ticket ids), never payloads; anything that could
// hold personal data or secrets is redacted by path as a second line of defence.
import pino from 'pino';
import type { Logger } from 'pino';

export type { Logger };

export const REDACT_PATHS = [
  '*.email',
  '*.phone_number',
  '*.phone',
  '*.password',
  '*.token',
  '*.accessToken',
  '*.authorization',
  '*.secret',
  '*.note',
  '*.feedback',
  '*.custom_data_secured',
  'email',
  'phone_number',
  'authorization',
  'req.headers.authorization',
  'req.headers.cookie',
];

export function createLogger(level: string, destination: pino.DestinationStream = pino.destination({ dest: 2, sync: true })): Logger {
  return pino(
    {
      level,
      base: { app: 'ccai-crm-sync' },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination,
  );
}

/** Removes credentials from a URL before it is shown (redis://user:pass@host -> redis://user:***@host). */
export function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '[unparseable url]';
  }
}
