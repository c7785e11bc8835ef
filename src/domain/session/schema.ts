// The zod schema of a session metadata document, and zod issues in plain words. Pure.
//
// Tolerance rules (docs/session-metadata.md, "Tolerance rules"):
//   - unknown keys are normal: every object is a loose object, unknown keys pass through;
//   - known keys with a drifting type are coerced, not rejected: `rating`, `agent_number`,
//     `response_time_avg` (number or string), `hidden` (boolean or string);
//   - optional fields may be null anywhere; arrays that are null count as empty.
// Precise where the worker writes with a field (the ticket link, dispositions, CSAT, recording,
// agent_info): a value of the wrong type there rejects the file (INPUT_INVALID_FIELD).
// Everywhere else a value of the wrong type is dropped (read as null) with a warning.
//
// The schema is built twice from one definition: `strict`, where a soft field of the wrong
// type is an issue, and `lenient`, where it is caught and read as null. Parsing runs strict
// first; if that fails, lenient decides: a lenient failure is a precise field (reject), a
// lenient success means the strict issues were all soft fields (warnings, with exact paths).
// `id`, `call_type`/`chat_type` and `updated_at` are checked before the schema, by hand,
// because each has its own error code.
import { z } from 'zod';

type Mode = 'strict' | 'lenient';

// A number, or a string holding one (`"4"`, `" 12 "`, `"0.0"`).
const NUMERIC = /^\s*-?\d+(\.\d+)?\s*$/;

