import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import type { QiError, Result } from '@qi/base';
import { failure, success } from '@qi/base';
import { qiError } from '../errors/catalogue.js';

/**
 * SHA-256 of a plugin file, as coordinator and worker compare them (PLUGIN_MISMATCH). Cached
 * per file version (size and mtime), so a busy coordinator hashes each plugin once.
 */
export class PluginHashes {
  private readonly cache = new Map<string, { version: string; sha256: string }>();

  of(file: string): Result<string, QiError> {
    try {
      const st = statSync(file);
      const version = `${st.size}:${st.mtimeMs}`;
      const cached = this.cache.get(file);
      if (cached?.version === version) return success(cached.sha256);
      const sha256 = createHash('sha256').update(readFileSync(file)).digest('hex');
      this.cache.set(file, { version, sha256 });
      return success(sha256);
    } catch (e) {
      return failure(qiError('FILE_NOT_FOUND', `cannot read agent plugin ${file}: ${e instanceof Error ? e.message : String(e)}`, { path: file }));
    }
  }
}
