// The container files: docker-compose.yml, .env.example, Dockerfile and .dockerignore, checked
// against the README's configuration tables. No Docker engine is needed: the compose file is
// read as YAML 1.1 and 1.2 (test/helpers/compose-yaml.ts) and the others with small readers.
// docker-compose (Debian's 1.29, which .ci/run installs) then resolves the file as a user's
// Compose would; on a machine without it that one test is reported as skipped, with the reason.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadConfig, SECRET_VARS } from '../../src/config.ts';
import { ComposeYamlError, parseComposeYaml, type YamlValue } from '../helpers/compose-yaml.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const read = (path: string): string => readFileSync(join(ROOT, path), 'utf8');

/** What docker-compose.yml must set itself: the container's own addresses and paths. */
const FORCED: Record<string, string> = {
  REDIS_URL: 'redis://redis:6379',
  DATA_DIR: '/data',
  INBOX_DIR: '/inbox',
  HTTP_HOST: '0.0.0.0',
  HTTP_PORT: '8080',
};

// ---- README -------------------------------------------------------------------------------

/** The variables named in the first column of every `| variable | default | meaning |` table. */
function readmeSettings(readme: string): string[] {
  const names = new Set<string>();
  let inTable = false;
  for (const line of readme.split('\n')) {
    if (!line.startsWith('|')) {
      inTable = false;
      continue;
    }
    const first = line.split('|')[1]?.trim() ?? '';
    if (first === 'variable') inTable = true;
    else if (inTable) for (const m of first.matchAll(/`([A-Za-z_][A-Za-z0-9_]*)`/g)) names.add(m[1]!);
  }
  return [...names];
}

// ---- env files ----------------------------------------------------------------------------

interface EnvSetting {
  name: string;
  value: string;
  /** `#NAME=value`: shown, not set (the code's default applies until the `#` is removed) */
  commented: boolean;
  line: number;
}

/** An env file's settings; prose comments start with `# ` or `## `, settings with `NAME=` or `#NAME=`. */
function envSettings(text: string): EnvSetting[] {
  const out: EnvSetting[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trimEnd();
    if (line === '' || line === '#' || line.startsWith('# ') || line.startsWith('## ')) return;
    const m = /^(#?)([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    assert.ok(m, `.env.example line ${i + 1} is neither a setting nor a "# " comment: ${line}`);
    out.push({ commented: m[1] === '#', name: m[2]!, value: m[3]!, line: i + 1 });
  });
  return out;
}

// ---- compose ------------------------------------------------------------------------------

function mapping(v: YamlValue | undefined, what: string): { [key: string]: YamlValue } {
  assert.ok(v !== null && typeof v === 'object' && !Array.isArray(v), `${what} must be a mapping`);
  return v;
}

function list(v: YamlValue | undefined, what: string): YamlValue[] {
  assert.ok(Array.isArray(v), `${what} must be a list`);
  return v;
}

interface Mount {
  type: 'bind' | 'volume';
  source: string;
  target: string;
  readOnly: boolean;
}

/** A service's volumes, short (`src:dst[:ro]`) or long (`type:`, `source:`, ...) syntax. */
function mounts(service: { [key: string]: YamlValue }): Mount[] {
  return list(service.volumes ?? [], 'volumes').map((v) => {
    if (typeof v === 'string') {
      const [source = '', target = '', mode = ''] = v.split(':');
      return { type: /^[./~]/.test(source) ? 'bind' : 'volume', source, target, readOnly: mode.split(',').includes('ro') };
    }
    const m = mapping(v, 'a volume');
    assert.ok(m.type === 'bind' || m.type === 'volume', `volume type ${String(m.type)}`);
    return { type: m.type, source: String(m.source), target: String(m.target), readOnly: m.read_only === true };
  });
}

function envFiles(service: { [key: string]: YamlValue }): string[] {
  const v = service.env_file;
  if (v === undefined) return [];
  return (typeof v === 'string' ? [v] : list(v, 'env_file')).map((e) => (typeof e === 'string' ? e : String(mapping(e, 'env_file').path)));
}

function loadCompose() {
  const compose = mapping(parseComposeYaml(read('docker-compose.yml')), 'docker-compose.yml');
  const services = mapping(compose.services, 'services');
  return {
    compose,
    redis: mapping(services.redis, 'services.redis'),
    worker: mapping(services.worker, 'services.worker'),
  };
}

// ---- Dockerfile ---------------------------------------------------------------------------

interface Instruction {
  op: string;
  args: string;
}

