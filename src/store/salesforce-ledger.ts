// The Salesforce target's ledger in Redis, shared by every worker process on one org: per
// session version, whether it was ever attempted, is being written (a claim: its flush's token
// and a lease), or is written; per Case, the newest version whose mapped fields were written or
// are being written. One script per flush claims, renews or settles all of its versions at once
// (a few milliseconds for 1,000), with Redis's own clock for every lease, so machines' clocks
// do not matter. The states, who moves them and what a crash leaves: docs/architecture.md,
// "Salesforce: exactly once".
//
// Keys (all under the queue prefix, so one hash tag keeps them on one Redis Cluster slot):
//   <prefix>:sf:since          when this ledger began (ms, Redis time); never expires
//   <prefix>:sf:v:<callObject> 'w|<token>|<lease end ms>' | 'm' (maybe written) | 'd' (written)
//                              | 'h|<ms>' (a request for it went unanswered: held until then)
//   <prefix>:sf:case:<id>      '<version ms>|<w|m|d>|<token>|<lease end ms>'
// Each version and Case key lives SF_LEDGER_DAYS after its last change.
import type { RedisClient } from './redis.ts';
import type { CaseClaim, LedgerItem, SettledItem, VersionClaim, WriteLedger } from '../targets/salesforce/ledger.ts';

/**
 * Clocks: a version's time is CCAI's (`updated_at`), the ledger's is Redis's. A version is
 * trusted to be new to the ledger only when it is this much younger than the ledger's birth
 * and than the edge of its memory, so that a skew between the two clocks cannot make a version
 * written before the ledger (or forgotten by it) look never attempted.
 */
const CLOCK_MARGIN_MS = 5 * 60_000;

/** The key holding when the ledger of a queue prefix began (tests and the benchmark set it to run in steady state). */
export function ledgerSinceKey(prefix: string): string {
  return `${prefix}:sf:since`;
}

// Shared by the scripts: Redis's time in ms, and a number as an integer string (Lua would
// print a large one in exponent notation).
const PRELUDE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local function int(x) return string.format('%d', x) end
`;

// KEYS[1]: the ledger's birth; per item i (from 0): KEYS[2+2i] the version, KEYS[3+2i] its
// Case (the version key again when it writes no Case fields). ARGV: the flush's token, the
// lease (ms), the memory (ms), the clock margin (ms); per item: ARGV[5+2i] the version (ms),
// ARGV[6+2i] '1' when it writes Case fields.
// Per item: 'done', 'busy|<ms left>', or '<version state>|<Case state>' with the version
// state 'fresh' or 'unknown' and the Case state '-', 'fresh', 'unknown', 'has' or
// 'superseded|<ms>'; a claimed version (and a claimed Case) now carries this flush's token.
const CLAIM = `${PRELUDE}
local since = tonumber(redis.call('GET', KEYS[1]) or '0')
if since == 0 then
  redis.call('SET', KEYS[1], int(now))
  since = now
