import { readdir, readFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { zipSync, type Zippable } from 'fflate';

/** Every entry's timestamp: the zip format's earliest date, so a rebuild of the same files zips to the same bytes. */
const FIXED_MTIME = new Date('1980-01-01T00:00:00');

/**
 * Zips a folder deterministically (fflate): entries sorted by path, one fixed timestamp,
 * deflate level 9. The same bundle gives the same bytes, so its checksum tells a redeploy
 * whether FC already runs this code.
 */
export async function zipFolder(dir: string): Promise<Buffer> {
  const files: Record<string, Uint8Array> = {};
  for (const file of await listFiles(dir)) files[relative(dir, file).split(sep).join('/')] = await readFile(file);
  return zipFiles(files);
}

/**
 * Zips files given by their path in the archive (`/`-separated), the same deterministic way.
 * @example zipFiles({ 'functions/janitor/lambda.mjs': code })
 */
export function zipFiles(files: Readonly<Record<string, Uint8Array>>): Buffer {
  const entries: Zippable = {};
  for (const path of Object.keys(files).sort()) entries[path] = [files[path]!, { level: 9, mtime: FIXED_MTIME }];
  return Buffer.from(zipSync(entries));
}

async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const nested = await Promise.all(
    entries.map((e) => (e.isDirectory() ? listFiles(join(dir, e.name)) : e.isFile() ? Promise.resolve([join(dir, e.name)]) : Promise.resolve([]))),
  );
  return nested.flat();
}
