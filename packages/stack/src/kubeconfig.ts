/** Builds a kubeconfig document (JSON is valid YAML, and kubectl reads it). */
export function buildKubeconfig(opts: {
  server: string;
  caPem: string;
  token: string;
  name?: string;
}): string {
  const name = opts.name ?? 'fleetscan-local';
  return `${JSON.stringify(
    {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [
        {
          name,
          cluster: {
            server: opts.server,
            'certificate-authority-data': Buffer.from(opts.caPem).toString('base64'),
          },
        },
      ],
      users: [{ name: 'admin', user: { token: opts.token } }],
      contexts: [{ name, context: { cluster: name, user: 'admin', namespace: 'default' } }],
      'current-context': name,
    },
    null,
    2,
  )}\n`;
}
