import { describe, expect, it } from 'vitest';
import { isKubeError, KubeErrorCode } from './errors.ts';
import { useProxy } from './no-proxy.ts';
import { chooseProxy, proxyEnvFrom, redact } from './proxy.ts';

describe('useProxy: NO_PROXY as Go (client-go, kubectl) reads it', () => {
  it.each([
    // nothing excluded
    ['https://kube.example.com:6443', undefined, true],
    ['https://kube.example.com:6443', '', true],
    // localhost and loopback are never proxied, whatever NO_PROXY says
    ['https://localhost:6443', '', false],
    ['https://127.0.0.1:6443', '', false],
    ['https://127.9.8.7', 'other.example', false],
    ['https://[::1]:6443', '', false],
    ['https://[::ffff:127.0.0.1]:6443', '', false],
    // ... but other names under localhost are
    ['https://kube.localhost:6443', '', true],
    // * excludes everything
    ['https://kube.example.com:6443', '*', false],
    ['https://10.0.0.1', 'a.example, *', false],
    // a name: itself and its subdomains, not other names ending the same way
    ['https://example.com', 'example.com', false],
    ['https://api.example.com:6443', 'example.com', false],
    ['https://notexample.com', 'example.com', true],
    // a leading dot or *. : subdomains only
    ['https://api.example.com', '.example.com', false],
    ['https://example.com', '.example.com', true],
    ['https://api.example.com', '*.example.com', false],
    ['https://example.com', '*.example.com', true],
    // a port restricts the entry; the scheme's default port counts
    ['https://example.com:6443', 'example.com:6443', false],
    ['https://example.com', 'example.com:6443', true],
    ['https://example.com', 'example.com:443', false],
    ['http://example.com', 'example.com:80', false],
    // case, spaces and empty entries
    ['https://API.Example.COM', ' , EXAMPLE.com ,, ', false],
    // internationalised names compare in their ASCII form
    ['https://bücher.example', 'xn--bcher-kva.example', false],
    ['https://xn--bcher-kva.example', 'bücher.example', false],
    // IPv4: an address (optionally with a port) or a CIDR
    ['https://10.96.0.1', '10.96.0.1', false],
    ['https://10.96.0.1:6443', '10.96.0.1:6443', false],
    ['https://10.96.0.1', '10.96.0.1:6443', true],
    ['https://10.96.0.1', '10.0.0.0/8', false],
    ['https://11.0.0.1', '10.0.0.0/8', true],
    ['https://192.168.7.200', '192.168.7.128/25', false],
    ['https://192.168.7.100', '192.168.7.128/25', true],
    ['https://[::ffff:10.1.2.3]', '10.0.0.0/8', false],
    // IPv6: an address, [address]:port, or a CIDR
    ['https://[fd00::1]:6443', 'fd00::1', false],
    ['https://[fd00::1]:6443', '[fd00::1]:6443', false],
    ['https://[fd00::1]', '[fd00::1]:6443', true],
    ['https://[fd12:3456::1]', 'fd00::/8', false],
    ['https://[fe80::1]', 'fd00::/8', true],
    ['https://[2001:db8::10]', '2001:db8::/64', false],
    // an IPv4 host is not in an IPv6 network, and the reverse (Go's IPNet.Contains)
    ['https://10.0.0.1', '::/0', true],
    ['https://[fd00::1]', '0.0.0.0/0', true],
    // names never match IPs and IPs never names: no DNS is involved
    ['https://1.2.3.4', '2.3.4', true],
    ['https://kube.internal', '10.0.0.1', true],
    // a malformed entry is ignored, not fatal
    ['https://kube.example.com', ':6443', true],
    ['https://kube.example.com', '10.0.0.0/99', true],
  ])('%s with NO_PROXY=%j: proxied %s', (server, noProxy, proxied) => {
    expect(useProxy(new URL(server), noProxy)).toBe(proxied);
  });
});

