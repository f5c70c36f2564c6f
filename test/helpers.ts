import { chmodSync, mkdtempSync, mkdirSync, realpathSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { QiError, Result } from '@qi/base';

/**
 * A fresh temp dir (realpath'd), with a package.json so config search stops there. Mode 0755 like
 * a user's project (mkdtemp makes 0700): under a root coordinator agents run as an unprivileged
 * user, who must be able to read the plugins kept here.
 */
export function tempProject(prefix = 'qicoord-test-'): string {
  const dir = realpathSync(mkdtempSync(path.join(os.tmpdir(), prefix)));
  chmodSync(dir, 0o755);
  writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'fixture', private: true }));
  return dir;
}

/** Writes files (relative path → content) under dir, creating folders. */
export function writeFiles(dir: string, files: Record<string, string>): void {
  for (const [rel, content] of Object.entries(files)) {
    const file = path.join(dir, rel);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, content);
  }
}

export function ok<T>(r: Result<T, QiError>): T {
  if (r.tag === 'failure') throw new Error(`expected success, got [${r.error.code}] ${r.error.message}`);
  return r.value;
}

export function err<T>(r: Result<T, QiError>): QiError {
  if (r.tag === 'success') throw new Error(`expected failure, got success`);
  return r.error;
}

/** The `path: message` lines of an error's context.issues. */
export function issueLines(e: QiError): string[] {
  const issues = (e.context['issues'] ?? []) as { path: string; message: string }[];
  return issues.map((i) => `${i.path}: ${i.message}`);
}
