import { isDeepStrictEqual } from 'node:util';
import { initialTransition, transition } from 'xstate';
import type { FlowDefinition } from '../../flows/registry.js';
import { stateOf, toEffects } from '../engine/engine.js';
import type { FlowRecord, LogEntry } from '../engine/flow-store.js';

/** The first line of an exported flow: what is needed to start the machine again. */
export interface FlowHeader {
  kind: 'flow';
  id: string;
  machine: string;
  machineVersion: number;
  input: unknown;
  createdAt: number;
}

export interface ReplayStep {
  version: number;
  event: string;
  recorded: { value: unknown; status: string; effects: string[] };
  replayed: { value: unknown; status: string; effects: string[] };
  same: boolean;
  /** Which parts differ, when not the same. */
  differences: string[];
}

export interface ReplayResult {
  steps: ReplayStep[];
  firstDivergence: ReplayStep | null;
}

export function headerOf(flow: FlowRecord): FlowHeader {
  return {
    kind: 'flow',
    id: flow.id,
    machine: flow.machine,
    machineVersion: flow.machineVersion,
    input: flow.input,
    createdAt: flow.createdAt,
  };
}

export function toJsonl(header: FlowHeader, log: LogEntry[]): string {
  return `${[header, ...log].map((line) => JSON.stringify(line)).join('\n')}\n`;
}

export function parseJsonl(text: string): { header: FlowHeader; log: LogEntry[] } {
  const lines = text
    .split('\n')
    .filter((line) => line.trim())
    .map((line, i) => {
      try {
        return JSON.parse(line) as unknown;
      } catch {
        throw new Error(`line ${i + 1} is not JSON`);
      }
    });
  const [header, ...log] = lines as [FlowHeader, ...LogEntry[]];
  if (header?.kind !== 'flow') throw new Error('the first line is not a flow header');
  return { header, log };
}

/**
 * Reruns a recorded flow through today's machine: the initial state from the recorded input, then every
 * recorded event, comparing state, status, context and effects with what was recorded at each step.
 */
export function replayFlow(definition: FlowDefinition, header: FlowHeader, log: LogEntry[]): ReplayResult {
  const steps: ReplayStep[] = [];
  let snapshot: ReturnType<typeof initialTransition>[0] | null = null;
  for (const entry of log) {
    let actions: Parameters<typeof toEffects>[0];
    if (entry.event.type === 'xstate.init') {
      [snapshot, actions] = initialTransition(definition.machine, header.input);
    } else {
      if (!snapshot) throw new Error('the log does not start with the initial state');
      [snapshot, actions] = transition(definition.machine, snapshot as never, entry.event as never);
    }
    const state = stateOf(snapshot, definition.statusOf(snapshot as never));
    const effects = toEffects(actions).map((e) => e.type);
    const differences = [
      isDeepStrictEqual(state.value, entry.state.value) ? null : 'state',
      state.status === entry.state.status ? null : 'status',
      isDeepStrictEqual(normalize(state.context), normalize(entry.state.context)) ? null : 'context',
      isDeepStrictEqual(effects, entry.effects) ? null : 'effects',
    ].filter((d): d is string => d !== null);
    steps.push({
      version: entry.version,
      event: entry.event.type,
      recorded: { value: entry.state.value, status: entry.state.status, effects: entry.effects },
      replayed: { value: state.value, status: state.status, effects },
      same: differences.length === 0,
      differences,
    });
  }
  return { steps, firstDivergence: steps.find((s) => !s.same) ?? null };
}

const normalize = (value: unknown) => JSON.parse(JSON.stringify(value ?? null));
