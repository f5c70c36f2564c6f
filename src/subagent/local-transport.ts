import type { QiError, Result } from '@qi/base';
import { failure, success } from '@qi/base';
import { qiError } from '../errors/catalogue.js';
import type { SubAgentSpecification } from '../schemas/spec.js';
import { AgentCgroup, type CgroupHost, detectCgroups, removeCgroupParents } from './cgroups.js';
import { buildAgentEnv } from './env.js';
import { FdHeadroom, spawnThrew } from './fd-headroom.js';
import { detectHost } from './host.js';
import { agentIdentity, unreadablePath, untraversableAncestors } from './identity.js';
import { planLaunch } from './launch.js';
import { runtimePaths, type RuntimePaths } from './package-root.js';
import type { PluginSource } from './plugin-source.js';
import { startProcess } from './start.js';
import { findEscapingLinks } from './symlinks.js';
import type { AgentConnection, AgentTransport, StartRequest } from './transport.js';
import { createWorkspace, removeWorkspace } from './workspace.js';

/** Memory a `sandbox` agent's cgroup allows on top of maxMemoryMB: the Node runtime itself. */
const CGROUP_RUNTIME_MB = 64;
/** Processes (and threads) one `sandbox` agent may have at once: Node's own threads and some room. */
const CGROUP_MAX_PIDS = 256;

/** What an agent may read and write, as its plugin sees it (ctx.grants). */
export function agentGrants(spec: SubAgentSpecification, workspace: string, sandbox: StartRequest['sandbox']): { read: string[]; write: string[] } {
  const fs = spec.securityConstraints.fileSystemAccess;
  return { read: [workspace, ...sandbox.readPaths], write: fs === 'read-only' ? [] : [workspace, ...sandbox.writePaths] };
}

/** The local sandboxed child: the default transport. */
export function localTransport(): AgentTransport {
  return new LocalTransport();
}

/**
 * Agents as sandboxed Node child processes on this host: a workspace, the launch plan derived
 * from the specification (flags, wrappers, identity, seccomp, cgroup), the spawn, and the capped
 * channel on fd 3. Spawns are refused while the coordinator is short of file descriptors.
 */
class LocalTransport implements AgentTransport {
  readonly kind = 'local';
  /** Where agent cgroups can be made; detected on the first `sandbox` agent (undefined: not yet). */
  private cgroupHost: CgroupHost | null | undefined;
  /** Every agent cgroup made (removing one twice is harmless): close() waits until all are gone. */
  private readonly cgroups = new Set<AgentCgroup>();
  private readonly fds = new FdHeadroom();
  /** Spawns in flight (their descriptors are not all open yet). */
  private starting = 0;
  /** Where the sandbox runtime is installed (a failure refuses every spawn, never throws). */
  private readonly runtime: Result<RuntimePaths, QiError> = runtimePaths();

