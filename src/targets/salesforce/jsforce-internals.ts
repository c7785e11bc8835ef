// The one place that reaches into jsforce's internals. jsforce sets its HTTP request defaults
// (proxy, time-out) in `jsforce/lib/request.js` and exports no API for them; its own time-out
// is 30 minutes without an answer, and a stuck request would hold up every write of this
// process (several flushes may run at once). If a jsforce upgrade moves this module, only this file
// changes.
import jsforceRequest from 'jsforce/lib/request.js';

/** Replaces jsforce's request defaults (all of them: give the proxy too). */
export function setRequestDefaults(defaults: { httpProxy: string | undefined; timeout: number; followRedirect: boolean }): void {
  (jsforceRequest as unknown as { setDefaults(d: Record<string, unknown>): void }).setDefaults(defaults);
}
