import type { RunJournal } from '../journal/run-journal.js';
import type { RunEvent } from './run-events.js';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import type { AgentContext } from '../context.js';
import type { CoordinatorEvent } from '../events/types.js';
import type { PluginRegistry, StrategyPluginEntry } from '../plugins/registry.js';
import type { ResourceManager } from '../resources/index.js';
import type { SubAgentFactory } from '../subagent/factory.js';

/** What a run gets from its engine. */
export interface RunDeps {
  readonly factory: SubAgentFactory;
  readonly resources: ResourceManager;
  readonly strategy: StrategyPluginEntry;
  /** Agent plugins by name or capabilities (delegated subtasks are matched to them as planned ones are). */
  readonly registry: Pick<PluginRegistry, 'agentFor'>;
  readonly config: Config;
  readonly logger: Logger;
  readonly context: AgentContext;
  /** The run's directory (checkpoints). */
  readonly runDir: string;
  readonly emit: (event: CoordinatorEvent) => void;
  /** The run started an agent / the agent's process is gone (the engine routes agent events by them). */
  readonly agentStarted?: (agentId: string) => void;
  readonly agentGone?: (agentId: string) => void;
  /** Where every applied event is appended (durable runs); absent: the run is not journaled. */
  readonly journal?: RunJournal;
  /** Events of an earlier life of this run (a resume): applied before anything is dispatched. */
  readonly replay?: readonly RunEvent[];
}
