import { isUtf8 } from 'node:buffer';
import { ConfigError } from '../../shared/errors.js';

/** The placeholders a record-key template may use; `_` matches anything and is ignored. */
export const KEY_PLACEHOLDERS = ['appType', 'appId', 'executorId', 'stream', '_'] as const;
export type KeyPlaceholder = (typeof KEY_PLACEHOLDERS)[number];

/** A parsed template such as `<appType>/<appId>/<executorId>`. */
export interface KeyTemplate {
  /** The template as written. */
  source: string;
  /** Anchored; one capture group per placeholder, in `names` order. */
  pattern: RegExp;
  names: KeyPlaceholder[];
}

/** What a record key said, by placeholder. Empty captures are left out. */
export type KeyFields = Partial<Record<Exclude<KeyPlaceholder, '_'>, string>>;

const TOKEN = /<([^<>]*)>/g;

/**
 * Parses a record-key template: literal text with `<name>` placeholders. Every placeholder but
 * the last matches as little as it can, so literal separators split the key left to right.
 * Throws ConfigError naming SPARKFN_ARCHIVER_KEY_TEMPLATE for unknown or repeated placeholders.
 * @example parseKeyTemplate('<appType>/<appId>/<executorId>').names // ['appType', 'appId', 'executorId']
 */
export function parseKeyTemplate(source: string): KeyTemplate {
  const names: KeyPlaceholder[] = [];
  let pattern = '^';
  let last = 0;
  const problem = (message: string) =>
    new ConfigError(`Invalid configuration: SPARKFN_ARCHIVER_KEY_TEMPLATE ${message}.`, [
      { variable: 'SPARKFN_ARCHIVER_KEY_TEMPLATE', message: `SPARKFN_ARCHIVER_KEY_TEMPLATE ${message}` },
    ]);
  const tokens = [...source.matchAll(TOKEN)];
  tokens.forEach((token, index) => {
    const name = token[1] as KeyPlaceholder;
    if (!KEY_PLACEHOLDERS.includes(name)) throw problem(`has an unknown placeholder <${token[1]}>; use ${KEY_PLACEHOLDERS.map((p) => `<${p}>`).join(', ')}`);
    if (name !== '_' && names.includes(name)) throw problem(`uses <${name}> twice`);
    pattern += escape(source.slice(last, token.index)) + (index === tokens.length - 1 ? '(.*)' : '(.*?)');
    names.push(name);
    last = token.index + token[0].length;
  });
  pattern += `${escape(source.slice(last))}$`;
  if (!names.includes('appId') || !names.includes('executorId')) throw problem('must contain <appId> and <executorId>');
  // `s`: a key is bytes, and a newline in it must not end the match early.
  return { source, pattern: new RegExp(pattern, 's'), names };
}

/**
 * The fields a record key carries, or undefined when there is no key, it is not UTF-8 text, or it
 * does not have the template's shape.
 * @example matchKeyTemplate(parseKeyTemplate('<appType>/<appId>/<executorId>'), Buffer.from('spark/spark-1a2b/7'))
 * // { appType: 'spark', appId: 'spark-1a2b', executorId: '7' }
 */
export function matchKeyTemplate(template: KeyTemplate, key: Buffer | null): KeyFields | undefined {
  if (key === null || key.length === 0 || !isUtf8(key)) return undefined;
  const match = template.pattern.exec(key.toString('utf8'));
  if (!match) return undefined;
  const fields: KeyFields = {};
  template.names.forEach((name, i) => {
    const value = match[i + 1];
    if (name !== '_' && value) fields[name] = value;
  });
  return fields;
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
