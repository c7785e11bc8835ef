// The sample call and chat, in each shipped language, against their reviewed texts in
// test/fixtures/notes/<language>/ (scripts/note-examples.ts writes them again after a
// deliberate change; the diff is then reviewed).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { NOTE_LANGUAGES, NOTE_SAMPLES, examplePath, exampleText, renderExample } from '../helpers/note-examples.ts';
import type { NoteLanguage, NoteSample } from '../helpers/note-examples.ts';

const LANGUAGES = Object.keys(NOTE_LANGUAGES) as NoteLanguage[];
const SAMPLES = Object.keys(NOTE_SAMPLES) as NoteSample[];

describe('the sample notes in every shipped language match their reviewed texts', () => {
  for (const language of LANGUAGES) {
    for (const sample of SAMPLES) {
      it(`${sample} in ${language}`, async () => {
        const expected = await readFile(examplePath(language, sample), 'utf8');
        assert.equal(exampleText(await renderExample(language, sample)), expected);
      });
    }
  }

  it('each language writes its own words: no two catalogs give the same note', async () => {
    const texts = await Promise.all(LANGUAGES.map(async (l) => (await renderExample(l, 'call-1418')).text));
    assert.equal(new Set(texts).size, LANGUAGES.length);
  });
});
