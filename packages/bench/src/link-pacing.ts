/**
 * When bytes leave a shaped link (pure; shaped-link.ts moves them). A SIMULATION of a remote
 * registry: each connection gets at most `connBytesPerSec` (a TCP stream held back by its window
 * and round trip), all connections together at most `totalBytesPerSec` (the link), and every byte
 * arrives `oneWayMs` after it left (half the round trip). A chunk leaves when both its connection
 * and the link have sent what came before it and had time for it.
 */
export interface LinkShape {
  connBytesPerSec: number;
  totalBytesPerSec: number;
  oneWayMs: number;
}

export interface Pacer {
  /** The time (ms) a chunk of `bytes` read at `now` is delivered on the other side. */
  deliverAt(bytes: number, now: number): number;
}

/** The whole link's clock, shared by the connections' pacers. */
export interface LinkClock {
  /** A pacer for one direction of one connection. */
  connection(): Pacer;
  /** Bytes delivered, or scheduled, in total. */
  readonly bytes: number;
}

export function createLinkClock(shape: LinkShape): LinkClock {
  let linkFree = 0;
  let bytes = 0;
  return {
    connection() {
      let connFree = 0;
      return {
        deliverAt(n, now) {
          connFree = Math.max(connFree, now) + (n * 1000) / shape.connBytesPerSec;
          linkFree = Math.max(linkFree, now) + (n * 1000) / shape.totalBytesPerSec;
          bytes += n;
          // In order per connection: connFree only grows, and the link's share is taken once.
          return Math.max(connFree, linkFree) + shape.oneWayMs;
        },
      };
    },
    get bytes() {
      return bytes;
    },
  };
}

export const MB = 1024 * 1024;

/** The link of a --scale-out run from its options (MB/s and ms). */
export function linkShape(o: { connMbps: number; totalMbps: number; rttMs: number }): LinkShape {
  return { connBytesPerSec: o.connMbps * MB, totalBytesPerSec: o.totalMbps * MB, oneWayMs: o.rttMs / 2 };
}
