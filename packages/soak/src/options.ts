import { parseArgs } from 'node:util';

export interface SoakOptions {
  /** Length of the churn phase. */
  minutes: number;
  /** Changes per second during the churn. */
  rate: number;
  /** Seconds between samples. */
  sampleSeconds: number;
  /** Workloads created before the churn; the churn keeps the population near it. */
  workloads: number;
  /** Distinct images the workloads use. */
  images: number;
  namespaces: number;
  scanners: number;
  /** How long to wait, after the churn, for the work to drain and every report to be current. */
  drainSeconds: number;
  /** Of the churn's changes; a run can be repeated with the same seed. */
  seed: number;
  json: string | undefined;
}

export const HELP = `Usage: npm run soak -- --minutes M --rate R [options]

Starts the real local stack and fleetscan's watcher, writer and scanner(s) as processes, creates
a fleet of workloads and waits until every report is current; then changes the fleet at a fixed
rate for M minutes (spec updates, image changes, creates and deletes of Deployments and
StatefulSets), sampling every service's RSS, the requests and results pending in JetStream and
the dead letters. Then it stops changing, waits for the work to drain and checks every report.
Prints the samples as a table and a verdict: RSS flat (last quarter against the first), pending
flat, no dead letter, nothing pending at the end, every report current, no orphan, no duplicate.
Exit code 0 when the verdict passes. Progress goes to stderr.

Options:
  --minutes M         length of the churn (default 10)
  --rate R            changes per second (default 2)
  --sample S          seconds between samples (default 30)
  --workloads W       fleet size the churn keeps near (default 100)
  --images I          distinct images (default 12)
  --namespaces N      namespaces the fleet is spread over (default 4)
  --scanners K        scanner replicas (default 1)
  --drain SEC         how long to wait for the drain after the churn (default 900)
  --seed N            seed of the churn's sequence (default: the clock)
  --json FILE         also write the samples, the final check and the verdict as JSON
  -h, --help          show this help
`;

/** Parses and validates the command line; throws with the option's name on a bad value. */
export function parseSoakArgs(argv: readonly string[], now = Date.now()): SoakOptions | 'help' {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      minutes: { type: 'string', default: '10' },
      rate: { type: 'string', default: '2' },
      sample: { type: 'string', default: '30' },
      workloads: { type: 'string', default: '100' },
      images: { type: 'string', default: '12' },
      namespaces: { type: 'string', default: '4' },
      scanners: { type: 'string', default: '1' },
      drain: { type: 'string', default: '900' },
      seed: { type: 'string' },
      json: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) return 'help';
  const num = (name: string, v: string, min: number, integer: boolean) => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < min || (integer && !Number.isInteger(n)))
      throw new Error(`--${name} must be ${integer ? 'an integer' : 'a number'} >= ${min}, got ${v}`);
    return n;
  };
  const positive = (name: string, v: string) => {
    const n = num(name, v, 0, false);
    if (n === 0) throw new Error(`--${name} must be more than 0, got ${v}`);
    return n;
  };
  return {
    minutes: positive('minutes', values.minutes),
    rate: positive('rate', values.rate),
    sampleSeconds: positive('sample', values.sample),
    workloads: num('workloads', values.workloads, 1, true),
    images: num('images', values.images, 2, true),
    namespaces: num('namespaces', values.namespaces, 1, true),
    scanners: num('scanners', values.scanners, 1, true),
    drainSeconds: positive('drain', values.drain),
    seed: values.seed === undefined ? now % 2 ** 31 : num('seed', values.seed, 0, true),
    json: values.json,
  };
}
