import { InvalidArgumentError } from 'commander';

/** What `-o` / `--output` takes on every command that prints a table, as kubectl's `-o` does. */
export const OUTPUT_FORMATS = ['table', 'json'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];
/** The option's flags and help, the same on every command. */
export const OUTPUT_FLAGS = '-o, --output <table|json>';
export const OUTPUT_HELP = 'table for people (default), or json: one document with the fields README.md documents (stable)';

/** commander's parser for `-o`: `table` or `json`, else a usage error (exit 2). */
export function outputFormat(value: string): OutputFormat {
  if (!(OUTPUT_FORMATS as readonly string[]).includes(value)) throw new InvalidArgumentError(`-o takes ${OUTPUT_FORMATS.join(' or ')}.`);
  return value as OutputFormat;
}

/** A document printed for programs: indented JSON and a final newline. */
export function jsonDocument(value: unknown): string {
  return JSON.stringify(value, null, 2) + '\n';
}