function dockerfile(text: string): Instruction[] {
  const out: Instruction[] = [];
  let buf = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('#')) continue; // comments, also between continued lines
    const continued = line.endsWith('\\');
    buf = `${buf} ${continued ? line.slice(0, -1) : line}`.trim();
    if (continued || buf === '') continue;
    const m = /^(\S+)\s*(.*)$/.exec(buf)!;
    out.push({ op: m[1]!.toUpperCase(), args: m[2]! });
    buf = '';
  }
  return out;
}

/** The shell commands of a RUN, split at `&&` and `;`, as word lists. */
function commands(run: string): string[][] {
  return run.split(/&&|;/).map((c) => c.trim().split(/\s+/).filter(Boolean));
}

// ---- .dockerignore ------------------------------------------------------------------------

function patternRegex(pattern: string): RegExp {
  let re = '';
  for (let k = 0; k < pattern.length; k++) {
    const c = pattern[k]!;
    if (c === '*' && pattern[k + 1] === '*') {
      re += pattern[k + 2] === '/' ? '(?:.*/)?' : '.*';
      k += pattern[k + 2] === '/' ? 2 : 1;
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/** Whether Docker leaves `path` out of the build context: the last matching line decides. */
function dockerIgnores(lines: string[], path: string): boolean {
  const parts = path.split('/');
  const candidates = parts.map((_, k) => parts.slice(0, k + 1).join('/')); // a folder's pattern covers its files
  let ignored = false;
  for (const raw of lines) {
    const negated = raw.startsWith('!');
    const pattern = (negated ? raw.slice(1) : raw).trim().replace(/^\.?\//, '').replace(/\/+$/, '');
    const re = patternRegex(pattern);
    if (candidates.some((c) => re.test(c))) ignored = !negated;
  }
  return ignored;
}

function filesUnder(path: string): string[] {
  const full = join(ROOT, path);
  if (!statSync(full).isDirectory()) return [path];
  return readdirSync(full, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => join(d.parentPath, d.name).slice(ROOT.length));
}

// ---- tools that may be installed ----------------------------------------------------------

function installed(cmd: string, args: string[]): boolean {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return r.status === 0;
}

const HAVE_COMPOSE = installed('docker-compose', ['version']);

// -------------------------------------------------------------------------------------------

describe('containers', () => {
  const settings = readmeSettings(read('README.md'));
  const example = existsSync(join(ROOT, '.env.example')) ? envSettings(read('.env.example')) : [];
  const inExample = new Set(example.map((s) => s.name.toUpperCase()));

  it("finds the README's configuration tables (Configuration, Salesforce, e-mail, mailbox)", () => {
    for (const name of ['CRM', 'HTTP_TOKEN', 'JOB_THREADS', 'SF_MAPPING_FILE', 'SF_BATCH_SIZE', 'SMTP_URL', 'MAIL_ID_SECRET', 'IMAP_URL', 'IMAP_START']) {
      assert.ok(settings.includes(name), `${name} in a README variable table`);
    }
    assert.ok(settings.length >= 50, `${settings.length} variables found`);
  });

  it('passes every setting the README lists to the worker: the env file, or forced by compose', () => {
    const { worker } = loadCompose();
    assert.deepEqual(envFiles(worker), ['.env'], 'the worker reads .env (made from .env.example)');
    assert.match(read('README.md'), /cp \.env\.example \.env/, 'the README says how .env is made');
    const forced = mapping(worker.environment ?? {}, 'worker.environment');
    // HTTPS_PROXY / https_proxy are one setting, spelt two ways
    const missing = settings.filter((name) => !inExample.has(name.toUpperCase()) && !(name in forced));
    assert.deepEqual(missing, [], 'README settings neither in .env.example nor set by docker-compose.yml');
  });

  it('forces only what compose must (no hand-made list of settings), and each to its value', () => {
    const { worker, compose } = loadCompose();
    const env = mapping(worker.environment ?? {}, 'worker.environment');
    assert.deepEqual(Object.fromEntries(Object.entries(env).map(([k, v]) => [k, String(v)])), FORCED);
    assert.ok('redis' in mapping(compose.services, 'services'), 'REDIS_URL names the redis service');
    const ports = list(worker.ports, 'worker.ports').map(String);
    assert.ok(ports.some((p) => p.endsWith(`:${FORCED.HTTP_PORT}`)), `a published port reaches HTTP_PORT: ${ports.join(', ')}`);
    for (const p of ports) assert.match(p, /^127\.0\.0\.1:/, 'published on the host loopback only');
  });

  it('.env.example shows every setting commented out, with values every Compose reads alike', () => {
    assert.ok(example.length > 0, '.env.example exists and lists settings');
    const seen = new Set<string>();
    // named somewhere in the README: `NAME` or `NAME=value`
    const inReadme = new Set([...read('README.md').matchAll(/`([A-Za-z_][A-Za-z0-9_]*)(?:=[^`]*)?`/g)].map((m) => m[1]!));
    for (const s of example) {
      assert.ok(!seen.has(s.name), `${s.name} listed once (line ${s.line})`);
      seen.add(s.name);
      // An active default would pin it (WORKER_CONCURRENCY=8 would undo Salesforce's 400).
      assert.ok(s.commented, `${s.name} (line ${s.line}) is shown as #${s.name}=..., not set`);
      assert.ok(!(s.name in FORCED), `${s.name} (line ${s.line}) is set by docker-compose.yml: a value here would do nothing`);
      const secretFile = SECRET_VARS.some((v) => `${v}_FILE` === s.name);
      assert.ok(inReadme.has(s.name) || secretFile, `${s.name} (line ${s.line}) is a setting the README names`);
      // Compose v1 and v2 differ on quotes, `$` and inline comments: keep values plain.
      assert.doesNotMatch(s.value, /["'$]|\s#/, `${s.name} (line ${s.line}): no quotes, $ or inline comment`);
    }
  });

  it('.env.example names a file under the mounted /config for every secret and the mapping file', () => {
    const values = new Map(example.map((s) => [s.name, s.value]));
    const wanted = [...SECRET_VARS.filter((v) => !(v in FORCED)).map((v) => `${v}_FILE`), 'SF_MAPPING_FILE'];
    for (const name of wanted) assert.match(values.get(name) ?? '(missing)', /^\/config\/[^/]+$/, `${name} in .env.example`);
  });

  it('mounts ./config read-only on /config, ./inbox on /inbox and a named volume on /data', () => {
    const { worker, compose } = loadCompose();
    const byTarget = new Map(mounts(worker).map((m) => [m.target, m]));
    assert.deepEqual(byTarget.get('/config'), { type: 'bind', source: './config', target: '/config', readOnly: true });
    assert.deepEqual(byTarget.get('/inbox'), { type: 'bind', source: './inbox', target: '/inbox', readOnly: false });
    const data = byTarget.get('/data');
    // a named volume starts with the image's /data, and so with its owner
    assert.ok(data?.type === 'volume' && !data.readOnly, 'a writable named volume on /data');
    assert.ok(data.source in mapping(compose.volumes, 'volumes'), `volume ${data.source} is declared`);
  });

  it('keeps Redis durable: AOF on, noeviction, and the worker waits for it', () => {
    const { redis, worker } = loadCompose();
    const cmd = list(redis.command, 'redis.command').map(String).join(' ');
    assert.match(cmd, /--appendonly yes/);
    assert.match(cmd, /--maxmemory-policy noeviction/);
    assert.equal(mapping(mapping(worker.depends_on, 'depends_on').redis, 'depends_on.redis').condition, 'service_healthy');
  });

  it('the image runs as a user that is not root and owns /data and /inbox', () => {
    const steps = dockerfile(read('Dockerfile'));
    const userAt = steps.findLastIndex((s) => s.op === 'USER');
    assert.ok(userAt >= 0, 'a USER instruction');
    const user = steps[userAt]!.args.split(':')[0]!;
    assert.ok(!['root', '0'].includes(user), `runs as ${user}`);
    const made = new Set<string>();
    const owned = new Set<string>();
    // as root, before USER: the user cannot create folders at / itself
    for (const s of steps.slice(steps.findLastIndex((x) => x.op === 'FROM'), userAt)) {
      if (s.op !== 'RUN') continue;
      for (const words of commands(s.args)) {
        const args = words.slice(1).filter((w) => !w.startsWith('-'));
        if (words[0] === 'mkdir') args.forEach((a) => made.add(a));
        if (words[0] === 'chown' && args[0]?.split(':')[0] === user) args.slice(1).forEach((a) => owned.add(a));
      }
    }
    for (const dir of ['/data', '/inbox']) {
      assert.ok(made.has(dir), `the image creates ${dir}`);
      assert.ok(owned.has(dir), `${dir} is owned by ${user}`);
    }
  });

  it('the image installs production dependencies only, bounds the heap as the README says, and checks /healthz', () => {
    const steps = dockerfile(read('Dockerfile'));
    assert.ok(steps.some((s) => s.op === 'RUN' && /\bnpm ci\b.*--omit=dev/.test(s.args)), 'npm ci --omit=dev');
    const flags = /`([^`]+)` as the Dockerfile sets them/.exec(read('README.md'))?.[1];
    assert.ok(flags, 'the README names the Dockerfile V8 flags');
    assert.ok(steps.some((s) => s.op === 'ENV' && s.args.includes(`NODE_OPTIONS="${flags}"`)), `ENV NODE_OPTIONS="${flags}"`);
    const health = steps.find((s) => s.op === 'HEALTHCHECK');
    assert.ok(health && /\/healthz/.test(health.args) && /HTTP_PORT/.test(health.args), 'HEALTHCHECK on /healthz at HTTP_PORT');
    const { worker } = loadCompose();
    const test = worker.healthcheck === undefined ? undefined : mapping(worker.healthcheck, 'worker.healthcheck').test;
    assert.ok(test === undefined || /\/healthz/.test(JSON.stringify(test)), "compose keeps the image's health check");
  });

  it('.dockerignore keeps secrets, dependencies and local state out of the build, and what the image copies in', () => {
    assert.ok(existsSync(join(ROOT, '.dockerignore')), '.dockerignore exists');
    const lines = read('.dockerignore')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '' && !l.startsWith('#'));
    const out = ['.env', '.env.production', 'config/sf-private-key.pem', 'node_modules/bullmq/package.json', '.git', '.git/HEAD',
      '.tools/node24/package.json', 'data/local-crm.sqlite', 'inbox/metadata_call-1.json', 'npm-debug.log', 'coverage/lcov.info', 'test/unit/config.test.ts'];
    assert.deepEqual(out.filter((p) => !dockerIgnores(lines, p)), [], 'not excluded');
    const copied = dockerfile(read('Dockerfile'))
      .filter((s) => s.op === 'COPY' && !s.args.includes('--from'))
      .flatMap((s) => s.args.split(/\s+/).filter((w) => !w.startsWith('--')).slice(0, -1));
    assert.ok(copied.includes('src') && copied.includes('package-lock.json'), `COPY sources: ${copied.join(' ')}`);
    const lost = copied.flatMap(filesUnder).filter((p) => dockerIgnores(lines, p));
    assert.deepEqual(lost, [], 'files the Dockerfile copies must stay in the build context');
  });

  it('an env file line left empty (NAME=) does not hide NAME_FILE', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ccai-containers-'));
    try {
      writeFileSync(join(dir, 'token'), 'a-long-enough-secret-token\n');
      const c = loadConfig({ HTTP_TOKEN: '', HTTP_TOKEN_FILE: join(dir, 'token') });
      assert.equal(c.HTTP_TOKEN, 'a-long-enough-secret-token');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a NAME_FILE that compose hides by setting NAME (REDIS_URL_FILE) is said to be ignored, in the README and .env.example', () => {
    const hidden = SECRET_VARS.filter((v) => v in FORCED).map((v) => `${v}_FILE`);
    assert.ok(hidden.includes('REDIS_URL_FILE'));
    const readme = read('README.md');
    const docker = readme.slice(readme.indexOf('### Docker'), readme.indexOf('\n### ', readme.indexOf('### Docker') + 1));
    const bullets = docker.split(/\n- /);
    const paragraphs = read('.env.example').split(/\n\s*\n/);
    for (const name of hidden) {
      const says = (text: string) => text.includes(name) && /\bignored\b/.test(text);
      assert.ok(bullets.some(says), `the README's Docker section says ${name} in .env is ignored`);
      assert.ok(paragraphs.some(says), `.env.example says ${name} is ignored`);
    }
  });

  it('REDIS_URL_FILE: ignored while REDIS_URL is set; read once it is set empty, as the README says to', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ccai-containers-'));
    try {
      writeFileSync(join(dir, 'redis-url'), 'redis://:pw@redis.example.net:6380\n');
      const file = join(dir, 'redis-url');
      assert.equal(loadConfig({ REDIS_URL: FORCED.REDIS_URL!, REDIS_URL_FILE: file }).redisUrl, FORCED.REDIS_URL);
      assert.equal(loadConfig({ REDIS_URL: '', REDIS_URL_FILE: file }).redisUrl, 'redis://:pw@redis.example.net:6380');
      assert.match(read('README.md'), /REDIS_URL: ""/, 'the README gives the override');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('docker-compose config: an override with REDIS_URL: "" lets REDIS_URL_FILE from .env through', { skip: HAVE_COMPOSE ? false : 'docker-compose is not installed' }, () => {
    const dir = mkdtempSync(join(tmpdir(), 'ccai-compose-'));
    try {
      writeFileSync(join(dir, 'docker-compose.yml'), read('docker-compose.yml'));
      mkdirSync(join(dir, 'config'));
      mkdirSync(join(dir, 'inbox'));
      writeFileSync(join(dir, '.env'), 'REDIS_URL_FILE=/config/redis-url\n');
      // the README's example, taken out of its list item's indentation
      const readme = read('README.md');
      const shown = /^( *)```yaml\n((?:\1.*\n)*?)\1```$/m.exec(readme.slice(Math.max(0, readme.indexOf('# docker-compose.override.yml') - 200)));
      assert.ok(shown && shown[2]!.includes('# docker-compose.override.yml'), 'the README shows docker-compose.override.yml');
      writeFileSync(join(dir, 'docker-compose.override.yml'), shown[2]!.replace(new RegExp(`^${shown[1]!}`, 'gm'), ''));
      const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir };
      const resolve = (...files: string[]) => {
        const r = spawnSync('docker-compose', [...files.flatMap((f) => ['-f', join(dir, f)]), 'config'], { cwd: dir, env, encoding: 'utf8' });
        assert.equal(r.status, 0, r.stderr);
        const worker = mapping(mapping(mapping(parseComposeYaml(r.stdout), 'config').services, 'services').worker, 'worker');
        return mapping(worker.environment, 'worker.environment');
      };
      const plain = resolve('docker-compose.yml');
      assert.equal(plain.REDIS_URL, FORCED.REDIS_URL, 'without the override compose sets REDIS_URL: the file is ignored');
      const overridden = resolve('docker-compose.yml', 'docker-compose.override.yml');
      assert.equal(overridden.REDIS_URL, '', JSON.stringify(overridden));
      assert.equal(overridden.REDIS_URL_FILE, '/config/redis-url');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reads YAML as both Compose generations do: a value they read differently is refused', () => {
    assert.deepEqual(parseComposeYaml('a:\n  - x\n  - k: "1"\n    j: [a, "b c"]\nb:\n'), { a: ['x', { k: '1', j: ['a', 'b c'] }], b: null });
    for (const bad of ['a: yes', 'a: 0755', 'a: 22:22', 'a: 1\na: 2', 'a: [1']) {
      assert.throws(() => parseComposeYaml(bad), ComposeYamlError, bad);
    }
  });

  it('docker-compose config accepts the file once .env exists, and every setting reaches the worker', { skip: HAVE_COMPOSE ? false : 'docker-compose is not installed (the parse tests above checked the file)' }, () => {
    // A copy in a temp folder: a fresh clone has no .env, and the worktree's own is not ours to make.
    const dir = mkdtempSync(join(tmpdir(), 'ccai-compose-'));
    try {
      writeFileSync(join(dir, 'docker-compose.yml'), read('docker-compose.yml'));
      mkdirSync(join(dir, 'config'));
      mkdirSync(join(dir, 'inbox'));
      const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir };
      const config = () => spawnSync('docker-compose', ['-f', join(dir, 'docker-compose.yml'), 'config'], { cwd: dir, env, encoding: 'utf8' });

      const without = config();
      assert.notEqual(without.status, 0, 'without .env compose refuses to start');
      assert.match(without.stderr, /\.env/, 'and names the missing .env');

      // .env.example with every setting switched on
      writeFileSync(join(dir, '.env'), read('.env.example').replace(/^#([A-Za-z_][A-Za-z0-9_]*=)/gm, '$1'));
      const r = config();
      assert.equal(r.status, 0, r.stderr);
      const resolved = mapping(parseComposeYaml(r.stdout), 'docker-compose config');
      const worker = mapping(mapping(resolved.services, 'services').worker, 'worker');
      const env2 = mapping(worker.environment, 'resolved worker.environment');
      const names = new Set(Object.keys(env2).map((n) => n.toUpperCase()));
      assert.deepEqual(settings.filter((n) => !names.has(n.toUpperCase())), [], 'README settings missing from the resolved environment');
      for (const [k, v] of Object.entries(FORCED)) assert.equal(String(env2[k]), v, `${k}: compose's own value wins over .env`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