end
local token, lease, keep, margin = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local untilMs = int(now + lease)
local out = {}
for i = 0, (#KEYS - 1) / 2 - 1 do
  local vkey, ckey = KEYS[2 + 2 * i], KEYS[3 + 2 * i]
  local vstr = ARGV[5 + 2 * i]
  local vms = tonumber(vstr)
  local trusted = vms >= since + margin and vms >= now - keep + margin
  local answer, vstate, cstate = nil, nil, '-'
  local cur = redis.call('GET', vkey)
  if cur == 'd' then answer = 'done'
  elseif cur == false then vstate = trusted and 'fresh' or 'unknown'
  elseif cur == 'm' then vstate = 'unknown'
  elseif string.sub(cur, 1, 2) == 'h|' then
    local u = tonumber(string.sub(cur, 3)) or 0
    if u > now then answer = 'busy|' .. int(u - now) else vstate = 'unknown' end
  else
    local tok, u = string.match(cur, '^w|(.*)|(%d+)$')
    u = tonumber(u or '0')
    -- this very flush holds it already (the same version twice in one flush): the second waits
    if tok == token then answer = 'busy|200'
    elseif u > now then answer = 'busy|' .. int(u - now) else vstate = 'unknown' end
  end
  if answer == nil and ARGV[6 + 2 * i] == '1' then
    local c = redis.call('GET', ckey)
    if c == false then cstate = trusted and 'fresh' or 'unknown'
    else
      local cv, cs, ct, cu = string.match(c, '^(%d+)|(%a)|(.*)|(%d+)$')
      cv, cu = tonumber(cv), tonumber(cu)
      if cv > vms then cstate = 'superseded|' .. int(cv)
      elseif cv == vms and cs == 'd' then cstate = 'has'
      elseif cs == 'w' and ct ~= token and cu > now then answer = 'busy|' .. int(cu - now)
      -- an older version is on record: written (d), or claimed by a trusted version; a
      -- register left by a claim whose read never happened proves nothing about the Case
      elseif cs == 'd' or trusted then cstate = 'fresh'
      else cstate = 'unknown' end
    end
  end
  if answer == nil then
    redis.call('SET', vkey, 'w|' .. token .. '|' .. untilMs, 'PX', keep)
    if cstate == 'fresh' or cstate == 'unknown' then redis.call('SET', ckey, vstr .. '|w|' .. token .. '|' .. untilMs, 'PX', keep) end
    answer = vstate .. '|' .. cstate
  end
  out[i + 1] = answer
end
return out`;

// KEYS: the flush's version and Case keys. ARGV: its token, the lease (ms). Moves the lease
// end of what still carries the token; what another attempt took over is left alone. Answers
// per key 1 (still this flush's) or 0.
const RENEW = `${PRELUDE}
local untilMs = int(now + tonumber(ARGV[2]))
local tail = '|' .. ARGV[1] .. '|'
local held = {}
for i, k in ipairs(KEYS) do
  local cur = redis.call('GET', k)
  held[i] = 0
  if cur then
    local at = string.find(cur, tail, 1, true)
    if at then
      redis.call('SET', k, string.sub(cur, 1, at + #tail - 1) .. untilMs, 'KEEPTTL')
      held[i] = 1
    end
  end
end
return held`;

// KEYS: per item i (from 0), KEYS[1+2i] the version, KEYS[2+2i] its Case. ARGV: the token,
// the memory (ms), the lease (ms); per item ARGV[3+3i] the version (ms), ARGV[4+3i] the version's outcome
// ('d' written, 'm' maybe, 'del' never reached Salesforce and was new), ARGV[5+3i] the
// Case's ('w' written, 'f' failed, 'n' none, 's<ms>' seen on the Case by a read).
// Only a claim still carrying the token is moved (one taken over by another attempt is
// theirs); what a read saw on a Case is learnt whenever it is newer and nobody is writing.
const SETTLE = `${PRELUDE}
local token, keep, lease = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local mine = 'w|' .. token .. '|'
for i = 0, #KEYS / 2 - 1 do
  local vkey, ckey = KEYS[1 + 2 * i], KEYS[2 + 2 * i]
  local vstr, vo, co = ARGV[4 + 3 * i], ARGV[5 + 3 * i], ARGV[6 + 3 * i]
  local cur = redis.call('GET', vkey)
  if cur and string.sub(cur, 1, #mine) == mine then
    if vo == 'd' then redis.call('SET', vkey, 'd', 'PX', keep)
    elseif vo == 'h' then redis.call('SET', vkey, 'h|' .. int(now + lease), 'PX', keep)
    elseif vo == 'del' then redis.call('DEL', vkey)
    else redis.call('SET', vkey, 'm', 'PX', keep) end
  end
  if co ~= 'n' then
    local c = redis.call('GET', ckey)
    local cv, cs, ct, cu = nil, nil, nil, nil
    if c then
      cv, cs, ct, cu = string.match(c, '^(%d+)|(%a)|(.*)|(%d+)$')
      cv, cu = tonumber(cv), tonumber(cu)
    end
    local ours = c and ct == token and cv == tonumber(vstr)
    if co == 'w' and ours then redis.call('SET', ckey, vstr .. '|d||0', 'PX', keep)
    elseif co == 'f' and ours then redis.call('SET', ckey, vstr .. '|m||0', 'PX', keep)
    elseif string.sub(co, 1, 1) == 's' then
      local sv = tonumber(string.sub(co, 2))
      if c == false or ct == token or (cv < sv and not (cs == 'w' and cu > now)) then
        redis.call('SET', ckey, int(sv) .. '|d||0', 'PX', keep)
      end
    end
  end
end
return 1`;

export interface SalesforceLedgerOptions {
  /** how long a claim lives without being renewed (SF_CLAIM_LEASE_MS) */
  leaseMs: number;
  /** how long a version or Case is remembered after its last change (SF_LEDGER_DAYS) */
  keepMs: number;
}

export class RedisSalesforceLedger implements WriteLedger {
  private readonly redis: RedisClient;
  private readonly prefix: string;
  private readonly sinceKey: string;
  readonly leaseMs: number;
  private readonly keepMs: number;

  constructor(redis: RedisClient, prefix: string, opts: SalesforceLedgerOptions) {
    this.redis = redis;
    this.sinceKey = ledgerSinceKey(prefix);
    this.prefix = `${prefix}:sf`;
    this.leaseMs = opts.leaseMs;
    this.keepMs = opts.keepMs;
  }

  private versionKey(callObject: string): string {
    return `${this.prefix}:v:${callObject}`;
  }

  private caseKey(item: LedgerItem): string {
    return item.caseId ? `${this.prefix}:case:${item.caseId}` : this.versionKey(item.callObject);
  }

  async claim(token: string, items: LedgerItem[]): Promise<VersionClaim[]> {
    if (items.length === 0) return [];
    const keys = [this.sinceKey];
    const args = [token, String(this.leaseMs), String(this.keepMs), String(CLOCK_MARGIN_MS)];
    for (const it of items) {
      keys.push(this.versionKey(it.callObject), this.caseKey(it));
      args.push(String(Math.trunc(it.versionMs)), it.caseId ? '1' : '0');
    }
    const answers = (await this.redis.eval(CLAIM, keys.length, ...keys, ...args)) as string[];
    return answers.map(parseClaim);
  }

  async renew(token: string, items: LedgerItem[]): Promise<boolean[]> {
    if (items.length === 0) return [];
    const keys = [...new Set(items.flatMap((it) => [this.versionKey(it.callObject), this.caseKey(it)]))];
    const held = (await this.redis.eval(RENEW, keys.length, ...keys, token, String(this.leaseMs))) as number[];
    const still = new Map(keys.map((k, i) => [k, held[i] === 1]));
    // a version is still this flush's when its claim is, and its Case register too (if it has one)
    return items.map((it) => still.get(this.versionKey(it.callObject))! && (it.caseId === null || still.get(this.caseKey(it))!));
  }

  async settle(token: string, items: SettledItem[]): Promise<void> {
    if (items.length === 0) return;
    const keys: string[] = [];
    const args = [token, String(this.keepMs), String(this.leaseMs)];
    for (const it of items) {
      keys.push(this.versionKey(it.callObject), this.caseKey(it));
      const v = it.version === 'written' ? 'd' : it.version === 'unanswered' ? 'h' : it.version === 'not-written' && it.wasFresh ? 'del' : 'm';
      const c = it.case.state === 'written' ? 'w' : it.case.state === 'failed' ? 'f' : it.case.state === 'seen' ? `s${Math.trunc(it.case.seenMs)}` : 'n';
      args.push(String(Math.trunc(it.versionMs)), v, it.caseId ? c : 'n');
    }
    await this.redis.eval(SETTLE, keys.length, ...keys, ...args);
  }
}

function parseClaim(answer: string): VersionClaim {
  if (answer === 'done') return { state: 'done' };
  const [v, c, extra] = answer.split('|');
  if (v === 'busy') return { state: 'busy', leftMs: Number(c) };
  let caseClaim: CaseClaim | null = null;
  if (c === 'superseded') caseClaim = { state: 'superseded', byMs: Number(extra) };
  else if (c === 'fresh' || c === 'unknown' || c === 'has') caseClaim = { state: c };
  return { state: v === 'fresh' ? 'fresh' : 'unknown', case: caseClaim };
}
