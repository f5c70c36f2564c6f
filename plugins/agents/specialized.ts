import { createHash } from 'node:crypto';
import { defineAgent, type AgentPluginContext } from 'qicoord/plugin';

/**
 * Built-in `specialized` agent: file analysis over the agent's read grants, through the brokered
 * `list` and `read` tools.
 *
 * - Expected output `stats` (input `dir`, resolved against input `root` or else the agent's first
 *   read grant beyond its workspace (config `sandbox.readPaths`); optional `pattern` — a regular
 *   expression to search for — and `hash: true`): walks the folder (skipping
 *   `node_modules`, `.git`, `dist`, `coverage`), counts files, lines and bytes per extension,
 *   lists the five largest files, the lines matching `pattern`, and a SHA-256 of every file.
 * - Expected output `report` (input `stats`: one stats object or the array of them fanned in
 *   from several subtasks): totals, one row per folder (largest first), totals per extension,
 *   the five largest files, and the pattern matches found.
 */
const SKIP = new Set(['node_modules', '.git', 'dist', 'coverage', '.cache']);
const MAX_MATCHES = 50;

interface FileRow {
  path: string;
  lines: number;
  bytes: number;
}

interface Stats {
  dir: string;
  files: number;
  lines: number;
  bytes: number;
  byExtension: Record<string, { files: number; lines: number; bytes: number }>;
  largest: FileRow[];
  matches: { path: string; line: number; text: string }[];
  hashes: Record<string, string>;
}

function join(dir: string, name: string): string {
  return dir.endsWith('/') ? `${dir}${name}` : `${dir}/${name}`;
}

async function walk(ctx: AgentPluginContext, dir: string, out: string[]): Promise<void> {
  const entries = await ctx.tools.call<string[]>('list', { path: dir });
  for (const entry of entries) {
    if (ctx.signal.aborted) return;
    if (entry.endsWith('/')) {
      if (!SKIP.has(entry.slice(0, -1))) await walk(ctx, join(dir, entry.slice(0, -1)), out);
    } else out.push(join(dir, entry));
  }
}

async function stats(ctx: AgentPluginContext): Promise<Stats> {
  // Relative folders resolve against input `root`, else the first read grant beyond the workspace.
  const granted = ctx.grants.read.find((p) => p !== ctx.workspace) ?? ctx.workspace;
  const root = typeof ctx.inputs['root'] === 'string' ? ctx.inputs['root'] : granted;
  const rel = String(ctx.inputs['dir'] ?? '.');
  const dir = rel.startsWith('/') ? rel : rel === '.' ? root : join(root, rel);
  const pattern = typeof ctx.inputs['pattern'] === 'string' ? new RegExp(ctx.inputs['pattern']) : undefined;
  const files: string[] = [];
  await walk(ctx, dir, files);
  const result: Stats = { dir, files: 0, lines: 0, bytes: 0, byExtension: {}, largest: [], matches: [], hashes: {} };
  const rows: FileRow[] = [];
  for (const [i, file] of files.entries()) {
    const text = await ctx.tools.call<string>('read', { path: file });
    const lines = text === '' ? 0 : text.split('\n').length;
    const bytes = Buffer.byteLength(text);
    const ext = /\.([A-Za-z0-9]+)$/.exec(file)?.[1] ?? '(none)';
    const bucket = (result.byExtension[ext] ??= { files: 0, lines: 0, bytes: 0 });
    bucket.files++;
    bucket.lines += lines;
    bucket.bytes += bytes;
    result.files++;
    result.lines += lines;
    result.bytes += bytes;
    rows.push({ path: file, lines, bytes });
    if (pattern !== undefined && result.matches.length < MAX_MATCHES) {
      text.split('\n').forEach((line, n) => {
        if (result.matches.length < MAX_MATCHES && pattern.test(line)) result.matches.push({ path: file, line: n + 1, text: line.trim().slice(0, 200) });
      });
    }
    if (ctx.inputs['hash'] === true) result.hashes[file] = createHash('sha256').update(text).digest('hex');
    ctx.progress((i + 1) / files.length, file);
  }
  result.largest = rows.sort((a, b) => b.bytes - a.bytes).slice(0, 5);
  return result;
}

function report(input: unknown): Record<string, unknown> {
  const all = (Array.isArray(input) ? input : [input]).filter((s): s is Stats => typeof s === 'object' && s !== null && 'files' in s);
  const rows = all.map((s) => ({ dir: s.dir, files: s.files, lines: s.lines, bytes: s.bytes })).sort((a, b) => b.bytes - a.bytes);
  const totals = rows.reduce((t, r) => ({ folders: t.folders + 1, files: t.files + r.files, lines: t.lines + r.lines, bytes: t.bytes + r.bytes }), { folders: 0, files: 0, lines: 0, bytes: 0 });
  const largest = all.flatMap((s) => s.largest).sort((a, b) => b.bytes - a.bytes).slice(0, 5);
  const byExtension: Stats['byExtension'] = {};
  for (const s of all) {
    for (const [ext, e] of Object.entries(s.byExtension)) {
      const bucket = (byExtension[ext] ??= { files: 0, lines: 0, bytes: 0 });
      bucket.files += e.files;
      bucket.lines += e.lines;
      bucket.bytes += e.bytes;
    }
  }
  const matches = all.flatMap((s) => s.matches);
  return { totals, folders: rows, byExtension, largest, matches: { count: matches.length, first: matches.slice(0, 10) } };
}

export default defineAgent({
  name: 'specialized',
  type: 'specialized',
  capabilities: ['basic-operations', 'file-analysis', 'search', 'hashing', 'report'],
  description: 'File statistics, search and hashes over a folder (list/read tools), and merged reports',
  async execute(subtask, ctx) {
    const outputs: Record<string, unknown> = {};
    for (const { name } of subtask.expectedOutputs) {
      if (name === 'report') outputs[name] = report(ctx.inputs['stats']);
      else outputs[name] = await stats(ctx);
    }
    return outputs;
  },
});
