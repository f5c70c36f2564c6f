// The spec's Module 6 suite (MultiAgentCoordinator.test.ts), unchanged except its imports.
import { describe, it, expect, beforeEach } from 'vitest';
import { AgentTestUtils } from 'qicoord/testing';
import { MultiAgentCoordinator } from 'qicoord';
import type {
  AgentContext,
  DistributedTask,
  CoordinationStrategy,
  SubAgentSpecification,
  ResourceRequirement,
  ResourceConstraints
} from 'qicoord';

describe('MultiAgentCoordinator', () => {
  let coordinator: MultiAgentCoordinator;
  let mockAgentContext: AgentContext;

  beforeEach(() => {
    coordinator = new MultiAgentCoordinator('test-coordinator');
    mockAgentContext = AgentTestUtils.createMockAgentContext();
  });

  describe('task distribution', () => {
    it('should distribute simple tasks correctly', async () => {
      const task: DistributedTask = {
        id: 'test-task-1',
        description: 'Simple test task',
        complexity: 'simple',
        decomposable: true,
        parallelizable: false,
        dependencies: [],
        resourceRequirements: [{
          type: 'memory',
          amount: 64,
          unit: 'MB',
          priority: 'required'
        }],
        priority: 'medium'
      };

      const strategy: CoordinationStrategy = {
        type: 'sequential',
        maxConcurrentAgents: 2,
        failureHandling: 'graceful-degradation',
        synchronizationPoints: [],
        communicationProtocol: 'direct'
      };

      const result = await coordinator.distributeTask(task, strategy, mockAgentContext);
      const distribution = AgentTestUtils.expectSuccess(result);

      expect(distribution.originalTask.id).toBe(task.id);
      expect(distribution.strategy.type).toBe('sequential');
      expect(distribution.agentAllocations.length).toBeGreaterThan(0);
    });

    it('should handle complex parallelizable tasks', async () => {
      const task: DistributedTask = {
        id: 'test-task-2',
        description: 'Complex parallelizable task',
        complexity: 'complex',
        decomposable: true,
        parallelizable: true,
        dependencies: [],
        resourceRequirements: [{
          type: 'memory',
          amount: 256,
          unit: 'MB',
          priority: 'required'
        }],
        priority: 'high'
      };

      const strategy: CoordinationStrategy = {
        type: 'parallel',
        maxConcurrentAgents: 3,
        failureHandling: 'fail-fast',
        synchronizationPoints: [],
        communicationProtocol: 'message-queue'
      };

      const result = await coordinator.distributeTask(task, strategy, mockAgentContext);
      const distribution = AgentTestUtils.expectSuccess(result);

      expect(distribution.strategy.type).toBe('parallel');
      expect(distribution.agentAllocations.length).toBeGreaterThanOrEqual(1);
      expect(distribution.agentAllocations.length).toBeLessThanOrEqual(3);
    });
  });

  describe('SubAgent management', () => {
    it('should spawn SubAgents with proper specifications', async () => {
      const specification: SubAgentSpecification = {
        agentType: 'basic',
        capabilities: ['basic-operations', 'file-operations'],
        resourceLimits: {
          maxMemoryMB: 64,
          maxExecutionTimeMs: 30000,
          maxConcurrentOperations: 2,
          maxToolCalls: 10,
          allowedNetworkHosts: [],
          maxFileOperations: 5
        },
        securityConstraints: {
          sandboxEnabled: true,
          allowedTools: ['read', 'write'],
          prohibitedOperations: ['admin'],
          networkAccessLevel: 'none',
          fileSystemAccess: 'restricted',
          resourceMonitoring: true
        },
        isolationLevel: 'restricted',
        parentAgentId: 'test-coordinator'
      };

      const result = await coordinator.spawnSubAgent(specification, mockAgentContext);
      const subAgent = AgentTestUtils.expectSuccess(result);

      expect(subAgent.specification.agentType).toBe('basic');
      expect(subAgent.status).toBe('ready');
      expect(subAgent.specification.capabilities).toContain('basic-operations');
    });

    it('should terminate SubAgents properly', async () => {
      const specification: SubAgentSpecification = {
        agentType: 'basic',
        capabilities: ['basic-operations'],
        resourceLimits: {
          maxMemoryMB: 32,
          maxExecutionTimeMs: 10000,
          maxConcurrentOperations: 1,
          maxToolCalls: 5,
          allowedNetworkHosts: [],
          maxFileOperations: 2
        },
        securityConstraints: {
          sandboxEnabled: true,
          allowedTools: ['read'],
          prohibitedOperations: [],
          networkAccessLevel: 'none',
          fileSystemAccess: 'read-only',
          resourceMonitoring: true
        },
        isolationLevel: 'sandbox',
        parentAgentId: 'test-coordinator'
      };

      // Spawn agent
      const spawnResult = await coordinator.spawnSubAgent(specification, mockAgentContext);
      const subAgent = AgentTestUtils.expectSuccess(spawnResult);

      // Terminate agent
      const terminateResult = await coordinator.terminateSubAgent(subAgent.id, 'test-completion');
      AgentTestUtils.expectSuccess(terminateResult);

      // Verify agent is no longer active
      const activeResult = await coordinator.getActiveAgents();
      const activeAgents = AgentTestUtils.expectSuccess(activeResult);
      
      expect(activeAgents.find(a => a.id === subAgent.id)).toBeUndefined();
    });
  });

  describe('distributed task execution', () => {
    it('should execute distributed tasks successfully', async () => {
      // First distribute the task
      const task: DistributedTask = {
        id: 'execution-test-1',
        description: 'Test execution task',
        complexity: 'moderate',
        decomposable: true,
        parallelizable: true,
        dependencies: [],
        resourceRequirements: [],
        priority: 'medium'
      };

      const strategy: CoordinationStrategy = {
        type: 'parallel',
        maxConcurrentAgents: 2,
        failureHandling: 'graceful-degradation',
        synchronizationPoints: [],
        communicationProtocol: 'direct'
      };

      const distributionResult = await coordinator.distributeTask(task, strategy, mockAgentContext);
      const distribution = AgentTestUtils.expectSuccess(distributionResult);

      // Execute the distributed task
      const executionResult = await coordinator.executeDistributedTask(distribution, mockAgentContext);
      const coordination = AgentTestUtils.expectSuccess(executionResult);

      expect(coordination.success).toBe(true);
      expect(coordination.results.length).toBeGreaterThan(0);
      expect(coordination.aggregatedResult).toBeDefined();
      expect(coordination.metrics.totalAgents).toBeGreaterThan(0);
    });
  });

  describe('resource management', () => {
    it('should allocate and release resources correctly', async () => {
      const requirements: ResourceRequirement[] = [{
        type: 'memory',
        amount: 128,
        unit: 'MB',
        priority: 'required'
      }];

      const constraints: ResourceConstraints = {
        maxTotalMemory: 512,
        maxConcurrentAllocations: 5,
        allowSharedResources: true
      };

      // Allocate resources
      const allocationResult = await coordinator.allocateResources(requirements, constraints);
      const allocation = AgentTestUtils.expectSuccess(allocationResult);

      expect(allocation.allocationId).toBeDefined();
      expect(allocation.allocatedResources.length).toBe(1);
      expect(allocation.allocatedResources[0].type).toBe('memory');

      // Release resources
      const releaseResult = await coordinator.releaseResources(allocation);
      AgentTestUtils.expectSuccess(releaseResult);
    });

    it('should handle insufficient resources', async () => {
      const requirements: ResourceRequirement[] = [{
        type: 'memory',
        amount: 1024,
        unit: 'MB',
        priority: 'required'
      }];

      const constraints: ResourceConstraints = {
        maxTotalMemory: 512, // Less than required
        maxConcurrentAllocations: 5,
        allowSharedResources: false
      };

      const result = await coordinator.allocateResources(requirements, constraints);
      const error = AgentTestUtils.expectFailure(result);
      
      expect(error.category).toContain('RESOURCE');
    });
  });
});
