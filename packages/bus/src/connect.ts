import { readFileSync } from 'node:fs';
import {
  type Authenticator,
  connect,
  credsAuthenticator,
  type NatsConnection,
  nkeyAuthenticator,
  usernamePasswordAuthenticator,
} from '@nats-io/transport-node';

/** How a service proves who it is. Files are read at every (re)connect, so a rotated Secret is used. */
export type NatsAuth =
  | { kind: 'creds'; file: string }
  | { kind: 'nkey'; file: string }
  | { kind: 'password'; user: string; password: string }
  | { kind: 'password'; user: string; passwordFile: string };

export interface NatsTls {
  caFile?: string;
  certFile?: string;
  keyFile?: string;
}

export interface ConnectOptions {
  /** Every known server of the NATS cluster (the client learns the others from the server too). */
  servers: string | string[];
  /** Shown in the server's connection list (`nats server report connections`). */
  name: string;
  auth?: NatsAuth;
  /** Given: the connection must use TLS, verified with this CA (and a client certificate, if set). */
  tls?: NatsTls;
  /**
   * Prefix of this connection's reply subjects: the identity's own (identities.ts), the only inbox
   * its permissions let it subscribe to.
   */
  inboxPrefix?: string;
  /** Told about disconnects and reconnects so /readyz reflects the connection. */
  onStatus?: (connected: boolean, detail: string) => void;
}

export function authenticator(auth: NatsAuth): Authenticator {
  const read = (file: string) => () => readFileSync(file);
  switch (auth.kind) {
    case 'creds':
      return credsAuthenticator(read(auth.file));
    case 'nkey':
      // The seed file holds the seed's text (`SU…`), which is what the authenticator takes, as bytes.
      return nkeyAuthenticator(() => new TextEncoder().encode(readFileSync(auth.file, 'utf8').trim()));
    case 'password':
      return usernamePasswordAuthenticator(
        auth.user,
        'passwordFile' in auth ? () => readFileSync(auth.passwordFile, 'utf8').trim() : auth.password,
      );
  }
}

/** Connects with unlimited reconnects: a NATS restart, or the loss of a node, must not take a service down. */
export async function connectBus(opts: ConnectOptions): Promise<NatsConnection> {
  const nc = await connect({
    servers: opts.servers,
    name: opts.name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 1000,
    // By default a client gives up for good after two authorization errors in a row; an
    // "authentication timeout" (a server or client too busy to finish the handshake in 2 s, as when
    // a NATS node is lost under load) is one, and so is a user briefly unknown during a configuration
    // reload. A service keeps trying instead, not ready meanwhile.
    ignoreAuthErrorAbort: true,
    // Every JetStream publish is a request, and by default each one builds two Errors, stacks and all,
    // in case it fails (~1.6 % of the watcher's CPU in a cold start). Our logs keep a failed publish's
    // message, not its stack.
    noAsyncTraces: true,
    ...(opts.auth && { authenticator: authenticator(opts.auth) }),
    ...(opts.tls && { tls: { ...opts.tls } }),
    ...(opts.inboxPrefix && { inboxPrefix: opts.inboxPrefix }),
  });
  opts.onStatus?.(true, 'connected');
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect') opts.onStatus?.(false, 'disconnected from NATS');
      else if (s.type === 'reconnect') opts.onStatus?.(true, 'reconnected');
    }
  })();
  return nc;
}
