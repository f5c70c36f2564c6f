/**
 * Agent plugin probes kept on disk, so that a fresh `qicoord` process does not start a sandboxed
 * child (which imports the plugin and every dependency it has) only to read a name, a type and
 * capabilities it read the last time. Keyed by the plugin file's content (SHA-256), the probe
 * settings, qicoord's version and the Node version: a changed file, setting or runtime probes
 * again. Only successful probes are kept.
 *
 * The file is untrusted input like any other: bounded in size and entries, every entry checked,
 * a bad file or entry ignored (probed again), never fatal. What an entry can do is limited to
 * what a probe says: which configured plugin a subtask is matched to; the agent that runs it
 * still loads and checks the plugin itself. Writes are atomic (a temporary file renamed) and
 * best-effort: a read-only folder costs a probe, not a failure.
 * @module
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { MAX_AGENT_CONCURRENCY } from '../protocol/constants.js';
import type { PluginInfo } from '../subagent/instance.js';
import { packageVersion } from '../subagent/package-root.js';

/** Largest store file read (bytes) and most entries kept (the oldest go first). */
export const MAX_STORE_BYTES = 1024 * 1024;
export const MAX_STORE_ENTRIES = 512;

/** Where `qicoord`'s commands keep plugin probes by default, under the working directory (config `probeCache`). */
export const DEFAULT_PROBE_FILE = path.join('.qicoord', 'probes.json');

const Name = z.string().min(1).max(200);
const Info = z.strictObject({
  name: Name,
  type: z.enum(['basic', 'decision-capable', 'specialized']),
  capabilities: z.array(Name).max(100),
  description: z.string().max(65_536).optional(),
  concurrency: z.int().min(2).max(MAX_AGENT_CONCURRENCY).optional(),
});
const StoreFile = z.strictObject({ version: z.literal(1), entries: z.record(z.string().max(200), z.unknown()) });

export class ProbeStore {
  private entries: Map<string, PluginInfo> | undefined;

  constructor(readonly file: string) {}

  /** The key of `pluginFile`'s current content under `settings`; undefined when it cannot be read. */
  keyOf(pluginFile: string, settings: string): string | undefined {
    let content: Buffer;
    try {
      content = readFileSync(pluginFile);
    } catch {
      return undefined;
    }
    return createHash('sha256').update(content).update('\0').update(settings).update('\0').update(packageVersion()).update('\0').update(process.version).digest('hex');
  }

  get(key: string): PluginInfo | undefined {
    return this.load().get(key);
  }

  /** Keeps a successful probe and writes the store (best-effort). */
  set(key: string, info: PluginInfo): void {
    const entries = this.load();
    const checked = Info.safeParse(info);
    if (!checked.success) return;
    entries.delete(key);
    entries.set(key, checked.data);
    while (entries.size > MAX_STORE_ENTRIES) entries.delete(entries.keys().next().value!);
    try {
      mkdirSync(path.dirname(this.file), { recursive: true });
      const temp = `${this.file}.${process.pid}.tmp`;
      writeFileSync(temp, `${JSON.stringify({ version: 1, entries: Object.fromEntries(entries) })}\n`);
      renameSync(temp, this.file);
    } catch {
      // Best-effort: the next process probes again.
    }
  }

  private load(): Map<string, PluginInfo> {
    if (this.entries !== undefined) return this.entries;
    this.entries = new Map();
    try {
      if (statSync(this.file).size > MAX_STORE_BYTES) return this.entries;
      const parsed = StoreFile.safeParse(JSON.parse(readFileSync(this.file, 'utf8')));
      if (!parsed.success) return this.entries;
      for (const [key, value] of Object.entries(parsed.data.entries).slice(-MAX_STORE_ENTRIES)) {
        const info = Info.safeParse(value);
        if (/^[0-9a-f]{64}$/.test(key) && info.success) this.entries.set(key, info.data);
      }
    } catch {
      // Absent or unreadable: nothing stored.
    }
    return this.entries;
  }
}
