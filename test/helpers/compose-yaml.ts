// Reading docker-compose.yml as both Compose generations would. docker-compose 1.x (PyYAML)
// reads YAML 1.1, Compose v2 reads YAML 1.2: `yes`, `0755` or `22:22` mean different things
// to them. The file is parsed in both versions with the `yaml` package (strict, no duplicate
// keys) and refused where the two readings differ, so a value cannot change meaning with the
// admin's Compose.
import { parseDocument } from 'yaml';

export type YamlValue = string | number | boolean | null | YamlValue[] | { [key: string]: YamlValue };

export class ComposeYamlError extends Error {}

function parseAs(source: string, version: '1.1' | '1.2'): unknown {
  const doc = parseDocument(source, { version, strict: true, uniqueKeys: true, prettyErrors: false });
  if (doc.errors.length > 0) throw new ComposeYamlError(`YAML ${version}: ${doc.errors.map((e) => e.message).join('; ')}`);
  return doc.toJS({ maxAliasCount: 100 });
}

export function parseComposeYaml(source: string): YamlValue {
  const modern = parseAs(source, '1.2');
  const old = parseAs(source, '1.1');
  if (JSON.stringify(modern) !== JSON.stringify(old)) {
    throw new ComposeYamlError(`YAML 1.1 and 1.2 read this differently: ${JSON.stringify(old)} vs ${JSON.stringify(modern)}`);
  }
  return modern as YamlValue;
}
