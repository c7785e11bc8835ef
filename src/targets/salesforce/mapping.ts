// What is written in Salesforce, and where: one validated mapping file (SF_MAPPING_FILE) with
// defaults that work on a standard org with no custom fields (a Task per session version).
// Case fields are opt-in: an admin maps enrichment fields (see templates/README.md for the
// names) onto Case fields, and names the Case field that keeps the session version so an
// older file never overwrites newer values.
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { FIELD_NAMES } from '../../domain/enrich/fields.ts';
import { SyncError } from '../../errors.ts';

const fieldName = z.enum(FIELD_NAMES as unknown as [string, ...string[]]);
const sfField = z.string().regex(/^[A-Za-z][A-Za-z0-9_]*$/, 'a Salesforce field API name such as CCAI_CSAT__c');

const schema = z
  .object({
    task: z
      .object({
        enabled: z.boolean().default(true),
        /** Task.Status of the logged call */
        status: z.string().min(1).default('Completed'),
        /** extra Task fields from enrichment fields (the call fields are always set) */
        fields: z.record(sfField, fieldName).default({}),
      })
      .strict()
      .default({ enabled: true, status: 'Completed', fields: {} }),
    case: z
      .object({
        /** Case field -> enrichment field, e.g. { "CCAI_CSAT__c": "csat_rating" } */
        fields: z.record(sfField, fieldName).default({}),
        /** the Case field holding the session version written last (required when fields are mapped) */
        versionField: sfField.default('CCAI_Session_Version__c'),
      })
      .strict()
      .default({ fields: {}, versionField: 'CCAI_Session_Version__c' }),
    caseComment: z
      .object({ enabled: z.boolean().default(false), isPublished: z.boolean().default(false) })
      .strict()
      .default({ enabled: false, isPublished: false }),
    /** a Chatter post on the Case (FeedItem, TextPost, at most 10,000 characters) */
    feedItem: z.object({ enabled: z.boolean().default(false) }).strict().default({ enabled: false }),
  })
  .strict();

export type Mapping = z.infer<typeof schema>;

export const DEFAULT_MAPPING: Mapping = schema.parse({});

export function parseMapping(input: unknown, source = 'SF_MAPPING_FILE'): Mapping {
  const r = schema.safeParse(input);
  if (!r.success) {
    const problems = r.error.issues.map((i) => `${i.path.join('.') || '(top)'}: ${i.message}`);
    throw new SyncError('CONFIG_INVALID', `invalid Salesforce mapping (${source}):\n  - ${problems.join('\n  - ')}`);
  }
  return r.data;
}

export function loadMapping(path: string | undefined): Mapping {
  if (!path) return DEFAULT_MAPPING;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new SyncError('CONFIG_INVALID', `cannot read the Salesforce mapping ${path}: ${(err as NodeJS.ErrnoException).code ?? 'not valid JSON'}`);
  }
  return parseMapping(raw, path);
}

/** Field names by object that the mapping writes, for the start-up describe check. */
export function mappedFields(m: Mapping): { Task: { create: string[] }; Case: { update: string[] }; CaseComment: { create: string[] }; FeedItem: { create: string[] } } {
  const task = m.task.enabled
    ? ['WhatId', 'Subject', 'Description', 'Status', 'ActivityDate', 'CallObject', 'CallDurationInSeconds', 'CallDisposition', 'CallType', ...Object.keys(m.task.fields)]
    : [];
  const caseFields = Object.keys(m.case.fields);
  return {
    Task: { create: task },
    Case: { update: caseFields.length ? [...caseFields, m.case.versionField] : [] },
    CaseComment: { create: m.caseComment.enabled ? ['ParentId', 'CommentBody', 'IsPublished'] : [] },
    FeedItem: { create: m.feedItem.enabled ? ['ParentId', 'Body', 'Type'] : [] },
  };
}
