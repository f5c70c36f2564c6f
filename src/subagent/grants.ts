import path from 'node:path';
import type { LaunchInput } from './types.js';

/** The file-system grants of one SubAgent: either everything, or exact directories/files. */
export interface FsGrants {
  /** fileSystemAccess 'full': `--allow-fs-read=*` and `--allow-fs-write=*`. */
  readonly full: boolean;
  /** Minimal read grants (deduplicated, ancestor-covered paths dropped); empty when `full`. */
  readonly read: readonly string[];
  /** Minimal write grants; empty when `full` or for 'read-only'. */
  readonly write: readonly string[];
}

/** Normalizes a grant path: `.`/`..` segments resolved, no trailing separator (except the root). */
export function normalizeGrant(p: string): string {
  const normalized = path.normalize(p);
  return normalized.length > 1 && normalized.endsWith(path.sep) ? normalized.slice(0, -1) : normalized;
}

/**
 * True when a grant on `dir` covers `p`: the same path or anything below it.
 * Compares with a trailing separator, so `/tmp/sbx` covers `/tmp/sbx/a` but not `/tmp/sbx2`.
 */
export function coversPath(dir: string, p: string): boolean {
  if (dir === p) return true;
  const prefix = dir.endsWith(path.sep) ? dir : dir + path.sep;
  return p.startsWith(prefix);
}

/** Normalized, deduplicated paths in first-seen order, minus those covered by another path in the list. */
export function minimalGrants(paths: readonly string[]): string[] {
  const unique = [...new Set(paths.map(normalizeGrant))];
  return unique.filter((p) => !unique.some((other) => other !== p && coversPath(other, p)));
}

/** Every path that becomes a grant or a bind mount, in the order they are granted. */
function grantSources(input: LaunchInput): string[] {
  return [
    input.bootstrapPath,
    ...input.runtimeReadPaths,
    ...input.pluginReadPaths,
    input.workspace,
    ...input.extraReadPaths,
    ...input.extraWritePaths,
  ];
}

/**
 * The first grant path that is unsafe to pass to `--allow-fs-*`: relative (it would resolve against
 * the child's cwd), or containing `,` (a list separator on older Node) or `*` (a wildcard). None → undefined.
 */
export function invalidGrantPath(input: LaunchInput): string | undefined {
  return grantSources(input).find((p) => !path.isAbsolute(p) || p.includes(',') || p.includes('*'));
}

/** The file-system grants for the spec's `fileSystemAccess` (see {@link FsGrants}). */
export function fsGrants(input: LaunchInput): FsGrants {
  const access = input.spec.securityConstraints.fileSystemAccess;
  if (access === 'full') return { full: true, read: [], write: [] };
  const read = minimalGrants([
    path.dirname(input.bootstrapPath),
    ...input.runtimeReadPaths,
    ...input.pluginReadPaths,
    input.workspace,
    ...input.extraReadPaths,
  ]);
  const write = access === 'restricted' ? minimalGrants([input.workspace, ...input.extraWritePaths]) : [];
  return { full: false, read, write };
}

/** Node permission flags for the grants: one flag per path, never a comma list, `*` only for 'full'. */
export function fsGrantFlags(grants: FsGrants): string[] {
  if (grants.full) return ['--allow-fs-read=*', '--allow-fs-write=*'];
  return [...grants.read.map((p) => `--allow-fs-read=${p}`), ...grants.write.map((p) => `--allow-fs-write=${p}`)];
}
