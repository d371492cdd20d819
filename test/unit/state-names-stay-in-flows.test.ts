/**
 * No state names outside `flows/`: code in `src/`, `webhooks/`, `web/` and `scripts/` asks a flow's tags and typed
 * views, never compares `snapshot.value` with a state's name. The names are read from the machine definitions
 * themselves (every machine in the registry, nested states included), so a new state is covered at once.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import type { AnyStateMachine } from 'xstate';
import { STATUSES } from '../../flows/effects.js';
import { flowRegistry } from '../../flows/registry.js';
import { PORTAL_STAGES } from '../../src/portal/session-store.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const SCANNED = ['src', 'webhooks', 'web', 'scripts'];

/**
 * Words some states share with a vocabulary of their own, declared elsewhere: a literal of these is that
 * vocabulary, not a state (the structural check below still forbids reading a snapshot's state directly).
 */
const OTHER_VOCABULARIES = new Set<string>([
  ...STATUSES, // the API's verification statuses (flows/effects.ts)
  ...PORTAL_STAGES, // portal session stages (src/portal/session-store.ts)
  'superseded', // a verification's reason (a newer one replaced it)
  'calling', // the API's call progress (src/api/api-schemas.ts: progress calling | answered)
  'answered', // also the carriers' call status event
  'delivered', // the carriers' message status
  'created', // SignalWire Relay's call state
  'rejected', // SignalWire Relay's end reason
]);

function stateNames(): Map<string, string[]> {
  const names = new Map<string, string[]>();
  const walk = (node: AnyStateMachine['root'], machine: string) => {
    for (const [name, child] of Object.entries(node.states)) {
      names.set(name, [...(names.get(name) ?? []), machine]);
      walk(child, machine);
    }
  };
  for (const definition of flowRegistry.values()) walk(definition.machine.root, definition.id);
  return names;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const full = path.join(dir, entry);
    if (statSync(full).isDirectory()) return sourceFiles(full);
    return full.endsWith('.ts') ? [full] : [];
  });
}

const files = SCANNED.flatMap((dir) => sourceFiles(path.join(ROOT, dir)));

/** Every string literal of a file (quotes, and templates without substitutions), with its line. */
function literals(file: string): { text: string; line: number }[] {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
  const found: { text: string; line: number }[] = [];
  const visit = (node: ts.Node) => {
    if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node))
      found.push({ text: node.text, line: source.getLineAndCharacterOfPosition(node.getStart()).line + 1 });
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

describe('state names stay in flows/', () => {
  const names = stateNames();

  it('reads the state names from every machine', () => {
    expect(names.size).toBeGreaterThan(20);
    expect(names.get('awaiting')).toBeUndefined();
    for (const known of ['editingDetails', 'ask', 'newPin', 'proving', 'created'])
      expect(names.has(known), known).toBe(true);
  });

  it('finds no string literal equal to a state name outside flows/', () => {
    const offending = files.flatMap((file) =>
      literals(file)
        .filter(({ text }) => names.has(text) && !OTHER_VOCABULARIES.has(text))
        .map(
          ({ text, line }) =>
            `${path.relative(ROOT, file)}:${line} '${text}' (${names.get(text)!.join(', ')})`,
        ),
    );
    expect(offending).toEqual([]);
  });

  it('reads no snapshot state or context by a cast outside flows/ (typed views and tags instead)', () => {
    // The engine records the state in the event log (the store keeps it), and replay prints it: they show it,
    // never compare it.
    const recorders = new Set([
      'src/engine/engine.ts',
      'src/engine/flow-store.ts',
      'src/replay/replay-flow.ts',
      'scripts/replay.ts',
    ]);
    const offending = files
      .filter((file) => !recorders.has(path.relative(ROOT, file)))
      .flatMap((file) =>
        readFileSync(file, 'utf8')
          .split('\n')
          .map((text, i) => ({ text, line: i + 1 }))
          .filter(({ text }) => /snapshot\??\.value\b|snapshot as\b|\{ value\??: unknown/.test(text))
          .map(({ text, line }) => `${path.relative(ROOT, file)}:${line} ${text.trim()}`),
      );
    expect(offending).toEqual([]);
  });
});
