// @ts-check
// The shape of src/ as rules (issue #12; docs/architecture.md, "The rules"): each rule says why
// in its comment, which the check prints. `npm run deps` checks src/ against them;
// test/unit/dependency-rules.test.ts checks that each rule fires, on the small tree in
// test/fixtures/deps/.
//
// A rule sees where an import resolves to, not what was written: `node:fs` resolves to `fs`,
// a package to its file under node_modules/ (or under node_modules/@types/ for a type-only
// package), and an import nothing resolves stays as written (hence `no-unresolvable`, so that
// such an import cannot slip past the others). Type-only imports count (tsPreCompilationDeps).
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

const root = import.meta.dirname;

/** A regular expression for text that must match exactly. @param {string} text */
const literal = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Files inside these packages (or their @types), wherever node_modules is. @param {string[]} names */
const packages = (...names) => `(^|/)node_modules/(@types/)?(${names.map(literal).join('|')})/`;

/** Node's built-in modules, with or without `node:`. @param {string[]} names */
const builtins = (...names) => `^(node:)?(${names.map(literal).join('|')})(/|$)`;

// A deep import reaches into a library's lib/ or dist/ (`jsforce/lib/request.js`,
// `nodemailer/lib/addressparser`). A package's own entry point often lives in dist/ too, so
// the entry of each of our dependencies (its package.json `main`, which is what the cruise
// resolves a bare name to) is not a deep import.
const deep = '(^|/)node_modules/(@[^/]+/[^/]+|[^/@][^/]*)/(lib|dist)/';
const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const entries = Object.keys({ ...manifest.dependencies, ...manifest.devDependencies }).flatMap((name) => {
  /** @type {unknown} */
  let main;
  try {
    main = JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8')).main;
  } catch {
    return [];
  }
  if (typeof main !== 'string') return [];
  // `main` as the resolver reads it: a file, the file with .js added, or a folder's index.js.
  const file = [main, `${main}.js`, join(main, 'index.js')]
    .map((candidate) => join('node_modules', name, candidate))
    .find((candidate) => statSync(join(root, candidate), { throwIfNoEntry: false })?.isFile());
  return file && new RegExp(deep).test(file) ? [`(^|/)${literal(file)}$`] : [];
});

// The file allowed to reach into one library's internals: <library>-internals.ts, in that
// library's adapter folder, saying why it needs them.
const internalsFile = '^src/.+/([^/]+)-internals\\.ts$';

/**
 * These packages (type imports included) only in these folders of src/.
 * @param {string} name @param {string[]} names @param {string[]} folders @param {string} why
 * @returns {import('dependency-cruiser').IForbiddenRuleType}
 */
const sdkOnlyIn = (name, names, folders, why) => ({
  name,
  severity: 'error',
  comment: why,
  from: { path: '^src/', pathNot: `^src/(${folders.join('|')})/` },
  to: { path: packages(...names) },
});

