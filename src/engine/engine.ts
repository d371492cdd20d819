import { randomBytes } from 'node:crypto';
import { initialTransition, transition } from 'xstate';
import { EFFECT_TYPES, type Effect, type EffectType } from '../../flows/effects.js';
import type { FlowDefinition } from '../../flows/registry.js';
import type { Clock } from '../clock.js';
import { AppError } from '../errors.js';
import type { Logger } from '../log.js';
import type { FlowIndexEntry, FlowRecord, FlowStore } from './flow-store.js';
import type { OutboxRelay } from './outbox-relay.js';

export interface FlowEvent {
  type: string;
  [key: string]: unknown;
}

export interface StartRequest {
  flowId?: string;
  /** A child flow's parent: the machine gets `parent: {flowId}` in its input and tells it the verdict. */
  parentId?: string;
  userId: string;
  purpose: string;
  method: string;
  expiresAt: number;
  input: Record<string, unknown>;
  /** An index the flow joins in the commit that queues its first effects (SMS: the number replies come from). */
  index?: FlowIndexEntry;
}

export interface DispatchResult {
  flow: FlowRecord;
  /** false when the machine ignored the event or the idempotency key was seen before. */
  changed: boolean;
  duplicate: boolean;
  effects: Effect[];
}

/** Told when a flow starts and when it reaches a verdict (the metrics). */
export interface FlowObserver {
  flowStarted(method: string): void;
  flowFinished(method: string, status: string, seconds: number): void;
}

export interface EngineHooks {
  /** Fault injection for tests: runs after the commit and before the outbox is enqueued. */
  afterCommit?: (flowId: string, version: number) => Promise<void>;
}

const MAX_CONFLICT_RETRIES = 20;

export const newFlowId = () => randomBytes(15).toString('base64url');

export class FlowNotFoundError extends AppError {
  constructor() {
    super('flow_not_found');
  }
}

/** load -> transition -> persist (snapshot, log, outbox: atomically, version-checked) -> enqueue effects. */
export class FlowEngine {
  constructor(
    private readonly deps: {
      store: FlowStore;
      relay: OutboxRelay;
      registry: ReadonlyMap<string, FlowDefinition>;
      clock: Clock;
      logger: Logger;
      hooks?: EngineHooks;
      observer?: FlowObserver;
    },
  ) {}

  get store(): FlowStore {
    return this.deps.store;
  }

  async start(machineId: string, request: StartRequest): Promise<FlowRecord> {
    const definition = this.definition(machineId);
    const flowId = request.flowId ?? newFlowId();
    const now = this.deps.clock.now();
    const input = {
      ...request.input,
      flowId,
      ...(request.parentId ? { parent: { flowId: request.parentId } } : {}),
    };
    const [snapshot, actions] = initialTransition(definition.machine, input);
    const effects = toEffects(actions);
    const persisted = definition.machine.getPersistedSnapshot(snapshot);
    const status = definition.statusOf(snapshot);
    const result = await this.deps.store.commit({
      flowId,
      expectedVersion: 0,
      snapshot: persisted,
      status,
      fence: definition.fence?.(snapshot) ?? null,
      entry: {
        at: now,
        event: { type: 'xstate.init' },
        state: stateOf(snapshot, status),
        effects: names(effects),
      },
      effects,
      now,
      ...(request.index ? { index: request.index } : {}),
      create: {
        machine: definition.id,
        machineVersion: definition.version,
        userId: request.userId,
        purpose: request.purpose,
        method: request.method,
        input,
        ...(request.parentId ? { parentId: request.parentId } : {}),
        createdAt: now,
        expiresAt: request.expiresAt,
      },
    });
    if (result.kind !== 'ok') throw new AppError('flow_exists');
    this.deps.observer?.flowStarted(request.method);
    if (status !== 'pending') this.deps.observer?.flowFinished(request.method, status, 0);
    await this.afterCommit(flowId, result.version, effects);
    const flow = await this.deps.store.load(flowId);
    if (!flow) throw new FlowNotFoundError();
    return flow;
  }

