/**
 * What agent plugins said about themselves when probed in a sandboxed child, by file version
 * and by the settings the probe ran under. A coordinator owns one (nothing is kept per
 * process); a host creating many coordinators with the same settings may share one through
 * `CoordinatorOptions.probeCache`. Failed probes are not kept (a host short of processes or
 * file descriptors must be able to try again), except a "not an agent plugin" answer, which
 * only a new file version changes. With a `file`, successful probes are also kept on disk for
 * the next process (probe-store.ts).
 * @module
 */
import { statSync } from 'node:fs';
import type { QiError, Result } from '@qi/base';
import { success } from '@qi/base';
import { ProbeStore } from './probe-store.js';
import type { Config } from '../config/schema.js';
import type { PluginInfo } from '../subagent/instance.js';

type Probe = (file: string) => Promise<Result<PluginInfo, QiError>>;

/** The settings a probe's outcome depends on: the agents' defaults and the sandbox. */
export function probeSettingsKey(config: Config): string {
  const { isolationLevel, resourceLimits, securityConstraints } = config.defaults;
  return JSON.stringify({ isolationLevel, resourceLimits, securityConstraints, sandbox: config.sandbox });
}

export class PluginProbeCache {
  private readonly entries = new Map<string, Promise<Result<PluginInfo, QiError>>>();
  private readonly store: ProbeStore | undefined;

  /**
   * @param maxEntries oldest entries are dropped past this many.
   * @param file where successful probes are kept for other processes (e.g. `.qicoord/probes.json`); none: in memory only.
   */
  constructor(
    private readonly maxEntries = 256,
    file?: string,
  ) {
    this.store = file === undefined ? undefined : new ProbeStore(file);
  }

  /** The probe of `file` (this version of it) under `settings`, probing it on first ask. */
  probe(file: string, settings: string, probe: Probe): Promise<Result<PluginInfo, QiError>> {
    let version: number;
    try {
      version = statSync(file).mtimeMs;
    } catch {
      return probe(file);
    }
    const key = `${settings}\u0000${file}\u0000${version}`;
    let pending = this.entries.get(key);
    if (pending === undefined) {
      pending = this.stored(file, settings, probe);
      this.entries.set(key, pending);
      if (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
      void pending.then((r) => {
        if (r.tag === 'failure' && r.error.code !== 'PLUGIN_KIND' && this.entries.get(key) === pending) this.entries.delete(key);
      });
    }
    return pending;
  }

  get size(): number {
    return this.entries.size;
  }

  /** A probe kept on disk for this content and settings, else a new one (kept when it succeeds). */
  private stored(file: string, settings: string, probe: Probe): Promise<Result<PluginInfo, QiError>> {
    const key = this.store?.keyOf(file, settings);
    if (this.store === undefined || key === undefined) return probe(file);
    const known = this.store.get(key);
    if (known !== undefined) return Promise.resolve(success(known));
    return probe(file).then((r) => {
      if (r.tag === 'success') this.store!.set(key, r.value);
      return r;
    });
  }
}
