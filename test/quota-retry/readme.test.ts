import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { submissionJsonSchema } from '../../functions/quota-retry/submission.js';
import { fn } from '../../functions/quota-retry/handler.js';
import { normalizeTrigger } from '../../shared/platform/normalize.js';
import { listTriggerEvents, loadEvent } from '../support/events.js';

describe('quota-retry: what it publishes', () => {
  it('publishes the webhook JSON schema in its README exactly as the parser checks it', () => {
    const readme = readFileSync(new URL('../../functions/quota-retry/README.md', import.meta.url), 'utf8');
    const section = readme.slice(readme.indexOf('## The webhook'));
    const block = /```json\n([\s\S]*?)\n```/.exec(section)![1]!;
    expect(JSON.parse(block)).toEqual(submissionJsonSchema());
  });

  it('takes every trigger sample in events/quota-retry/', () => {
    const samples = listTriggerEvents().filter((name) => name.startsWith('quota-retry/'));
    expect(samples.length).toBeGreaterThanOrEqual(5);
    for (const name of samples) expect(fn.triggers).toContain(normalizeTrigger(loadEvent(name)).kind);
  });
});
