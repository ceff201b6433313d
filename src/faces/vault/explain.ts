import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { FerryError } from '../../core/errors.js';
import { expand } from './add.js';
import { loadPreferences, loadVaultConfig, VaultConfigSchema } from './config.js';
import { decideFile, RepoFinder, type Decided, type DecisionSettings } from './context.js';
import { mapLimit } from '../../core/map-limit.js';
import { defaultDevice, managedDir, tools, type Tools } from './vault.js';

/** The vault's settings for a decision, or the seed's defaults when this machine has no vault yet. */
export async function settingsFor(option: string | undefined, t: Tools): Promise<DecisionSettings> {
  let managed: string | undefined;
  try {
    managed = managedDir(option);
  } catch (e) {
    if (option || !(e instanceof FerryError)) throw e;
  }
  if (!managed || !existsSync(join(managed, '.ferry'))) {
    if (option) throw new FerryError('CONFIG', `${managed} is not a ferry vault.`);
    return { device: defaultDevice(), config: VaultConfigSchema.parse({}), rules: [] };
  }
  const device = (await t.git(managed, ['config', '--get', 'ferry.device'], 'read the device name', { ok: [1] })).trim() || defaultDevice();
  return { managed, device, config: loadVaultConfig(managed), rules: loadPreferences(managed).rules };
}

/** `ferry vault explain PATH…`: the decision for each file (directories walked) and why; changes nothing. */
export async function explain(paths: readonly string[], option?: string, t: Tools = tools()): Promise<Decided[]> {
  if (paths.length === 0) throw new FerryError('USAGE', 'ferry vault explain needs at least one PATH.');
  const settings = await settingsFor(option, t);
  const repos = new RepoFinder(t);
  const files = await expand(paths);
  await repos.prefetch(files.map((f) => f.path));
  return mapLimit(files, 16, (f) => decideFile(f.path, settings, repos, f.addedAs));
}
