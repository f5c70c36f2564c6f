import type { Logger } from 'pino';
import { safeStringify } from '../util/safe-json.js';

/** Log levels an agent's records may use. */
export type AgentLogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error';

export interface LogBudgetLimits {
  /** Bytes of log records the agent may cause over its life (default: sandbox.maxOutputBytes). */
  readonly maxBytes: number;
  /** Records per second (bursts of twice that). */
  readonly recordsPerSecond: number;
}

/** Records per second one agent may cause (bursts of twice that); more are dropped and counted. */
export const AGENT_LOG_RECORDS_PER_SECOND = 100;

/**
 * What one record is charged on top of its message, its data and the logger's bindings (name,
 * agentId, agentType): about what pino adds around them (level, time, pid, the keys), so that
 * the bytes charged bound the bytes written to stderr. (Redaction can lengthen a record whose
 * data is all short secret-named values, at most about twofold.)
 */
export const LOG_RECORD_OVERHEAD_BYTES = 96;

/**
 * The log budget of one agent. Every record an agent causes in the coordinator's log — its
 * `ctx.log` records, its audit records, the broker's refusals of its tool calls — goes through
 * {@link AgentLogBudget.write}, which charges it (message, data and bindings as JSON +
 * {@link LOG_RECORD_OVERHEAD_BYTES}) against a byte budget for the agent's life and a
 * records-per-second rate. Past either, records are dropped and counted; {@link AgentLogBudget.close}
 * (when the agent's process is gone) writes the one summary record of what was dropped. Records
 * below the logger's level are neither written nor charged.
 */
export class AgentLogBudget {
  private usedBytes = 0;
  private keptRecords = 0;
  private droppedRecords = 0;
  private droppedBytes = 0;
  private tokens: number;
  private lastRefill: number;
  private closed = false;
  /** Bytes every record costs besides its message and fields. */
  private readonly overhead: number;

  constructor(
    private readonly agentId: string,
    private readonly logger: Logger,
    private readonly limits: LogBudgetLimits,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.tokens = limits.recordsPerSecond * 2;
    this.lastRefill = now();
    this.overhead = LOG_RECORD_OVERHEAD_BYTES + Buffer.byteLength(safeStringify(logger.bindings()), 'utf8');
  }

  /** Writes one record unless it is past the budget; true when written. `fields` are the record's own keys. */
  write(level: AgentLogLevel, fields: Record<string, unknown>, msg: string): boolean {
    if (!this.logger.isLevelEnabled(level)) return false;
    const bytes = this.overhead + Buffer.byteLength(safeStringify(msg), 'utf8') + Buffer.byteLength(safeStringify(fields), 'utf8');
    if (this.closed || !this.takeToken() || this.usedBytes + bytes > this.limits.maxBytes) {
      this.droppedRecords++;
      this.droppedBytes += bytes;
      return false;
    }
    this.usedBytes += bytes;
    this.keptRecords++;
    this.logger[level](fields, msg);
    return true;
  }

  /** Figures so far. */
  usage(): { keptRecords: number; keptBytes: number; droppedRecords: number; droppedBytes: number } {
    return { keptRecords: this.keptRecords, keptBytes: this.usedBytes, droppedRecords: this.droppedRecords, droppedBytes: this.droppedBytes };
  }

  /** The agent is gone: writes the summary of dropped records (once, only if any were dropped). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.droppedRecords === 0) return;
    const { maxBytes, recordsPerSecond } = this.limits;
    this.logger.warn(
      { logCap: { droppedRecords: this.droppedRecords, droppedBytes: this.droppedBytes, keptRecords: this.keptRecords, keptBytes: this.usedBytes, maxBytes, recordsPerSecond } },
      `agent ${this.agentId}: ${this.droppedRecords} log records / ${this.droppedBytes} bytes dropped after the cap (${maxBytes} bytes per agent, sandbox.maxOutputBytes; ${recordsPerSecond} records per second)`,
    );
  }

  private takeToken(): boolean {
    const now = this.now();
    const rate = this.limits.recordsPerSecond;
    this.tokens = Math.min(rate * 2, this.tokens + ((now - this.lastRefill) / 1000) * rate);
    this.lastRefill = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}