function documentSchema(mode: Mode) {
  /** A field the worker does not rely on: null when absent, null, or (lenient) of the wrong type. */
  const soft = <T extends z.ZodType>(schema: T): z.ZodType<z.output<T> | null | undefined> => {
    const s = schema.nullish();
    return (mode === 'lenient' ? s.catch(null) : s) as z.ZodType<z.output<T> | null | undefined>;
  };

  const text = z.string({ error: 'a string' });
  const numberish = z.union([z.number(), z.string().regex(NUMERIC).transform(Number)], {
    error: 'a number',
  });
  // documented drift: number or string
  const stringish = z.union([z.string(), z.number().transform(String)], { error: 'a string or a number' });
  // documented drift (`hidden`): boolean or "true"/"false"
  const flag = z.union([z.boolean(), z.string().regex(/^\s*(true|false)\s*$/i).transform((s) => s.trim().toLowerCase() === 'true')], {
    error: 'true or false',
  });
  const list = z.array(z.unknown(), { error: 'an array' });

  // agent_info, transfers[].from_agent, escalations[].from_virtual_agent, ...
  const personShape = {
    id: soft(numberish),
    name: soft(text),
    first_name: soft(text),
    last_name: soft(text),
    email: soft(text),
    agent_number: soft(stringish),
    va_alias: soft(text),
  };
  const person = z.looseObject(personShape, { error: 'an object' });
  const menuPath = z.union(
    [z.looseObject({ name: soft(text), materialized_path: soft(stringish) }), z.string()],
    { error: 'an object with name and materialized_path' },
  );
  const selectedMenu = z.union([z.looseObject({ name: soft(text), hidden: soft(flag) }), z.string()], {
    error: 'an object with a name',
  });
  const transfer = z.looseObject(
    {
      status: soft(text),
      created_at: soft(text),
      assigned_at: soft(text),
      connected_at: soft(text),
      updated_at: soft(text),
      from_agent: soft(person),
      to_agent: soft(person),
      from_virtual_agent: soft(person),
      to_virtual_agent: soft(person),
      from_menu_path: soft(menuPath),
      to_menu_path: soft(menuPath),
    },
    { error: 'an object' },
  );
  const escalation = z.looseObject(
    {
      status: soft(text),
      reason: soft(text),
      created_at: soft(text),
      escalated_at: soft(text),
      from_virtual_agent: soft(person),
      to_agent: soft(person),
    },
    { error: 'an object' },
  );
  const participant = z.looseObject(
    {
      type: soft(text),
      user_id: soft(numberish),
      end_user_id: soft(numberish),
      virtual_agent_id: soft(numberish),
      name: soft(text),
      first_name: soft(text),
      last_name: soft(text),
      email: soft(text),
    },
    { error: 'an object' },
  );
  const handleDuration = z.looseObject(
    { agent_id: soft(numberish), acw_duration: soft(numberish), response_time_avg: soft(numberish) },
    { error: 'an object' },
  );
  const virtualAgentHandleDuration = z.looseObject({ virtual_agent: soft(person) }, { error: 'an object' });
  const consumerHandleDuration = z.looseObject({ response_time_avg: soft(numberish) }, { error: 'an object' });
  const customData = z.union([z.looseObject({}), z.array(z.unknown())], { error: 'an object of {label, value} entries' });

  // Precise: the worker writes with these.
  const preciseText = z.string({ error: 'a string or null' }).nullish();
  const preciseLabel = z.union([z.string(), z.number().transform(String)], { error: 'a string or null' }).nullish();
  const disposition = z.looseObject(
    {
      code: preciseLabel,
      note: preciseLabel,
      list: soft(text),
      list_path: soft(text),
      user_id: soft(numberish),
      participant_id: soft(numberish),
      transfer_id: soft(numberish),
    },
    { error: 'an object' },
  );

  const endUser = z.looseObject(
    {
      id: soft(numberish),
      identifier: soft(stringish),
      out_contact_id: soft(stringish),
      name: soft(text),
      first_name: soft(text),
      last_name: soft(text),
      email: soft(text),
    },
    { error: 'an object' },
  );

  return z.looseObject(
    {
      lang: soft(text),
      call_type: soft(text),
      chat_type: soft(text),
      session_type: soft(text),
      session_type_v2: soft(text),
      status: soft(text),
      created_at: soft(text),
      queued_at: soft(text),
      assigned_at: soft(text),
      connected_at: soft(text),
      ends_at: soft(text),
      scheduled_at: soft(text),
      wait_duration: soft(numberish),
      call_duration: soft(numberish),
      chat_duration: soft(numberish),
      hold_duration: soft(numberish),

      out_ticket_id: z.union([z.string(), z.number().transform(String)], { error: 'a string, a number or null' }).nullish(),
      out_ticket_url: preciseText,
      is_out_ticket_account: soft(flag),

      dispositions: z.array(disposition, { error: 'an array of objects or null' }).nullish(),
      rating: z
        .union([z.number(), z.literal('').transform(() => null), z.string().regex(NUMERIC).transform(Number)], {
          error: 'a whole number from 1 to 5, a numeric string or null',
        })
        .nullish(),
      has_feedback: soft(flag),
      feedback: preciseText,
      recording_url: preciseText,
      recording_permission: soft(text),
      agent_info: z.looseObject(personShape, { error: 'an object or null' }).nullish(),

      answer_type: soft(text),
      support_number: soft(text),
      outbound_number: soft(text),
      selected_menu: soft(selectedMenu),
      menu_path: soft(menuPath),
      queue_priority_level: soft(numberish),
      transfers: soft(z.array(soft(transfer), { error: 'an array' })),
      escalations: soft(z.array(soft(escalation), { error: 'an array' })),
      deflection: soft(text),
      deflection_details: soft(list),
      voicemail_reason: soft(text),
      disconnected_by: soft(text),
      fail_reason: soft(text),
      participants: soft(z.array(soft(participant), { error: 'an array' })),
      handle_durations: soft(z.array(soft(handleDuration), { error: 'an array' })),
      virtual_agent_handle_durations: soft(z.array(soft(virtualAgentHandleDuration), { error: 'an array' })),
      consumer_handle_durations: soft(z.array(soft(consumerHandleDuration), { error: 'an array' })),
      verified: soft(flag),
      photos: soft(list),
      videos: soft(list),
      smart_action_text: z.unknown().optional(),
      in_call_sms: soft(list),
      wait_time_sms: soft(list),
      custom_data_not_secured: soft(customData),
      custom_data_secured: soft(customData),
      end_user: soft(endUser),
      email: soft(text),
      message_count: soft(numberish),
      average_response_time: soft(numberish),
      longest_response_time: soft(numberish),
      transcript: soft(flag),
      recordings: soft(list),
    },
    { error: 'an object' },
  );
}

