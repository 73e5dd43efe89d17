import { KubeConfig } from '@kubernetes/client-node';
import { configError } from './kubeconfig-file.ts';

/**
 * The one module of this package that loads @kubernetes/client-node at run time, and it is only
 * ever imported lazily (connection.ts, for a user with an `auth-provider`): client-node's import
 * alone costs a service tens of MB, which the users of token, certificate and exec credentials do
 * not pay. client-node implements the oidc auth-provider as kubectl did: the id-token is used
 * until it expires, then refreshed with the refresh-token at the issuer (the refreshed tokens are
 * kept in memory only; kubectl wrote them back to the kubeconfig).
 */
export interface AuthProviderCredentials {
  /** The Authorization header value for the next request. */
  authorization(): Promise<string>;
}

export function createAuthProviderCredentials(opts: {
  /** The user's `auth-provider` mapping, as the kubeconfig has it. */
  authProvider: unknown;
  name: string;
  at: string;
}): AuthProviderCredentials {
  const kc = new KubeConfig();
  // Only this user: the server, TLS, the proxy and the connection stay ours, so client-node gets
  // a placeholder cluster it never connects to (it only builds options for one).
  kc.loadFromString(
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'cluster', cluster: { server: 'https://kubernetes.invalid' } }],
      users: [{ name: 'user', user: { 'auth-provider': opts.authProvider } }],
      contexts: [{ name: 'context', context: { cluster: 'cluster', user: 'user' } }],
      'current-context': 'context',
    }),
  );
  return {
    async authorization() {
      const request: { headers: Record<string, string> } = { headers: {} };
      try {
        await kc.applyToHTTPSOptions(request);
      } catch (err) {
        throw configError(`${opts.at}: auth-provider "${opts.name}": ${(err as Error).message}`, err);
      }
      const value = request.headers.Authorization ?? request.headers.authorization;
      if (!value) {
        throw configError(
          `${opts.at}: auth-provider "${opts.name}" gave no token (an id-token, or a refresh-token with client-id and idp-issuer-url, is needed)`,
        );
      }
      return value;
    },
  };
}