  /**
   * `options.loaded` is a record the caller just read: it saves a read, and a stale one only costs a retry
   * because the commit checks the version.
   */
  async dispatch(
    flowId: string,
    event: FlowEvent,
    options: { idempotencyKey?: string; loaded?: FlowRecord } = {},
  ): Promise<DispatchResult> {
    let known = options.loaded?.id === flowId ? options.loaded : null;
    for (let attempt = 0; attempt < MAX_CONFLICT_RETRIES; attempt += 1) {
      const flow = known ?? (await this.deps.store.load(flowId));
      known = null;
      if (!flow) throw new FlowNotFoundError();
      const definition = this.definitionFor(flow);
      const current = definition.machine.resolveState(flow.snapshot as never);
      const [next, actions] = transition(definition.machine, current, event as never);
      const effects = toEffects(actions);
      if (next === current && effects.length === 0) {
        // Ignored: nothing to persist. A retry of the same carrier event gets the same (empty) answer.
        const duplicate = options.idempotencyKey
          ? (await this.deps.store.seenIdempotency(options.idempotencyKey)) !== null
          : false;
        return { flow, changed: false, duplicate, effects: [] };
      }
      const now = this.deps.clock.now();
      const status = definition.statusOf(next);
      const snapshot = definition.machine.getPersistedSnapshot(next);
      const result = await this.deps.store.commit({
        flowId,
        expectedVersion: flow.version,
        snapshot,
        status,
        fence: definition.fence?.(next) ?? null,
        entry: { at: now, event, state: stateOf(next, status), effects: names(effects) },
        effects,
        now,
        ...(options.idempotencyKey
          ? { idempotency: { key: options.idempotencyKey, value: String(flow.version + 1) } }
          : {}),
      });
      if (result.kind === 'duplicate') return { flow, changed: false, duplicate: true, effects: [] };
      if (result.kind === 'conflict') {
        await backoff(attempt);
        continue;
      }
      if (flow.status === 'pending' && status !== 'pending')
        this.deps.observer?.flowFinished(flow.method, status, (now - flow.createdAt) / 1000);
      await this.afterCommit(flowId, result.version, effects);
      // The commit wrote exactly this: no need to read it back.
      const updated: FlowRecord = {
        ...flow,
        version: result.version,
        snapshot,
        status,
        updatedAt: now,
      };
      return { flow: updated, changed: true, duplicate: false, effects };
    }
    throw new AppError('busy');
  }

  /** Whether the parent still waits for this child (a child the parent gave up on is not started). */
  async awaitsChild(parentId: string, childId: string): Promise<boolean> {
    const parent = await this.deps.store.load(parentId);
    if (!parent) return false;
    const definition = this.definitionFor(parent);
    const snapshot = definition.machine.resolveState(parent.snapshot as never);
    return definition.awaitsChild?.(snapshot, childId) ?? false;
  }

  async get(flowId: string): Promise<FlowRecord> {
    const flow = await this.deps.store.load(flowId);
    if (!flow) throw new FlowNotFoundError();
    return flow;
  }

  private async afterCommit(flowId: string, version: number, effects: Effect[]): Promise<void> {
    if (effects.length === 0) return;
    await this.deps.hooks?.afterCommit?.(flowId, version);
    // When this fails the outbox stays pending and the sweeper sends it later: the commit already stands.
    try {
      await this.deps.relay.relay(flowId, version, effects);
    } catch (err) {
      this.deps.logger.error({ flowId, version, err }, 'effects not enqueued; the sweeper will retry');
    }
  }

  private definition(machineId: string): FlowDefinition {
    const definition = this.deps.registry.get(machineId);
    if (!definition) throw new AppError('unknown_machine');
    return definition;
  }

  /** A snapshot written by another machine version is refused, never silently restored. */
  private definitionFor(flow: FlowRecord): FlowDefinition {
    const definition = this.definition(flow.machine);
    if (definition.version !== flow.machineVersion) {
      this.deps.logger.error(
        { flowId: flow.id, machine: flow.machine, stored: flow.machineVersion, current: definition.version },
        'flow snapshot from another machine version',
      );
      throw new AppError('flow_version_mismatch');
    }
    return definition;
  }
}

type ExecutedAction = { type: string; params?: unknown };

export function toEffects(actions: readonly ExecutedAction[]): Effect[] {
  return actions
    .filter((action) => (EFFECT_TYPES as readonly string[]).includes(action.type))
    .map((action) => ({ type: action.type as EffectType, ...(action.params as object) }) as Effect);
}

export function stateOf(snapshot: { value: unknown; context: unknown }, status: FlowRecord['status']) {
  return { value: snapshot.value, status, context: snapshot.context };
}

const names = (effects: Effect[]) => effects.map((e) => e.type);

function backoff(attempt: number): Promise<void> {
  const ms = Math.min(50, 2 ** attempt) * Math.random();
  return new Promise((resolve) => setTimeout(resolve, ms));
}
