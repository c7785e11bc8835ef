// Which Node runs us, checked before anything else is loaded. The sources are TypeScript,
// which Node runs itself only from 22.19 on (type stripping); an older Node stops with a
// loader error ("Unknown file extension .ts") that says nothing about the version.
// Plain JavaScript any Node with ES modules can parse; the minimum is package.json's engines.
import { readFileSync } from 'node:fs';

/** [major, minor, patch] of an engines range of the form ">=22.19"; null for any other form. */
export function minimumOf(range) {
  const m = /^\s*>=\s*v?(\d+)(?:\.(\d+))?(?:\.(\d+))?\s*$/.exec(range || '');
  return m ? [Number(m[1]), Number(m[2] || 0), Number(m[3] || 0)] : null;
}

/** The line to print when `version` is older than `range`; null when it is recent enough. */
export function nodeTooOld(version, range) {
  const min = minimumOf(range);
  // a form we do not read (a test keeps package.json's readable): let Node try
  if (!min) return null;
  const shown = String(version).replace(/^v/, '');
  const have = shown.split('.').map((n) => parseInt(n, 10) || 0);
  for (let i = 0; i < 3; i++) {
    if ((have[i] || 0) > min[i]) return null;
    if ((have[i] || 0) < min[i]) {
      const needed = min[2] ? min.join('.') : `${min[0]}.${min[1]}`;
      return `ccai-crm-sync needs Node.js ${needed} or later (this is ${shown}); install a current one from https://nodejs.org/ (or: nvm install 24), or run it with Docker (see the README)`;
    }
  }
  return null;
}

/** The check for this process: the line to print, or null. */
export function checkNode() {
  let range;
  try {
    range = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).engines.node;
  } catch {
    return null;
  }
  return nodeTooOld(process.versions.node, range);
}
