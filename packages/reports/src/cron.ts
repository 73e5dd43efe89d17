/**
 * Five-field cron expressions (minute hour day-of-month month day-of-week), evaluated in UTC, as
 * trivy-operator evaluates a ClusterComplianceReport's spec.cron (gorhill/cronexpr via
 * utils.NextCronDuration): numbers, `*`, ranges `a-b`, steps `*\/n` and `a-b/n`, lists, month and
 * weekday names (`jan`, `sun`; 7 is Sunday too). When both day fields are restricted a day matching
 * either one matches, as in every cron. The CRD's pattern admits a subset of this.
 */

export interface CronSchedule {
  readonly expression: string;
  readonly minutes: ReadonlySet<number>;
  readonly hours: ReadonlySet<number>;
  readonly daysOfMonth: ReadonlySet<number>;
  readonly months: ReadonlySet<number>;
  readonly daysOfWeek: ReadonlySet<number>;
  readonly domRestricted: boolean;
  readonly dowRestricted: boolean;
}

export class CronError extends Error {
  override readonly name = 'CronError';
  readonly code = 'INVALID_CRON';
}

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

interface Field {
  min: number;
  max: number;
  names?: readonly string[];
  /** Value of the first name (months count from 1). */
  nameBase?: number;
}

const FIELDS: Field[] = [
  { min: 0, max: 59 },
  { min: 0, max: 23 },
  { min: 1, max: 31 },
  { min: 1, max: 12, names: MONTHS, nameBase: 1 },
  { min: 0, max: 7, names: DAYS, nameBase: 0 },
];

export function parseCron(expression: string): CronSchedule {
  const parts = expression.trim().split(/\s+/);
  if (parts.length !== 5) throw new CronError(`cron "${expression}": want 5 fields, got ${parts.length}`);
  const sets = parts.map((p, i) => parseField(p, FIELDS[i] as Field, expression));
  const dow = sets[4] as Set<number>;
  if (dow.delete(7)) dow.add(0);
  return {
    expression,
    minutes: sets[0] as Set<number>,
    hours: sets[1] as Set<number>,
    daysOfMonth: sets[2] as Set<number>,
    months: sets[3] as Set<number>,
    daysOfWeek: dow,
    domRestricted: !parts[2]?.startsWith('*'),
    dowRestricted: !parts[4]?.startsWith('*'),
  };
}

function parseField(text: string, f: Field, expression: string): Set<number> {
  const out = new Set<number>();
  const bad = (why: string) => new CronError(`cron "${expression}": field "${text}": ${why}`);
  const value = (s: string): number => {
    const named = f.names?.indexOf(s.toLowerCase()) ?? -1;
    if (named >= 0) return named + (f.nameBase ?? 0);
    if (!/^\d+$/.test(s)) throw bad(`"${s}" is not a number`);
    const n = Number(s);
    if (n < f.min || n > f.max) throw bad(`${n} is outside ${f.min}-${f.max}`);
    return n;
  };
  for (const item of text.split(',')) {
    const [range = '', stepText] = item.split('/');
    const step = stepText === undefined ? 1 : Number(stepText);
    if (!Number.isInteger(step) || step < 1) throw bad(`step "${stepText}"`);
    let lo: number;
    let hi: number;
    if (range === '*') {
      lo = f.min;
      hi = f.max;
    } else if (range.includes('-')) {
      const [a = '', b = ''] = range.split('-');
      lo = value(a);
      hi = value(b);
      if (hi < lo) throw bad(`range ${lo}-${hi} is backwards`);
    } else {
      lo = value(range);
      // `5/15` means from 5 to the end in steps, as in cron.
      hi = stepText === undefined ? lo : f.max;
    }
    for (let v = lo; v <= hi; v += step) out.add(v);
  }
  return out;
}

const MINUTE = 60_000;
/** An expression whose day never comes (`0 0 31 2 *`) is given up on after this long. */
const HORIZON_MS = 5 * 366 * 24 * 60 * MINUTE;

/** The first time strictly after `afterMs` (ms since the epoch) the schedule fires, in ms. */
export function nextCronTime(s: CronSchedule, afterMs: number): number {
  const d = new Date(Math.floor(afterMs / MINUTE) * MINUTE + MINUTE);
  const horizon = afterMs + HORIZON_MS;
  while (d.getTime() <= horizon) {
    if (!s.months.has(d.getUTCMonth() + 1)) {
      d.setUTCMonth(d.getUTCMonth() + 1, 1);
      d.setUTCHours(0, 0, 0, 0);
      continue;
    }
    if (!dayMatches(s, d)) {
      d.setUTCDate(d.getUTCDate() + 1);
      d.setUTCHours(0, 0, 0, 0);
      continue;
    }
    if (!s.hours.has(d.getUTCHours())) {
      d.setUTCHours(d.getUTCHours() + 1, 0, 0, 0);
      continue;
    }
    if (!s.minutes.has(d.getUTCMinutes())) {
      d.setUTCMinutes(d.getUTCMinutes() + 1, 0, 0);
      continue;
    }
    return d.getTime();
  }
  throw new CronError(`cron "${s.expression}" never fires`);
}

function dayMatches(s: CronSchedule, d: Date): boolean {
  const dom = s.daysOfMonth.has(d.getUTCDate());
  const dow = s.daysOfWeek.has(d.getUTCDay());
  if (s.domRestricted && s.dowRestricted) return dom || dow;
  if (s.domRestricted) return dom;
  if (s.dowRestricted) return dow;
  return true;
}
