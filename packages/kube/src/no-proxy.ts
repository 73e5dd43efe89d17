import { isIPv6 } from 'node:net';
import { domainToASCII } from 'node:url';

/**
 * NO_PROXY as Go's golang.org/x/net/http/httpproxy reads it (what client-go and kubectl use):
 * comma-separated entries, case-insensitive, each one of
 *   `*`                    nothing is proxied;
 *   `10.0.0.0/8`, `fd00::/8`  a CIDR (IPv4 or IPv6);
 *   `10.1.2.3`, `[::1]:6443`  an IP, optionally with a port;
 *   `example.com[:port]`   that name and every subdomain;
 *   `.example.com`, `*.example.com`  subdomains only.
 * A name entry never matches an IP host and an IP entry never a name (no DNS is involved), and
 * `localhost` and loopback addresses are never proxied, whatever the list says.
 */
export function useProxy(server: URL, noProxy: string | undefined): boolean {
  const host = hostnameOf(server);
  const port = server.port || DEFAULT_PORTS[server.protocol] || '';
  if (host === 'localhost') return false;
  const ip = parseIp(host);
  if (ip && isLoopback(ip)) return false;
  const matchers = parseNoProxy(noProxy ?? '');
  return !matchers.some((m) => m(host, port, ip));
}

const DEFAULT_PORTS: Record<string, string> = { 'http:': '80', 'https:': '443' };

/** A URL's host as Go's url.Hostname(): lower case (WHATWG already made it ASCII), IPv6 without brackets. */
function hostnameOf(url: URL): string {
  const h = url.hostname.toLowerCase();
  return h.startsWith('[') && h.endsWith(']') ? h.slice(1, -1) : h;
}

/** Whether a request to (host, port) skips the proxy; `ip` is the host parsed as an IP, if it is one. */
type Matcher = (host: string, port: string, ip: Ip | undefined) => boolean;

export function parseNoProxy(list: string): Matcher[] {
  const out: Matcher[] = [];
  for (const raw of list.split(',')) {
    const p = raw.trim().toLowerCase();
    if (!p) continue;
    if (p === '*') return [() => true];
    const cidr = parseCidr(p);
    if (cidr) {
      out.push((_h, _p, ip) => ip !== undefined && cidrContains(cidr, ip));
      continue;
    }
    const split = splitHostPort(p);
    const host = split ? split.host : p;
    const port = split ? split.port : '';
    if (!host) continue; // ":80": no host part, malformed; ignored as Go does
    const ip = parseIp(host);
    if (ip) {
      out.push(
        (_h, reqPort, reqIp) => reqIp !== undefined && ipEqual(ip, reqIp) && (!port || port === reqPort),
      );
      continue;
    }
    // foo.com matches foo.com and bar.foo.com; .foo.com and *.foo.com only subdomains.
    let suffix = host.startsWith('*.') ? host.slice(1) : host;
    const matchHost = !suffix.startsWith('.');
    if (matchHost) suffix = `.${suffix}`;
    const ascii = domainToASCII(suffix.slice(1));
    if (ascii) suffix = `.${ascii}`;
    out.push(
      (reqHost, reqPort, reqIp) =>
        reqIp === undefined &&
        (reqHost.endsWith(suffix) || (matchHost && reqHost === suffix.slice(1))) &&
        (!port || port === reqPort),
    );
  }
  return out;
}

/** Go's net.SplitHostPort: "host:port" or "[v6]:port"; undefined when there is no port. */
function splitHostPort(s: string): { host: string; port: string } | undefined {
  if (s.startsWith('[')) {
    const end = s.indexOf(']');
    if (end < 0 || s[end + 1] !== ':') return undefined;
    return { host: s.slice(1, end), port: s.slice(end + 2) };
  }
  const i = s.lastIndexOf(':');
  if (i < 0 || s.slice(0, i).includes(':')) return undefined;
  return { host: s.slice(0, i), port: s.slice(i + 1) };
}

