import type { Readable, Writable } from 'node:stream';

/**
 * git-annex's external special remote protocol, the remote's side
 * (https://git-annex.branchable.com/design/external_special_remote_protocol/): one request at a
 * time from git-annex, one reply each; while handling a request the remote may ask git-annex
 * things of its own (`GETCONFIG`, `DIRHASH-LOWER`) and read the `VALUE` reply before it answers.
 */

/** Reads a stream line by line: `next()` waits for the next line, `null` once the stream has ended. */
export class LineReader {
  private partial = '';
  private readonly lines: string[] = [];
  private readonly waiting: Array<(line: string | null) => void> = [];
  private ended = false;

  constructor(input: Readable) {
    input.setEncoding('utf8');
    input.on('data', (chunk: string) => {
      const parts = (this.partial + chunk).split('\n');
      this.partial = parts.pop() ?? '';
      for (const line of parts) this.push(line.replace(/\r$/, ''));
    });
    const end = (): void => {
      if (this.ended) return;
      if (this.partial !== '') this.push(this.partial.replace(/\r$/, ''));
      this.partial = '';
      this.ended = true;
      for (const w of this.waiting.splice(0)) w(null);
    };
    input.on('end', end);
    input.on('close', end);
    input.on('error', end);
  }

  /** The next line (without its newline), or `null` at the end of the input. */
  next(): Promise<string | null> {
    const line = this.lines.shift();
    if (line !== undefined) return Promise.resolve(line);
    if (this.ended) return Promise.resolve(null);
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private push(line: string): void {
    const w = this.waiting.shift();
    if (w) w(line);
    else this.lines.push(line);
  }
}

/** git-annex closed our stdin (or sent `ERROR`): the session is over, nothing more is to be sent. */
export class SessionEnded extends Error {
  constructor(
    message: string,
    /** The process's exit code: 0 for a plain end of input, 1 after an `ERROR` from git-annex. */
    readonly exitCode: number,
  ) {
    super(message);
  }
}

/** One protocol word or message: a newline inside would end the line early, so it becomes a space. */
function oneLine(text: string): string {
  return text.replace(/[\r\n]+/g, ' ').trim();
}

/** The two ends of the conversation with git-annex: the lines it sends and the stream we write to. */
export class AnnexChannel {
  constructor(
    private readonly reader: LineReader,
    private readonly out: Writable,
  ) {}

  /** Sends one protocol line. */
  send(...words: string[]): void {
    this.out.write(`${words.map(oneLine).join(' ')}\n`);
  }

  /** The next line from git-annex; throws `SessionEnded` at the end of the input. */
  async receive(): Promise<string> {
    const line = await this.reader.next();
    if (line === null) throw new SessionEnded('git-annex closed the connection', 0);
    return line;
  }

  /**
   * Sends a request of ours and returns the value of git-annex's `VALUE` reply (empty when the
   * setting is not set). `ERROR` from git-annex, or the end of the input, ends the session.
   */
  async ask(...words: string[]): Promise<string> {
    this.send(...words);
    const line = await this.receive();
    const [command, rest] = splitFirst(line);
    if (command === 'VALUE') return rest;
    if (command === 'ERROR') throw new SessionEnded(`git-annex: ${rest}`, 1);
    throw new Error(`git-annex answered ${words[0] ?? ''} with "${line}" instead of VALUE`);
  }

  /** A setting given at `git annex initremote` (or stored since); empty when not set. */
  getConfig(name: string): Promise<string> {
    return this.ask('GETCONFIG', name);
  }

  /** The key's two-level lower-case hash directory, e.g. `f87/4d5/`. */
  dirhashLower(key: string): Promise<string> {
    return this.ask('DIRHASH-LOWER', key);
  }

  /** Tells git-annex how many bytes of the current transfer are done. */
  progress(bytes: number): void {
    this.send('PROGRESS', String(Math.max(0, Math.floor(bytes))));
  }

