/** nats-server's own counters (/varz), to put its CPU next to the traffic that caused it. */
export interface NatsTraffic {
  inMsgs: number;
  outMsgs: number;
  inBytes: number;
  outBytes: number;
}

export async function natsTraffic(monitorUrl: string): Promise<NatsTraffic | undefined> {
  try {
    const res = await fetch(`${monitorUrl}/varz`, { signal: AbortSignal.timeout(5000) });
    const v = (await res.json()) as Record<string, number>;
    return {
      inMsgs: v.in_msgs ?? 0,
      outMsgs: v.out_msgs ?? 0,
      inBytes: v.in_bytes ?? 0,
      outBytes: v.out_bytes ?? 0,
    };
  } catch {
    return undefined;
  }
}

export function trafficDelta(
  a: NatsTraffic | undefined,
  b: NatsTraffic | undefined,
): NatsTraffic | undefined {
  if (!a || !b) return undefined;
  return {
    inMsgs: b.inMsgs - a.inMsgs,
    outMsgs: b.outMsgs - a.outMsgs,
    inBytes: b.inBytes - a.inBytes,
    outBytes: b.outBytes - a.outBytes,
  };
}