  async start(request: StartRequest): Promise<Result<AgentConnection, QiError>> {
    if (this.runtime.tag === 'failure') return this.runtime;
    const room = this.fds.check(request.agentId, this.starting);
    if (room.tag === 'failure') return room;
    this.starting++;
    try {
      return await this.spawn(request, this.runtime.value);
    } catch (e) {
      return failure(spawnThrew(e));
    } finally {
      this.starting--;
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.cgroups].map((c) => c.remove()));
    this.cgroups.clear();
    if (this.cgroupHost != null) removeCgroupParents(this.cgroupHost);
  }

  /** `runtime`: the paths resolved once for this transport (each read of `RUNTIME` reads package.json again). */
  private async spawn(request: StartRequest, runtime: RuntimePaths): Promise<Result<AgentConnection, QiError>> {
    const { spec, plugin, sandbox, agentId } = request;
    const host = await detectHost(sandbox.nodePath);
    const runAs = spec.isolationLevel === 'monitored' ? null : agentIdentity(host.isRoot, { uid: sandbox.agentUid, gid: sandbox.agentGid });
    let workspace: string;
    try {
      workspace = createWorkspace(sandbox.workspaceRoot, agentId, runAs);
    } catch (e) {
      return failure(
        qiError('SANDBOX_UNAVAILABLE', `cannot create the workspace of agent ${agentId} under ${sandbox.workspaceRoot}: ${e instanceof Error ? e.message : String(e)}`, {
          agentId,
          workspaceRoot: sandbox.workspaceRoot,
        }),
      );
    }
    const reachable = this.checkReachable(runAs, runtime, plugin, workspace, sandbox);
    const cgroup = this.createCgroup(spec, agentId, request);
    const release = (): void => {
      removeWorkspace(workspace);
      void cgroup?.remove();
    };
    const planned = planLaunch({
      spec,
      host,
      nodePath: sandbox.nodePath,
      bootstrapPath: runtime.bootstrap,
      runtimeReadPaths: runtime.readPaths,
      pluginReadPaths: plugin.readPaths,
      workspace,
      extraReadPaths: sandbox.readPaths,
      extraWritePaths: sandbox.writePaths,
      env: buildAgentEnv(sandbox.passEnv, sandbox.env),
      networkIsolation: sandbox.networkIsolation,
      onUnavailable: sandbox.onUnavailable,
      runAs,
      maskedDirs: reachable.tag === 'success' ? reachable.value : [],
      cgroup: cgroup === null ? null : { procsFiles: cgroup.procsFiles, cpu: spec.resourceLimits.maxCpuPercent !== undefined },
    });
    if (planned.tag === 'failure') {
      release();
      return planned;
    }
    const plan = planned.value;
    if (plan.isolationLevel !== 'monitored' && spec.securityConstraints.fileSystemAccess !== 'full') {
      const grants = [...plugin.readPaths, ...sandbox.readPaths, ...runtime.readPaths, workspace];
      const escaping = findEscapingLinks([workspace, ...sandbox.readPaths, plugin.readPaths[0]!], grants);
      if (escaping.length > 0) {
        release();
        const first = escaping[0]!;
        return failure(
          qiError('FS_DENIED', `granted path ${first.link} is a symlink to ${first.target}, outside the agent's grants; remove it or grant its target`, {
            agentId,
            links: escaping.slice(0, 10),
          }),
        );
      }
    }
    if (reachable.tag === 'failure' && plan.runAs !== null) {
      release();
      return reachable;
    }
    // A downgrade below `sandbox` runs without the cgroup.
    const agentCgroup = plan.isolationLevel === 'sandbox' ? cgroup : null;
    if (agentCgroup === null) void cgroup?.remove();
    const grants = agentGrants(spec, workspace, sandbox);
    const prefix = plan.wrapperArgs;
    return startProcess({
      agentId,
      plan,
      init: { agentId, pluginPath: plugin.path, workspace, grants, netGuard: { mode: plan.netGuard.mode, hosts: [...plan.netGuard.hosts] }, logLevel: request.logLevel, maxConcurrency: request.sandbox.maxSubtasksPerAgent },
      limits: { maxMessageBytes: sandbox.maxMessageBytes, maxMessagesPerSecond: sandbox.maxMessagesPerSecond },
      maxOutputBytes: sandbox.maxOutputBytes,
      logger: request.logger,
      timeoutMs: request.timeoutMs,
      killGraceMs: sandbox.killGraceMs,
      boundary: {
        workspace,
        layers: plan.layers,
        isolationLevel: plan.isolationLevel,
        ...(plan.downgradedFrom === undefined ? {} : { downgradedFrom: plan.downgradedFrom }),
        execute: {
          wrap: (command, args) => (prefix.length === 0 ? { command, args: [...args] } : { command: prefix[0]!, args: [...prefix.slice(1), command, ...args] }),
          seccompFilter: plan.seccompFilter,
          env: plan.env,
        },
      },
      ...(agentCgroup === null ? {} : { oomKilled: () => agentCgroup.oomKilled() }),
      release: async () => {
        await agentCgroup?.remove();
        if (!sandbox.keepWorkspace) removeWorkspace(workspace);
      },
    });
  }

  /** The agent's cgroup at `sandbox` where the host allows one; null otherwise (recorded as a missing layer). */
  private createCgroup(spec: SubAgentSpecification, agentId: string, request: StartRequest): AgentCgroup | null {
    if (spec.isolationLevel !== 'sandbox') return null;
    this.cgroupHost ??= detectCgroups();
    if (this.cgroupHost === null) return null;
    const limits = spec.resourceLimits;
    const made = AgentCgroup.create(this.cgroupHost, agentId, {
      memoryBytes: (limits.maxMemoryMB + CGROUP_RUNTIME_MB) * 1024 * 1024,
      cpuPercent: limits.maxCpuPercent,
      maxPids: CGROUP_MAX_PIDS,
    });
    if (made instanceof Error) {
      request.logger.warn({ agentId, err: made.message }, 'could not create the agent cgroup; running without kernel caps');
      return null;
    }
    this.cgroups.add(made);
    return made;
  }

  /**
   * When agents run as another user (a root coordinator), everything they must read has to be
   * readable by that user; the folders on the way that are not are masked by the sandbox (the
   * list returned). A grant that is itself unreadable fails with the path and the fix.
   */
  private checkReachable(runAs: ReturnType<typeof agentIdentity>, runtime: RuntimePaths, plugin: PluginSource, workspace: string, sandbox: StartRequest['sandbox']): Result<string[], QiError> {
    if (runAs === null) return success([]);
    const needed = [runtime.bootstrap, ...runtime.readPaths, ...plugin.readPaths, plugin.path, ...sandbox.readPaths, ...sandbox.writePaths, sandbox.nodePath];
    const unreadable = unreadablePath(needed, runAs);
    if (unreadable !== undefined) {
      return failure(
        qiError(
          'SANDBOX_UNAVAILABLE',
          `agents run as uid ${runAs.uid} because the coordinator is root, and that user cannot read ${unreadable}. Fix: make it readable by others (chmod o+rX), set sandbox.agentUid/agentGid to a user that can read it, or run the coordinator as an unprivileged user`,
          { path: unreadable, uid: runAs.uid },
        ),
      );
    }
    return success(untraversableAncestors([...needed, workspace], runAs));
  }
}