  /** A line git-annex shows with `--debug`. */
  debug(message: string): void {
    this.send('DEBUG', message);
  }
}

/** The command word of a line and the rest after the first space. */
function splitFirst(line: string): [string, string] {
  const i = line.indexOf(' ');
  return i < 0 ? [line, ''] : [line.slice(0, i), line.slice(i + 1)];
}

/** What a `CHECKPRESENT` found. */
export type Presence = { state: 'present' } | { state: 'absent' } | { state: 'unknown'; reason: string };

/**
 * What an external special remote does; `serve` speaks the protocol around it. Each method resolves
 * on success and rejects with an `Error` whose message (one sentence) goes back to git-annex.
 */
export interface SpecialRemote {
  /** `INITREMOTE`: check the settings and make the storage ready (idempotent). */
  initRemote(annex: AnnexChannel): Promise<void>;
  /** `PREPARE`: read the settings before use. */
  prepare(annex: AnnexChannel): Promise<void>;
  /** `TRANSFER STORE`: upload `file` as `key`. */
  store(annex: AnnexChannel, key: string, file: string): Promise<void>;
  /** `TRANSFER RETRIEVE`: download `key` into `file`. */
  retrieve(annex: AnnexChannel, key: string, file: string): Promise<void>;
  /** `CHECKPRESENT`: whether `key` is there now (a live look, never a cache). */
  checkPresent(annex: AnnexChannel, key: string): Promise<Presence>;
  /** `REMOVE`: remove `key`; a key that is not there counts as removed. */
  remove(annex: AnnexChannel, key: string): Promise<void>;
  /** `LISTCONFIGS`: the settings the remote takes, name and short description. */
  readonly configs: ReadonlyArray<readonly [name: string, description: string]>;
  /** `GETCOST`. */
  readonly cost: number;
  /** `GETAVAILABILITY`. */
  readonly availability: 'GLOBAL' | 'LOCAL';
}

/** The message of whatever a remote method threw, as one line. */
function reason(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return oneLine(text) || 'unknown error';
}

/**
 * Answers git-annex's requests one by one until the input ends. Returns the exit code: 0 at the end
 * of the input, 1 after an `ERROR` from git-annex. Call it after sending `VERSION 1`.
 */
export async function serve(annex: AnnexChannel, remote: SpecialRemote): Promise<number> {
  try {
    while (true) await answer(annex, remote, await annex.receive());
  } catch (err) {
    if (err instanceof SessionEnded) return err.exitCode;
    throw err;
  }
}

/** Runs a remote method: `SessionEnded` passes through, anything else becomes a failure message. */
async function attempt(run: () => Promise<void>): Promise<string | undefined> {
  try {
    await run();
    return undefined;
  } catch (err) {
    if (err instanceof SessionEnded) throw err;
    return reason(err);
  }
}

async function answer(annex: AnnexChannel, remote: SpecialRemote, line: string): Promise<void> {
  const [command, rest] = splitFirst(line);
  switch (command) {
    case '':
      return; // a blank line asks nothing
    case 'EXTENSIONS':
      return annex.send('EXTENSIONS');
    case 'INITREMOTE': {
      const failed = await attempt(() => remote.initRemote(annex));
      return failed === undefined ? annex.send('INITREMOTE-SUCCESS') : annex.send('INITREMOTE-FAILURE', failed);
    }
    case 'PREPARE': {
      const failed = await attempt(() => remote.prepare(annex));
      return failed === undefined ? annex.send('PREPARE-SUCCESS') : annex.send('PREPARE-FAILURE', failed);
    }
    case 'TRANSFER': {
      const [direction, afterDirection] = splitFirst(rest);
      const [key, file] = splitFirst(afterDirection);
      if ((direction !== 'STORE' && direction !== 'RETRIEVE') || key === '' || file === '') break;
      const failed = await attempt(() => (direction === 'STORE' ? remote.store(annex, key, file) : remote.retrieve(annex, key, file)));
      return failed === undefined ? annex.send('TRANSFER-SUCCESS', direction, key) : annex.send('TRANSFER-FAILURE', direction, key, failed);
    }
    case 'CHECKPRESENT': {
      if (rest === '') break;
      let presence: Presence;
      try {
        presence = await remote.checkPresent(annex, rest);
      } catch (err) {
        if (err instanceof SessionEnded) throw err;
        presence = { state: 'unknown', reason: reason(err) };
      }
      if (presence.state === 'present') return annex.send('CHECKPRESENT-SUCCESS', rest);
      if (presence.state === 'absent') return annex.send('CHECKPRESENT-FAILURE', rest);
      return annex.send('CHECKPRESENT-UNKNOWN', rest, presence.reason);
    }
    case 'REMOVE': {
      if (rest === '') break;
      const failed = await attempt(() => remote.remove(annex, rest));
      return failed === undefined ? annex.send('REMOVE-SUCCESS', rest) : annex.send('REMOVE-FAILURE', rest, failed);
    }
    case 'LISTCONFIGS':
      for (const [name, description] of remote.configs) annex.send('CONFIG', name, description);
      return annex.send('CONFIGEND');
    case 'GETCOST':
      return annex.send('COST', String(remote.cost));
    case 'GETAVAILABILITY':
      return annex.send('AVAILABILITY', remote.availability);
    case 'WHEREIS':
      return annex.send('WHEREIS-FAILURE');
    case 'ERROR':
      throw new SessionEnded(`git-annex: ${rest}`, 1);
  }
  annex.send('UNSUPPORTED-REQUEST');
}
