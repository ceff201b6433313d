// Module hooks (node:module register) for test/startup.test.ts: every module URL the process resolves
// is appended to the file named in FERRY_LOADS_FILE, synchronously, from the hooks thread.
import { appendFileSync } from 'node:fs';

let file;
export function initialize(data) {
  file = data.file;
}

export async function resolve(specifier, context, nextResolve) {
  const r = await nextResolve(specifier, context);
  appendFileSync(file, `${r.url}\n`);
  return r;
}
