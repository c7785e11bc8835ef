// Writes the reviewed note examples again, after a deliberate change to a template or catalog:
// test/fixtures/notes/<language>/<session>.txt for the sample call and chat in every shipped
// language. Review the diff (git diff test/fixtures/notes) before committing it: the test
// test/unit/note-examples.test.ts compares the notes with these files.
//
//   npm run note-examples
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { NOTE_LANGUAGES, NOTE_SAMPLES, examplePath, exampleText, renderExample } from '../test/helpers/note-examples.ts';
import type { NoteLanguage, NoteSample } from '../test/helpers/note-examples.ts';

for (const language of Object.keys(NOTE_LANGUAGES) as NoteLanguage[]) {
  for (const sample of Object.keys(NOTE_SAMPLES) as NoteSample[]) {
    const path = examplePath(language, sample);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, exampleText(await renderExample(language, sample)));
    console.log(path);
  }
}
