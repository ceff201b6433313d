import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const BIN = fileURLToPath(new URL('../../bin/ferry.js', import.meta.url));

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

const collected = new WeakMap<ChildProcess, { stdout: string; stderr: string }>();

/**
 * Starts the built CLI (`bin/ferry.js`, piped: no TTY) and returns the child. Its output is
 * collected from the first byte, so `finished` sees everything whoever else listens.
 */
export function startCli(args: string[], env: NodeJS.ProcessEnv = {}, as: { uid?: number; hostname?: string } = {}, cwd?: string): ChildProcess {
  // As another user (tests that need permissions to matter): through util-linux setpriv. As another
  // host (a worker of a shared job on "another machine"): in a UTS namespace of its own (root only).
  const [cmd, prefix] =
    as.hostname !== undefined
      ? ['unshare', ['--uts', 'sh', '-c', `hostname ${as.hostname} && exec "$0" "$@"`, process.execPath]]
      : as.uid === undefined
        ? [process.execPath, []]
        : ['setpriv', [`--reuid=${as.uid}`, `--regid=${as.uid}`, '--clear-groups', process.execPath]];
  const child = spawn(cmd, [...prefix, BIN, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    cwd,
  });
  const out = { stdout: '', stderr: '' };
  collected.set(child, out);
  child.stdout?.on('data', (d: Buffer) => (out.stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out.stderr += d.toString()));
  return child;
}

/** Runs the built CLI to the end and collects its output. */
export function runCli(args: string[], env: NodeJS.ProcessEnv = {}, cwd?: string): Promise<CliResult> {
  return finished(startCli(args, env, {}, cwd));
}

export function finished(child: ChildProcess): Promise<CliResult> {
  const out = collected.get(child);
  if (!out) throw new Error('finished() takes a child started by startCli()');
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    if (child.exitCode !== null || child.signalCode !== null) {
      if (child.stdout?.readableEnded !== false) return resolve({ code: child.exitCode, signal: child.signalCode, ...out });
    }
    child.on('close', (code, signal) => resolve({ code, signal, ...out }));
  });
}

/** The NDJSON events of a `--json` run. */
export function events(stdout: string): Array<Record<string, unknown> & { type: string }> {
  return stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown> & { type: string });
}

/**
 * Resolves when the `--json` child prints an event of `type` for which `match` holds (rejects if
 * the child exits first).
 */
export function waitForEvent(
  child: ChildProcess,
  type: string,
  match: (e: Record<string, unknown>) => boolean = () => true,
): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    let buffered = '';
    const onData = (d: Buffer): void => {
      buffered += d.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        if (!line.trim()) continue;
        const e = JSON.parse(line) as Record<string, unknown>;
        if (e.type === type && match(e)) {
          child.stdout?.off('data', onData);
          resolve(e);
          return;
        }
      }
    };
    child.stdout?.on('data', onData);
    child.once('exit', () => reject(new Error(`exited before a ${type} event`)));
  });
}

/** Resolves when the child's stdout (plain text) has matched `pattern` (rejects if it exits first). */
export function waitForOutput(child: ChildProcess, pattern: RegExp, stream: 'stdout' | 'stderr' = 'stdout'): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const onData = (d: Buffer): void => {
      seen += d.toString();
      if (pattern.test(seen)) {
        child[stream]?.off('data', onData);
        resolve();
      }
    };
    child[stream]?.on('data', onData);
    child.once('exit', () => reject(new Error(`exited before printing ${pattern}`)));
  });
}
