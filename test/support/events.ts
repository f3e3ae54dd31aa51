import { isTriggerSample } from '../../app/cli/demo.js';
import { readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository's events/ folder. */
export const EVENTS_DIR = fileURLToPath(new URL('../../events/', import.meta.url));

const cache = new Map<string, unknown>();

/**
 * The sample payload `events/<name>.json` (e.g. `lambda/msk`), parsed. Every call returns a fresh
 * structuredClone, so a test may change what it gets without touching other tests.
 * @example const event = loadEvent('fc/timer') as { triggerName: string };
 */
export function loadEvent(name: string): unknown {
  let parsed = cache.get(name);
  if (parsed === undefined) {
    parsed = JSON.parse(loadEventBytes(name).toString('utf8')) as unknown;
    cache.set(name, parsed);
  }
  return structuredClone(parsed);
}

/** The file's bytes as a host would hand them over (FC's event Buffer, `sparkfn invoke`'s read). */
export function loadEventBytes(name: string): Buffer {
  return readFileSync(join(EVENTS_DIR, `${name}.json`));
}

/** Every sample's name (`<source>/<variant>`), read from the directory now, sorted. */
export function listEvents(dir: string = EVENTS_DIR): string[] {
  const names: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) names.push(...listEvents(path));
    else if (entry.name.endsWith('.json')) names.push(relative(EVENTS_DIR, path).replace(/\.json$/, '').split('\\').join('/'));
  }
  return names.sort();
}

/** The samples that are trigger payloads: everything but contents (events/filebeat/, any data/ folder). */
export function listTriggerEvents(): string[] {
  return listEvents().filter((name) => isTriggerSample(`${name}.json`));
}

/** Folders of events/ that show the platforms' own shapes; every sample there has an exact expectation. */
export const PLATFORM_EVENT_DIRS: ReadonlySet<string> = new Set(['fc', 'lambda', 'k8s', 'local']);