describe('proxyEnvFrom: the variables as Go reads them', () => {
  it('prefers the upper-case name, treats an empty value as unset, and notices a CGI environment', () => {
    expect(
      proxyEnvFrom({
        HTTPS_PROXY: 'http://upper:3128',
        https_proxy: 'http://lower:3128',
        HTTP_PROXY: '',
        http_proxy: 'http://plain:3128',
        no_proxy: '.internal',
      }),
    ).toEqual({
      httpsProxy: 'http://upper:3128',
      httpProxy: 'http://plain:3128',
      noProxy: '.internal',
      cgi: false,
    });
    expect(proxyEnvFrom({ NO_PROXY: 'a', no_proxy: 'b', REQUEST_METHOD: 'GET' })).toEqual({
      httpsProxy: undefined,
      httpProxy: undefined,
      noProxy: 'a',
      cgi: true,
    });
  });
});

describe('chooseProxy', () => {
  const env = {
    httpsProxy: 'http://secure-proxy:3128',
    httpProxy: 'http://plain-proxy:8080',
    noProxy: '.internal',
  };
  const choose = (server: string, from: Parameters<typeof chooseProxy>[1]) =>
    chooseProxy(server, from, 'test')?.href;

  it('takes the proxy of the server’s scheme from the environment, unless NO_PROXY excludes the host', () => {
    expect(choose('https://kube.example.com:6443', { env })).toBe('http://secure-proxy:3128/');
    expect(choose('http://kube.example.com:8080', { env })).toBe('http://plain-proxy:8080/');
    expect(choose('https://kube.internal:6443', { env })).toBeUndefined();
    expect(choose('https://127.0.0.1:6443', { env })).toBeUndefined();
    expect(
      choose('https://kube.example.com', { env: { httpProxy: 'http://plain-proxy:8080' } }),
    ).toBeUndefined();
    expect(choose('https://kube.example.com', {})).toBeUndefined();
  });

  it('uses a cluster’s proxy-url for every host, loopback and NO_PROXY hosts included, over the environment', () => {
    const proxyUrl = 'http://cluster-proxy:3128';
    expect(choose('https://kube.example.com', { proxyUrl, env })).toBe('http://cluster-proxy:3128/');
    expect(choose('https://127.0.0.1:6443', { proxyUrl, env })).toBe('http://cluster-proxy:3128/');
    expect(choose('https://kube.internal', { proxyUrl, env })).toBe('http://cluster-proxy:3128/');
  });

  it('reads host:port as an http:// proxy and keeps https:// proxies, with credentials', () => {
    expect(choose('https://k', { env: { httpsProxy: 'proxy.corp:3128' } })).toBe('http://proxy.corp:3128/');
    expect(choose('https://k', { env: { httpsProxy: '10.0.0.5:3128' } })).toBe('http://10.0.0.5:3128/');
    expect(choose('https://k', { env: { httpsProxy: 'https://u:p%40ss@proxy.corp' } })).toBe(
      'https://u:p%40ss@proxy.corp/',
    );
  });

  it('refuses at load what it cannot use, naming where it came from and without credentials', () => {
    const refused = (server: string, from: Parameters<typeof chooseProxy>[1]) => {
      try {
        chooseProxy(server, from, 'kubeconfig x');
      } catch (err) {
        expect(isKubeError(err, KubeErrorCode.Config)).toBe(true);
        return (err as Error).message;
      }
      throw new Error('expected a CONFIG error');
    };
    expect(refused('https://k', { proxyUrl: 'socks5://u:secret@proxy:1080' })).toBe(
      'kubeconfig x: proxy-url: socks5 proxies are not supported; use an HTTP CONNECT proxy (http:// or https://)',
    );
    expect(refused('https://k', { env: { httpsProxy: 'ftp://proxy' } })).toMatch(
      /^kubeconfig x: HTTPS_PROXY \(or https_proxy\): proxy scheme "ftp" is not supported/,
    );
    expect(refused('https://k', { env: { httpsProxy: 'http://u:secret@[bad' } })).not.toContain('secret');
    // Go refuses HTTP_PROXY in a CGI environment (httpoxy); HTTPS_PROXY is unaffected.
    expect(refused('http://k', { env: { httpProxy: 'http://p:1', cgi: true } })).toMatch(/CGI environment/);
    expect(choose('https://k', { env: { httpsProxy: 'http://p:1', cgi: true } })).toBe('http://p:1/');
  });

  it('redacts credentials for messages', () => {
    expect(redact('http://user:secret@proxy:3128')).toBe('http://proxy:3128');
    expect(redact(new URL('https://proxy.corp'))).toBe('https://proxy.corp');
  });
});
