// Copies of the shipped templates folder for tests that edit or break one, and the error a
// folder fails to load with.
import assert from 'node:assert/strict';
import { cp, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SyncError } from '../../src/errors.ts';
import { DEFAULT_NOTE_SETTINGS, DEFAULT_TEMPLATES_DIR, loadTemplates } from '../../src/render/templates.ts';
import type { NoteSettings } from '../../src/render/templates.ts';

/** A copy of the default templates in `parent`/`name`, with some files replaced (null: removed). */
export async function copyTemplates(parent: string, name: string, files: Record<string, string | null> = {}): Promise<string> {
  const dir = join(parent, name);
  await cp(DEFAULT_TEMPLATES_DIR, dir, { recursive: true });
  for (const [file, content] of Object.entries(files)) {
    if (content === null) await unlink(join(dir, file));
    else await writeFile(join(dir, file), content);
  }
  return dir;
}

/** The SyncError loading the templates of `dir` fails with; fails the test when it loads. */
export async function loadError(dir: string, settings: Partial<NoteSettings> = {}): Promise<SyncError> {
  try {
    await loadTemplates(dir, { ...DEFAULT_NOTE_SETTINGS, ...settings });
  } catch (err) {
    assert.ok(err instanceof SyncError, `expected a SyncError, got ${String(err)}`);
    return err;
  }
  assert.fail(`loadTemplates(${dir}) should have failed`);
}