const STRICT = documentSchema('strict');
const LENIENT = documentSchema('lenient');

/** The document as the schema reads it (lenient: soft fields of the wrong type are null). */
export type SessionDocument = z.output<typeof LENIENT>;
export type PersonDoc = NonNullable<SessionDocument['agent_info']>;
export type MenuPathDoc = NonNullable<SessionDocument['menu_path']>;

export type SchemaResult =
  | { ok: true; doc: SessionDocument; /** soft fields dropped, with their paths */ dropped: Array<{ field: string; message: string }> }
  | { ok: false; field: string; message: string };

/** Validates a parsed JSON object against the document schema. Never throws. */
export function readDocument(value: Record<string, unknown>): SchemaResult {
  const strict = STRICT.safeParse(value, { reportInput: true });
  if (strict.success) return { ok: true, doc: strict.data, dropped: [] };
  const lenient = LENIENT.safeParse(value, { reportInput: true });
  if (!lenient.success) {
    const issue = lenient.error.issues[0]!;
    return { ok: false, field: formatPath(issue.path), message: issueMessage(issue) };
  }
  // A dropped field is a warning, and warnings go to the log, `status` and HTTP answers: they
  // say what kind of value was found, never the value (it may be personal data, a secured
  // custom field the admin keeps off the ticket, a customer's comment).
  return { ok: true, doc: lenient.data, dropped: strict.error.issues.map((i) => ({ field: formatPath(i.path), message: `${issueMessage(i, describeKind)}; ignored` })) };
}

/** `['dispositions', 1, 'note']` → `dispositions[1].note`; odd keys are quoted: `custom["a b"]`. */
export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else if (typeof p === 'string' && /^[A-Za-z_$][\w$-]*$/.test(p)) out += out === '' ? p : `.${p}`;
    else out += `[${JSON.stringify(String(p))}]`;
  }
  return out || '(the document)';
}

/** One zod issue as `dispositions[1].note must be a string or null, found an object`. */
export function issueMessage(issue: z.core.$ZodIssue, describe: (v: unknown) => string = describeValue): string {
  const field = formatPath(issue.path);
  // every schema above sets `error` to the words for what it expects; zod's own wording
  // ("Invalid input: ...") only shows up if a schema was left without one
  if ((issue.code === 'invalid_type' || issue.code === 'invalid_union') && !issue.message.startsWith('Invalid')) {
    return `${field} must be ${issue.message}, found ${describe(issue.input)}`;
  }
  return `${field}: ${issue.message} (found ${describe(issue.input)})`;
}

/** A value's kind and size, without the value: `a string of 38 characters`, `a number`. */
export function describeKind(v: unknown): string {
  if (typeof v === 'string') return v === '' ? 'an empty string' : `a string of ${v.length} character${v.length === 1 ? '' : 's'}`;
  if (typeof v === 'number') return Number.isFinite(v) ? 'a number' : 'a number out of range';
  if (typeof v === 'boolean') return 'a boolean';
  return describeValue(v); // null, arrays (by count) and objects never show content
}

/** A value in words, short enough for a message: `a string ("abc")`, `an array of 3 items`. */
export function describeValue(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return v.length === 0 ? 'an empty array' : `an array of ${v.length} item${v.length === 1 ? '' : 's'}`;
  switch (typeof v) {
    case 'string':
      return v === '' ? 'an empty string' : `a string (${quote(v)})`;
    case 'number':
      // 1e999 in JSON parses as Infinity: a number, but not one anything can use
      return Number.isFinite(v) ? `a number (${v})` : `a number out of range (${v})`;
    case 'boolean':
      return `a boolean (${v})`;
    case 'object':
      return 'an object';
    default:
      return typeof v;
  }
}

/** A string quoted and escaped (control characters shown as escapes), cut at 40 characters. */
export function quote(s: string): string {
  const cut = s.length > 40 ? `${s.slice(0, 40)}…` : s;
  return JSON.stringify(cut);
}
