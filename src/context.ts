/**
 * The caller's context passed to coordinator operations (the spec's AgentContext from the
 * agent foundation). qicoord reads `agentId` (the parent of every SubAgent it spawns) and
 * carries the rest through untouched.
 */
export interface AgentContext {
  readonly agentId?: string;
  readonly sessionId?: string;
  readonly timestamp?: Date;
  readonly configuration?: Record<string, unknown>;
  readonly metadata?: Record<string, unknown>;
  readonly [key: string]: unknown;
}