/**
 * An IP as Go's net.IP compares them: an IPv4 address and its IPv4-mapped IPv6 form are the same
 * address (`v4` set); other IPv6 addresses are 16 bytes.
 */
interface Ip {
  bytes: number[];
  v4: boolean;
}

export function parseIp(s: string): Ip | undefined {
  const v4 = parseV4(s);
  if (v4) return { bytes: v4, v4: true };
  if (s.includes('%') || !isIPv6(s)) return undefined;
  const bytes = parseV6(s);
  if (!bytes) return undefined;
  const mapped = bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff;
  return mapped ? { bytes: bytes.slice(12), v4: true } : { bytes, v4: false };
}

/** Dotted decimal, four parts, no leading zeros (Go rejects them since 1.17). */
function parseV4(s: string): number[] | undefined {
  const parts = s.split('.');
  if (parts.length !== 4) return undefined;
  const out: number[] = [];
  for (const p of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p)) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    out.push(n);
  }
  return out;
}

/** 16 bytes of an address `isIPv6` accepted: `::` expanded, a trailing dotted IPv4 as two groups. */
function parseV6(s: string): number[] | undefined {
  const groups = (part: string): number[] | undefined => {
    const out: number[] = [];
    for (const g of part ? part.split(':') : []) {
      if (g.includes('.')) {
        const v4 = parseV4(g);
        if (!v4) return undefined;
        out.push(((v4[0] ?? 0) << 8) | (v4[1] ?? 0), ((v4[2] ?? 0) << 8) | (v4[3] ?? 0));
      } else {
        out.push(Number.parseInt(g, 16));
      }
    }
    return out;
  };
  const gap = s.indexOf('::');
  const head = groups(gap < 0 ? s : s.slice(0, gap));
  const tail = groups(gap < 0 ? '' : s.slice(gap + 2));
  if (!head || !tail) return undefined;
  const fill = 8 - head.length - tail.length;
  if (fill < 0 || (gap < 0 && fill !== 0)) return undefined;
  const all = [...head, ...new Array<number>(fill).fill(0), ...tail];
  return all.flatMap((g) => [g >> 8, g & 0xff]);
}

function isLoopback(ip: Ip): boolean {
  if (ip.v4) return ip.bytes[0] === 127;
  return ip.bytes.every((b, i) => b === (i === 15 ? 1 : 0));
}

function ipEqual(a: Ip, b: Ip): boolean {
  return a.v4 === b.v4 && a.bytes.every((x, i) => x === b.bytes[i]);
}

interface Cidr {
  net: Ip;
  bits: number;
}

/** Go's net.ParseCIDR: an IP literal and a prefix length that fits its family. */
function parseCidr(s: string): Cidr | undefined {
  const slash = s.indexOf('/');
  if (slash < 0) return undefined;
  const addr = s.slice(0, slash);
  const len = s.slice(slash + 1);
  if (!/^[0-9]{1,3}$/.test(len)) return undefined;
  // Go keeps the family the address was written in: "::ffff:10.0.0.0/104" is an IPv6 network.
  const v4 = parseV4(addr);
  const net: Ip | undefined = v4
    ? { bytes: v4, v4: true }
    : !addr.includes('%') && isIPv6(addr)
      ? (() => {
          const b = parseV6(addr);
          return b && { bytes: b, v4: false };
        })()
      : undefined;
  if (!net) return undefined;
  const bits = Number(len);
  if (bits > net.bytes.length * 8) return undefined;
  return { net, bits };
}

/** Go's IPNet.Contains: an IPv4 (or IPv4-mapped) address is only in an IPv4 network, and vice versa. */
function cidrContains(c: Cidr, ip: Ip): boolean {
  if (c.net.v4 !== ip.v4) return false;
  for (let bit = 0; bit < c.bits; bit++) {
    const mask = 0x80 >> (bit % 8);
    const i = bit >> 3;
    if (((c.net.bytes[i] ?? 0) & mask) !== ((ip.bytes[i] ?? 0) & mask)) return false;
  }
  return true;
}
