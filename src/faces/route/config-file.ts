import { readFileSync } from 'node:fs';
import { stringify } from 'smol-toml';
import { describeFileError, FerryError } from '../../core/errors.js';
import { writeFileWhole } from '../../engine/write-file-whole.js';
import { checkConfig, formatProblem, type RouteDrive } from './config.js';

/** The commented configuration `ferry route init` writes. */
export function exampleConfig(source: string): string {
  return `# ferry route: sends each file of a source directory to the drive that takes its kind.
# Check this file with \`ferry route validate\`; see the README's "ferry route" section.

# The directory ferry watches. It is read, never changed.
${stringify({ source })}

# Where ferry keeps its queue and the list of what each drive has (relative to this file).
# Default: ~/.local/state/ferry/route.db
# database = "route.db"

[options]
# How long a file must be quiet before it is routed.
debounce = "500ms"
# How often the mount table is read for drives coming and going.
mount_poll = "2s"
# How often \`ferry route run\` walks the whole source (it also watches it).
rescan_every = "1h"
# A speed limit for writing to drives, such as "20M" (per second). None by default.
# bwlimit = "20M"
# gitignore-style patterns of files never routed. Hidden files, *.tmp, *.part and
# other partial downloads are never routed anyway.
ignore = []

# Categories. Built in: images, videos, audio, documents, archives, other; a file's
# category comes from its content (magic bytes, or a text check), the extension only
# breaking ties. Rules, tried in order before the built-in table, send files to a
# category of their own or to a built-in one. All the conditions a rule gives must
# hold: mime (globs), extensions, min_size, max_size.
#
# [[rule]]
# category = "raw-photos"
# extensions = ["cr2", "nef", "arw", "dng"]
#
# [[rule]]
# category = "big-videos"
# mime = ["video/*"]
# min_size = "1G"

# Drives. \`ferry route register-drive --label L --category C [--path MOUNT]\` writes
# a marker on the drive and adds a [[drive]] table here. Add \`folder = "incoming"\`
# to a drive to deliver into a folder of it instead of its root.
`;
}

/** Writes the example configuration at `path` (whole, durably), creating its directory. */
export function writeExampleConfig(path: string, source: string): Promise<void> {
  return writeFileWhole(path, exampleConfig(source));
}

/** Adds a [[drive]] table at the end of the configuration, keeping the rest (and its comments) as it was. */
export async function appendDrive(file: string, drive: RouteDrive): Promise<void> {
  const before = readFileSync(file, 'utf8');
  const table: Record<string, string> = { id: drive.id, label: drive.label, category: drive.category };
  if (drive.path) table.path = drive.path;
  if (drive.fsUuid) table.fs_uuid = drive.fsUuid;
  if (drive.fsLabel) table.fs_label = drive.fsLabel;
  const block = `\n# registered ${new Date().toISOString()}\n[[drive]]\n${stringify(table).trimEnd()}\n`;
  try {
    await writeFileWhole(file, `${before.endsWith('\n') || before === '' ? before : `${before}\n`}${block}`);
  } catch (err) {
    throw new FerryError('CONFIG', `Could not add the drive to ${file}: ${describeFileError(err)}; the file is as it was.`, { cause: err });
  }
  const { problems } = checkConfig(file);
  if (problems.length > 0) {
    await writeFileWhole(file, before);
    throw new FerryError('CONFIG', `Could not add the drive to ${file}: ${formatProblem(problems[0]!)}; the file is as it was.`);
  }
}
