import type { ServerStore } from '../../core/server-store.js';
import type { ServerFiles } from './files.js';
import type { UploadSessions } from './upload-sessions.js';
import type { WsHub } from './ws-hub.js';

/** What the routes share. */
export interface ServerContext {
  store: ServerStore;
  files: ServerFiles;
  sessions: UploadSessions;
  hub: WsHub;
  maxFileSize: number;
  allowedExtensions: string[] | null;
  heartbeatMs: number;
  version: string;
  extensionAllowed(path: string): boolean;
  /** 415 for a path whose extension is not allowed. */
  checkExtension(path: string): void;
  /** The name a client registered with (what its conflict copies are named after). */
  clientName(clientId: string): Promise<string>;
}
