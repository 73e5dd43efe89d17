import { connect, type NatsConnection } from '@nats-io/transport-node';

export interface ConnectOptions {
  url: string;
  /** Shown in the server's connection list (`nats server report connections`). */
  name: string;
  user?: string;
  pass?: string;
  token?: string;
  /** Told about disconnects and reconnects so /readyz reflects the connection. */
  onStatus?: (connected: boolean, detail: string) => void;
}

/** Connects with unlimited reconnects: a NATS restart must not take a service down. */
export async function connectBus(opts: ConnectOptions): Promise<NatsConnection> {
  const nc = await connect({
    servers: opts.url,
    name: opts.name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 1000,
    ...(opts.user ? { user: opts.user, pass: opts.pass } : {}),
    ...(opts.token ? { token: opts.token } : {}),
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
