import { globToRegExp } from '@fleetscan/service';
import { z } from 'zod';

/**
 * Which owners of a namespace an image request (and so its result) is for, by the owner's name.
 * Requests answer a namespace; a setting that applies to some of its workloads only
 * (trivy-operator's `trivy.ignorePolicy.<namespace>.<workload>` keys) makes requests that answer
 * part of it. The watcher, which resolves the settings, says which part; the writer fans a result
 * out to that part only, so two settings never fight over one report.
 */
// Limits: a glob is at most an object name long (253, a DNS subdomain); a filter names the workload
// keys of one namespace, a few in practice.
const Globs = z.array(z.string().min(1).max(253)).min(1).max(256);

export const OwnerFilterSchema = z.object({
  /** Globs (`*`, `?`) over the owner's name: the request is for owners matching one of them. */
  names: Globs.optional(),
  /** Globs over the owner's name: not for owners matching one of them (another setting covers those). */
  exceptNames: Globs.optional(),
});
export type OwnerFilter = z.infer<typeof OwnerFilterSchema>;

/** Whether an owner named `name` is one the filter is for; no filter: every owner. */
export function ownerFilterMatches(filter: OwnerFilter | undefined, name: string): boolean {
  if (!filter) return true;
  const any = (globs: readonly string[] | undefined) => (globs ?? []).some((g) => globToRegExp(g).test(name));
  return (filter.names === undefined || any(filter.names)) && !any(filter.exceptNames);
}

/** One spelling per filter ('' for none), for keys that must tell requests for different owners apart. */
export function ownerFilterKey(filter: OwnerFilter | undefined): string {
  if (!filter) return '';
  const sorted = (g: readonly string[] | undefined) => (g ? [...new Set(g)].sort() : []);
  return JSON.stringify([sorted(filter.names), sorted(filter.exceptNames)]);
}
