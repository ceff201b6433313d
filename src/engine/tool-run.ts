import { spawn } from 'node:child_process';
import { FerryError } from '../core/errors.js';

/** The external tools a face may run, each with the Debian package that has it. */
export const TOOL_PACKAGES = { git: 'git', 'git-annex': 'git-annex', rclone: 'rclone' } as const;
export type ToolName = keyof typeof TOOL_PACKAGES;

export interface ToolRun {
  /** What the call is for, worded to follow "git could not …": "commit the added files". */
  what: string;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Written to the tool's stdin, then closed. */
  input?: string;
  /** Exit codes that are answers, not failures (`git diff --quiet` exits 1 for "differs"). */
  ok?: readonly number[];
  /** Each line of stderr as it comes (rclone's stats), besides being kept for the error. */
  onStderrLine?: (line: string) => void;
  signal?: AbortSignal;
}

export interface ToolResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** The last line a tool wrote that says something, for the one-sentence error. */
function lastLine(text: string): string {
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !/^hint:/.test(l));
  const line = lines.reverse().find((l) => /error|fatal|failed|not|cannot|refus|denied|conflict/i.test(l)) ?? lines[0] ?? '';
  return line.replace(/^\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d /, '').replace(/^(fatal|error): /i, '').slice(0, 300);
}

/**
 * Runs a tool (no shell) to its end. Its exit code is checked: anything but 0 (and `ok`) is a
 * FerryError naming the tool and what it was doing, with the tool's last line in the sentence and all
 * of its stderr as the detail `--verbose` shows; a tool that is not installed names its package.
 */
export function runTool(tool: ToolName, args: readonly string[], run: ToolRun): Promise<ToolResult> {
  const bin = tool === 'git-annex' ? 'git' : tool;
  const argv = tool === 'git-annex' ? ['annex', ...args] : [...args];
  return new Promise((resolve, reject) => {
    const child = spawn(bin, argv, { cwd: run.cwd, env: run.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'], signal: run.signal });
    const out: Buffer[] = [];
    let stderr = '';
    let partial = '';
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => {
      const text = d.toString();
      stderr += text;
      if (!run.onStderrLine) return;
      const lines = (partial + text).split(/\r?\n|\r/);
      partial = lines.pop() ?? '';
      for (const l of lines) if (l !== '') run.onStderrLine(l);
    });
    child.stdin.on('error', () => {}); // a tool that exits before reading its input
    child.stdin.end(run.input ?? '');
    child.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') {
        reject(new FerryError('TOOL_MISSING', `${tool} is not installed; install the Debian package ${TOOL_PACKAGES[tool]} (apt-get install ${TOOL_PACKAGES[tool]}).`));
      } else reject(new FerryError('TOOL_FAILED', `${tool} could not ${run.what}: ${e.message}.`, { cause: e }));
    });
    child.on('close', (code, signal) => {
      const stdout = Buffer.concat(out).toString();
      const exit = code ?? 128;
      if (exit === 0 || run.ok?.includes(exit)) return resolve({ code: exit, stdout, stderr });
      if (tool === 'git-annex' && /'annex' is not a git command/.test(stderr)) {
        // git is there, git-annex is not: git itself answers.
        return reject(new FerryError('TOOL_MISSING', `git-annex is not installed; install the Debian package git-annex (apt-get install git-annex).`));
      }
      const said = lastLine(stderr) || lastLine(stdout);
      if (tool === 'git-annex' && /not a git repository|First run: git-annex init/i.test(stderr + stdout)) {
        return reject(new FerryError('TOOL_FAILED', `git-annex could not ${run.what}: this repository has no git-annex (run \`git annex init\` in it).`, { detail: stderr }));
      }
      const how = signal ? `it was stopped by ${signal}` : said || `it exited with ${exit}`;
      reject(new FerryError('TOOL_FAILED', `${tool} could not ${run.what}: ${how.replace(/[.:]$/, '')}.`, { detail: `${stderr}${stdout}` }));
    });
  });
}
