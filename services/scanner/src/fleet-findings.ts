import {
  FINDINGS_TTL,
  type Finding,
  findingIdentity,
  findingsKey,
  type ImageFindings,
  ImageFindingsSchema,
  type ImageScanData,
  isNotFound,
  MAX_FLEET_FINDINGS,
  STREAM_FLEET,
  subjects,
} from '@fleetscan/bus';
import { severityRank } from '@fleetscan/reports';
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';

const cut = (s: string, n: number) => (s.length > n ? s.slice(0, n) : s);

export interface FindingsInput {
  cluster: string;
  namespace: string;
  image: string;
  digest?: string;
  data?: Pick<ImageScanData, 'vulnerabilities' | 'scannedAt' | 'dbUpdatedAt'>;
  error?: { code: string; message: string };
  now: Date;
}

/**
 * The fleet stream's message for one image in one namespace (pure). Each finding keeps the
 * first-seen time and DB version it had in `previous` (the subject's last message), so the stream's
 * last message alone says when, and with which DB, every finding appeared: the fleet view rebuilt from the stream answers "what is
 * new" as the one that watched it happen. A new finding's time is its scan's (a DB re-match
 * included: that is when it appeared). An error keeps the previous findings: the image did not
 * change because a scan failed. Most severe first, at most MAX_FLEET_FINDINGS, the rest counted.
 */
export function buildFindings(input: FindingsInput, previous: ImageFindings | undefined): ImageFindings {
  const publishedAt = input.now.toISOString();
  const base = {
    v: 1 as const,
    cluster: input.cluster,
    namespace: input.namespace,
    image: input.image,
    ...(input.digest && { digest: input.digest }),
    publishedAt,
  };
  if (!input.data) {
    return {
      ...base,
      ...(!input.digest && previous?.digest && { digest: previous.digest }),
      status: 'error',
      error: {
        code: cut(input.error?.code ?? 'UNKNOWN', 64),
        message: cut(input.error?.message ?? '', 4000),
      },
      ...(previous?.scannedAt && { scannedAt: previous.scannedAt }),
      ...(previous?.dbUpdatedAt && { dbUpdatedAt: previous.dbUpdatedAt }),
      findings: previous?.findings ?? [],
      omitted: previous?.omitted ?? 0,
    };
  }
  const seen = new Map<string, Pick<Finding, 'firstSeen' | 'firstDb'>>();
  // Findings of another digest (a re-pushed tag) appeared with that image, not before.
  if (previous && (!previous.digest || previous.digest === input.digest)) {
    for (const f of previous.findings)
      seen.set(findingIdentity(f), { firstSeen: f.firstSeen, ...(f.firstDb && { firstDb: f.firstDb }) });
  }
  const at = input.data.scannedAt;
  const unique = new Map<string, Finding>();
  for (const v of input.data.vulnerabilities) {
    const f = {
      id: cut(v.vulnerabilityID, 128),
      severity: v.severity,
      pkg: cut(v.resource, 512),
      installed: cut(v.installedVersion, 256),
      fixed: cut(v.fixedVersion, 256),
      title: cut(v.title, 512),
    };
    const key = findingIdentity(f);
    if (!unique.has(key) && f.id) {
      const first = seen.get(key) ?? { firstSeen: at, firstDb: input.data.dbUpdatedAt };
      unique.set(key, { ...f, ...first });
    }
  }
  const all = [...unique.values()].sort(
    (a, b) =>
      severityRank(a.severity) - severityRank(b.severity) ||
      a.id.localeCompare(b.id) ||
      a.pkg.localeCompare(b.pkg),
  );
  return {
    ...base,
    status: 'ok',
    scannedAt: at,
    dbUpdatedAt: input.data.dbUpdatedAt,
    findings: all.slice(0, MAX_FLEET_FINDINGS),
    omitted: Math.max(0, all.length - MAX_FLEET_FINDINGS),
  };
}

export interface FindingsPublisher {
  publish(input: FindingsInput): Promise<void>;
}

/**
 * Publishes an image's findings to the fleet stream after reading the subject's last message (a
 * direct get). The publish expects that message to still be the subject's last, so two replicas
 * answering the same image at once cannot lose a first-seen time: the loser reads again, twice at
 * most, then publishes without the expectation.
 */
export function createFindingsPublisher(js: JetStreamClient, jsm: JetStreamManager): FindingsPublisher {
  return {
    async publish(input) {
      const subject = subjects.findings(findingsKey(input.namespace, input.image), input.cluster);
      for (let attempt = 0; ; attempt++) {
        const last = await jsm.direct
          .getMessage(STREAM_FLEET, { last_by_subj: subject })
          .catch((err: unknown) => {
            if (isNotFound(err)) return null;
            throw err;
          });
        const parsed = last ? ImageFindingsSchema.safeParse(last.json()) : undefined;
        const message = buildFindings(input, parsed?.success ? parsed.data : undefined);
        try {
          await js.publish(subject, JSON.stringify(ImageFindingsSchema.parse(message)), {
            ttl: FINDINGS_TTL,
            ...(attempt < 2 && { expect: { lastSubjectSequence: last?.seq ?? 0 } }),
          });
          return;
        } catch (err) {
          if (attempt >= 2 || !/wrong last sequence/i.test((err as Error).message)) throw err;
        }
      }
    },
  };
}