/** @type {import('dependency-cruiser').IConfiguration} */
export default {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment:
        'An import circle in src/: these modules can only be understood, tested and moved together, and ' +
        'which one loads first decides what the other sees. Move what both need into a third module ' +
        '(shared types live with the store that owns them, not in a source or a target).',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'domain-is-pure',
      severity: 'error',
      comment:
        'src/domain/ is the pure core (reading sessions, matching tickets, enriching, our Message-IDs): ' +
        'it may import only src/domain/, src/errors.ts (the closed set of error codes: pure data every ' +
        'layer shares) and a few pure libraries (zod for the document schema, node:crypto for the HMAC ' +
        'of our Message-IDs). No config, no SDK, no I/O (node:fs, node:net, node:http, ' +
        'node:child_process...): pass what it needs in as arguments from src/pipeline/.',
      from: { path: '^src/domain/' },
      to: { pathNot: ['^src/domain/', '^src/errors\\.ts$', packages('zod'), builtins('crypto')] },
    },
    sdkOnlyIn(
      'sdk-redis-only-in-queue-and-store',
      ['bullmq', 'ioredis'],
      ['queue', 'store'],
      'bullmq and ioredis (types too) belong in src/queue/ and src/store/: the rest of the code gets a ' +
        'queue or a store from the composition root, so Redis can change in one place.',
    ),
    sdkOnlyIn(
      'sdk-jsforce-only-in-salesforce',
      ['jsforce'],
      ['targets/salesforce'],
      'jsforce (types too) belongs in src/targets/salesforce/: the rest of the code sees a Target.',
    ),
    sdkOnlyIn(
      'sdk-nodemailer-only-in-email',
      ['nodemailer'],
      ['targets/email'],
      'nodemailer (types too) belongs in src/targets/email/: the rest of the code sees a Target.',
    ),
    sdkOnlyIn(
      'sdk-imap-only-in-imap-source',
      ['imapflow', 'mailparser'],
      ['sources/imap'],
      'imapflow and mailparser (types too) belong in src/sources/imap/: the rest of the code sees parsed ' +
        'mail as our own types.',
    ),
    sdkOnlyIn(
      'sdk-gcs-only-in-gcs-source',
      ['@google-cloud/storage', '@google-cloud/pubsub'],
      ['sources/gcs'],
      '@google-cloud/storage and @google-cloud/pubsub (types too) belong in src/sources/gcs/: the rest of the ' +
        'code sees a RemoteStorage and object notices, and a worker without a bucket never loads them.',
    ),
    sdkOnlyIn(
      'sdk-sftp-only-in-sftp-source',
      ['ssh2-sftp-client', 'ssh2'],
      ['sources/sftp'],
      'ssh2-sftp-client and ssh2 (types too) belong in src/sources/sftp/: the rest of the code sees a ' +
        'RemoteStorage (src/sources/remote/storage.ts), and a worker that reads no SFTP folder never loads them.',
    ),
    sdkOnlyIn(
      'sdk-bull-board-only-in-queue',
      ['@bull-board/api', '@bull-board/express', '@bull-board/ui', 'express'],
      ['queue'],
      'bull-board (@bull-board/*) and express, which its adapter runs on (types too), belong in src/queue/ ' +
        '(board.ts, the queue board of the admin console, beside the bullmq queue it shows): the HTTP server ' +
        'gets a QueueBoard, a plain node:http handler, and stays on node:http.',
    ),
    {
      name: 'sdk-sqlite-only-in-local',
      severity: 'error',
      comment: 'node:sqlite belongs in src/targets/local/ (the local CRM): the rest of the code sees a Target.',
      from: { path: '^src/', pathNot: '^src/targets/local/' },
      to: { dependencyTypes: ['core'], path: builtins('sqlite') },
    },
    {
      name: 'config-read-by-the-root-only',
      severity: 'error',
      comment:
        'Only the composition root (src/app/) and the commands (src/cli/) read the configuration: a ' +
        'source, a target, a store, the queue or the pipeline gets its slice of it as arguments ' +
        '(e.g. SalesforceSettings, EmailSettings), so it can be built and tested without the environment.',
      from: { path: '^src/(domain|pipeline|queue|store|sources|targets|render)/' },
      to: { path: '^src/config\\.ts$' },
    },
    {
      name: 'no-smtp-server-in-src',
      severity: 'error',
      comment: 'smtp-server is a development dependency (the SMTP sink of the tests): nothing in src/ may use it.',
      from: { path: '^src/' },
      to: { path: packages('smtp-server') },
    },
    {
      name: 'no-deep-imports',
      severity: 'error',
      comment:
        "Importing a library's internals (<package>/lib/..., <package>/dist/...) ties us to files its " +
        'authors may move in any release. If it is really needed, do it in one small file per library, ' +
        'src/<adapter folder>/<library>-internals.ts (e.g. src/targets/salesforce/jsforce-internals.ts), ' +
        'which says why.',
      from: { path: '^src/', pathNot: internalsFile },
      to: { path: deep, pathNot: entries },
    },
    {
      name: 'internals-file-of-one-library',
      severity: 'error',
      comment:
        "<library>-internals.ts may reach into that library's internals only: another library's go in " +
        'its own <library>-internals.ts.',
      from: { path: internalsFile },
      to: { path: deep, pathNot: [...entries, '(^|/)node_modules/(@types/)?$1/'] },
    },
    {
      name: 'no-unresolvable',
      severity: 'error',
      comment:
        'An import the check cannot resolve to a file: the rules above see where an import resolves to, ' +
        'so an unresolved one would slip past them (and it probably does not exist).',
      from: { path: '^src/' },
      to: { couldNotResolve: true },
    },
  ],
  options: {
    // Type-only imports are dependencies too (an SDK's types tie code to the SDK).
    tsPreCompilationDeps: true,
    tsConfig: { fileName: join(root, 'tsconfig.json') },
    // node_modules is a symbolic link in a git worktree: report node_modules/..., not its target.
    preserveSymlinks: true,
    doNotFollow: { path: 'node_modules' },
  },
};
