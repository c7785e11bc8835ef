// Timestamps in session metadata files. Pure.
//
// docs/session-metadata.md ("Field notes", timestamps): ISO-8601 with milliseconds, usually in
// the tenant's local offset (`2026-03-23T13:12:51.000-07:00`), sometimes `Z`. We normalise to
// UTC `toISOString()` so versions compare as strings and as numbers. The calendar is checked
// by hand: `Date.parse` would quietly roll `2026-02-30` over to March 2.

export type TimestampResult =
  | {
      ok: true;
      iso: string;
      ms: number;
      /** true when the text had no offset and was read as UTC */
      assumedUtc: boolean;
      /** the offset the text carried, in minutes east of UTC (`-07:00` is -420, `Z` is 0); null when it had none */
      offsetMinutes: number | null;
    }
  | { ok: false; reason: string };

// date, `T` (or a space), time with optional seconds and fraction, optional offset
const ISO_RE =
  /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?(?:([Zz])|([+-])(\d{2})(?::?(\d{2}))?)?$/;

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

/** Parses an ISO-8601 timestamp as the files write them; explains why when it cannot. */
export function parseTimestamp(text: string): TimestampResult {
  const m = ISO_RE.exec(text.trim());
  if (!m) {
    return { ok: false, reason: 'it is not an ISO-8601 date and time such as 2026-03-23T13:12:51.000-07:00' };
  }
  const [, y, mo, d, h, mi, s, frac, zulu, sign, oh, om] = m;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h);
  const minute = Number(mi);
  const second = s === undefined ? 0 : Number(s);
  const millis = frac === undefined ? 0 : Number(frac.padEnd(3, '0').slice(0, 3));

  if (month < 1 || month > 12) return { ok: false, reason: `month ${month} does not exist` };
  if (day < 1 || day > daysInMonth(year, month)) {
    return { ok: false, reason: `${MONTHS[month - 1]} ${year} has no day ${day}` };
  }
  if (hour > 23) return { ok: false, reason: `hour ${hour} is out of range (00-23)` };
  if (minute > 59) return { ok: false, reason: `minute ${minute} is out of range (00-59)` };
  if (second > 59) return { ok: false, reason: `second ${second} is out of range (00-59)` };

  let offsetMinutes = 0;
  const hasOffset = zulu !== undefined || sign !== undefined;
  if (sign !== undefined) {
    const offH = Number(oh);
    const offM = om === undefined ? 0 : Number(om);
    // real offsets run from -12:00 to +14:00; anything past 18 hours is not an offset
    if (offH > 18 || offM > 59) return { ok: false, reason: `the UTC offset ${sign}${oh}:${om ?? '00'} is out of range` };
    offsetMinutes = (sign === '-' ? -1 : 1) * (offH * 60 + offM);
  }

  // Date.UTC maps years 0-99 to 1900-1999: for those, set the full year separately.
  let utc: number;
  if (year >= 100) utc = Date.UTC(year, month - 1, day, hour, minute, second, millis);
  else {
    const date = new Date(Date.UTC(2000, month - 1, day, hour, minute, second, millis));
    date.setUTCFullYear(year);
    utc = date.getTime();
  }
  const ms = utc - offsetMinutes * 60_000;
  if (!Number.isFinite(ms)) return { ok: false, reason: 'it is out of the range of dates' };
  return { ok: true, iso: new Date(ms).toISOString(), ms, assumedUtc: !hasOffset, offsetMinutes: hasOffset ? offsetMinutes : null };
}
