import { FerryError } from '../../core/errors.js';
import type { IndexStore } from '../../core/index-store.js';
import { openIndexStore, storeExists } from '../../store/open.js';
import { defaultIndexDbPath } from './paths.js';

/**
 * Opens the index at `db` (a SQLite file, or a postgres:// URL; the default per user when undefined)
 * for `use`, and closes it after. `readOnly` for the commands that only read, so they work while
 * `ferry watch` runs; those refuse an index that is not there yet instead of making an empty one.
 */
export async function withIndex<T>(db: string | undefined, use: (store: IndexStore) => Promise<T>, readOnly = false): Promise<T> {
  const location = db ?? defaultIndexDbPath();
  if (readOnly && !storeExists(location)) {
    throw new FerryError('USAGE', `There is no index at ${location} yet: add a root with \`ferry roots add ID PATH\` or \`ferry watch ROOT\`.`);
  }
  const store = await openIndexStore(location, { readOnly });
  try {
    return await use(store);
  } finally {
    await store.close();
  }
}
