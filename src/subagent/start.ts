import type { QiError, Result } from '@qi/base';
import type { ChannelLimits } from './channel.js';
import { connectAgent, type ConnectOptions } from './connect.js';
import { residentMB } from './monitor.js';
import { AgentProcess, findNodePid } from './process.js';
import type { AgentConnection } from './transport.js';
import type { LaunchPlan } from './types.js';

export interface StartOptions extends Omit<ConnectOptions, 'measure'> {
  readonly plan: LaunchPlan;
  readonly limits: ChannelLimits;
}

/**
 * Spawns an agent process from its launch plan and takes it through the handshake
 * ({@link connectAgent}); the pid monitored is the node process below any forking wrapper.
 */
export function startProcess(options: StartOptions): Promise<Result<AgentConnection, QiError>> {
  let proc: AgentProcess | undefined;
  return connectAgent(
    (handlers) => {
      const spawned = AgentProcess.spawn(options.plan, { agentId: options.agentId, limits: options.limits, maxOutputBytes: options.maxOutputBytes, logger: options.logger, handlers });
      if (spawned instanceof AgentProcess) proc = spawned;
      return spawned;
    },
    {
      ...options,
      measure: () => {
        const pid = proc === undefined ? 0 : options.plan.nodePidDiffers ? findNodePid(proc.pid) : proc.pid;
        return { pid, baselineMB: residentMB(pid) };
      },
    },
  );
}
