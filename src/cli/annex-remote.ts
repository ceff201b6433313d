import type { Readable, Writable } from 'node:stream';
import { AnnexChannel, LineReader, serve } from '../faces/vault/annex-remote/protocol.js';
import { RcloneRemote } from '../faces/vault/annex-remote/rclone-store.js';

/**
 * `git-annex-remote-ferry`: ferry's git-annex external special remote (`externaltype=ferry`),
 * speaking the protocol on `stdin`/`stdout` until git-annex closes `stdin`. Returns the exit code:
 * 0 at the end of the input, 1 after an `ERROR` from git-annex or an internal fault (reported to
 * git-annex as `ERROR`, never as a stack trace).
 */
export async function annexRemoteMain(stdin: Readable, stdout: Writable): Promise<number> {
  // git-annex may go away mid-reply: a closed pipe ends the session, it is no crash.
  stdout.on('error', () => stdin.destroy());
  const annex = new AnnexChannel(new LineReader(stdin), stdout);
  annex.send('VERSION', '1');
  try {
    return await serve(annex, new RcloneRemote());
  } catch (err) {
    annex.send('ERROR', err instanceof Error ? err.message : String(err));
    return 1;
  }
}
