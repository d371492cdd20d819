/**
 * Starts the product as an operator does in production (`NODE_ENV=production npm start`: the compiled build in
 * dist/) in a process group of its own, waits for `/readyz`, and reports how long that took and how much memory
 * the server holds. Used by the production-start test and by `npm run bench`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';

export interface ProductionProcess {
  child: ChildProcess;
  /** Milliseconds from spawning `npm start` to the first 200 from /readyz. */
  startupMs: number;
  /** The pid of the Node process that runs the server (below npm and the start script). */
  serverPid: number;
  /** What stdout and stderr said so far. */
  output(): string;
  /** Resident memory of the server process, in bytes (Linux /proc). */
  rssBytes(): number;
  /** User + system CPU time of the server process so far, in milliseconds (Linux /proc). */
  cpuMs(): number;
  stop(): Promise<void>;
}

/** Runs `npm start` with `env` on top of this process's environment; rejects with its output if it exits. */
export async function startProduction(
  env: Record<string, string>,
  opts: { cwd?: string; readyTimeoutMs?: number; baseUrl: string },
): Promise<ProductionProcess> {
  const began = performance.now();
  const child = spawn('npm', ['start', '--silent'], {
    cwd: opts.cwd ?? process.cwd(),
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  child.stdout?.on('data', (chunk) => {
    output += String(chunk);
  });
  child.stderr?.on('data', (chunk) => {
    output += String(chunk);
  });
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  const deadline = Date.now() + (opts.readyTimeoutMs ?? 60_000);
  for (;;) {
    const gone = await Promise.race([exited, new Promise((r) => setTimeout(r, 50, 'running'))]);
    if (gone !== 'running') throw new Error(`npm start exited with ${String(gone)}:\n${output}`);
    const ready = await fetch(`${opts.baseUrl}/readyz`)
      .then((r) => r.status === 200)
      .catch(() => false);
    if (ready) break;
    if (Date.now() > deadline) {
      killGroup(child);
      throw new Error(`/readyz did not answer 200 in time:\n${output}`);
    }
  }
  const startupMs = performance.now() - began;
  const serverPid = serverProcess(child.pid ?? 0);
  return {
    child,
    startupMs,
    serverPid,
    output: () => output,
    rssBytes: () =>
      Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${serverPid}/status`, 'utf8'))?.[1]) * 1024,
    cpuMs: () => processCpuMs(serverPid),
    async stop() {
      if (child.exitCode !== null) return;
      killGroup(child, 'SIGTERM');
      const timer = setTimeout(() => killGroup(child, 'SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals = 'SIGKILL'): void {
  try {
    if (child.pid) process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

/** The command line of a process, its arguments joined by spaces. */
export function commandLine(pid: number): string {
  return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
}

/** Every process below `root` (children, grandchildren, ...), found through /proc. */
export function descendants(root: number): number[] {
  const parents = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // The field after the command name (which may hold spaces) in parentheses: state, then ppid.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parents.set(ppid, [...(parents.get(ppid) ?? []), Number(entry)]);
    } catch {
      // the process ended meanwhile
    }
  }
  const found: number[] = [];
  const walk = (pid: number) => {
    for (const kid of parents.get(pid) ?? []) {
      found.push(kid);
      walk(kid);
    }
  };
  walk(root);
  return found;
}

/** The Node process that serves: the one below npm whose command line runs a main.js or main.ts. */
function serverProcess(npmPid: number): number {
  const candidates = [npmPid, ...descendants(npmPid)];
  return candidates.find((pid) => /\bmain\.(js|ts)\b/.test(safeCommandLine(pid))) ?? npmPid;
}

function safeCommandLine(pid: number): string {
  try {
    return commandLine(pid);
  } catch {
    return '';
  }
}

/** utime + stime of a process in milliseconds (clock ticks are 100 per second on Linux). */
export function processCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}
