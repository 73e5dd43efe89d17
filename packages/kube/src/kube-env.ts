import { z } from 'zod';

/**
 * The variables of a service that talks to a Kubernetes API server (spread into its config
 * schema). The proxy variables are read by proxyEnvFrom as client-go reads them (the lower-case
 * names too); they are listed here for the docs.
 */
export const kubeEnv = {
  KUBECONFIG: z
    .string()
    .optional()
    .describe(
      'kubeconfig file, or files separated by ":" merged as kubectl does; unset: the in-cluster service account, then ~/.kube/config',
    ),
  HTTPS_PROXY: z
    .string()
    .optional()
    .describe(
      "proxy for an https:// API server (or https_proxy), as kubectl uses it: not for NO_PROXY hosts, localhost or loopback; a kubeconfig cluster's proxy-url wins",
    ),
  HTTP_PROXY: z.string().optional().describe('proxy for an http:// API server (or http_proxy)'),
  NO_PROXY: z
    .string()
    .optional()
    .describe(
      'hosts reached without the proxy (or no_proxy), as Go reads it: names, .domains, IPs, CIDRs, ports, *',
    ),
};
