// Where the ticket's token goes so that the helpdesk threads the e-mail onto the ticket
// (docs/crm-targets.md, "Threading an e-mail onto an existing ticket"): every helpdesk ranks an
// explicit token above headers, and a wrong or missing one silently splits the case into a new
// ticket. Pure.

export const TOKEN_STYLES = ['subject-hash', 'subject-tag', 'subject-key', 'tracking-token', 'body-token', 'headers-only'] as const;
export type TokenStyle = (typeof TOKEN_STYLES)[number];

/** What a ticket id must look like for each style's token to be recognised by the helpdesk. */
const ID_SHAPES: Record<TokenStyle, { re: RegExp; what: string }> = {
  'subject-hash': { re: /^\d+$/, what: 'a ticket number' },
  'subject-tag': { re: /^\d+$/, what: 'a ticket number' },
  'subject-key': { re: /^[A-Z][A-Z0-9_]+-\d+$/, what: 'an issue key such as ABC-123' },
  'tracking-token': { re: /^(CRM:)?\d+$/i, what: 'a tracking number such as 0001323' },
  'body-token': { re: /^\S(.*\S)?$/, what: 'a token without leading or trailing spaces' },
  'headers-only': { re: /[\s\S]*/, what: 'any id' },
};

/** Why this ticket id cannot make a token the helpdesk recognises, or null. */
export function tokenProblem(style: TokenStyle, ticketId: string): string | null {
  const shape = ID_SHAPES[style];
  return shape.re.test(ticketId)
    ? null
    : `ticket id "${ticketId}" is not ${shape.what}, so MAIL_TOKEN_STYLE=${style} would make a token the helpdesk does not recognise and it would open a NEW ticket`;
}

export interface Placed {
  subject: string;
  /** a line to put at the top of the body, or null */
  bodyLine: string | null;
}

/**
 * - subject-hash:   `[#123] subject` (Freshdesk; the classic `#123` of Zendesk)
 * - subject-tag:    `[helpdesk #123] subject` (open-source helpdesks; prefix configurable)
 * - subject-key:    `[ABC-123] subject` (Jira Service Management: the issue key in the subject)
 * - tracking-token: `subject CRM:0001323` (Dynamics 365 tracking token)
 * - body-token:     the token alone on the body's first line (Zendesk encoded id, ServiceNow watermark)
 * - headers-only:   no token; In-Reply-To/References only (Salesforce Email-to-Case)
 */
export function placeToken(style: TokenStyle, ticketId: string, subject: string, prefix = 'helpdesk'): Placed {
  const id = ticketId.replace(/[\r\n\t]/g, ' ').trim();
  switch (style) {
    case 'subject-hash':
      return { subject: `[#${id}] ${subject}`, bodyLine: null };
    case 'subject-tag':
      return { subject: `[${prefix} #${id}] ${subject}`, bodyLine: null };
    case 'subject-key':
      return { subject: `[${id}] ${subject}`, bodyLine: null };
    case 'tracking-token':
      return { subject: `${subject} ${/^CRM:/i.test(id) ? id : `CRM:${id}`}`, bodyLine: null };
    case 'body-token':
      return { subject, bodyLine: id };
    case 'headers-only':
      return { subject, bodyLine: null };
  }
}
