import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { normalizeTrigger } from '../../shared/platform/normalize.js';
import { KUBE_EVENTER_WEBHOOK_FORMAT, repairGoQuotedJson } from '../../shared/platform/kube-eventer.js';
import type { K8sEventsInput } from '../../shared/platform/trigger.js';
import { loadEvent } from '../support/events.js';

type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any -- events are edited freely below

const TEMPLATE_FILE = new URL('../../deploy/kube-eventer-webhook-template.yaml', import.meta.url);
const manifestText = readFileSync(TEMPLATE_FILE, 'utf8');
const manifest = parse(manifestText) as { kind: string; metadata: { name: string; namespace: string }; data: { content: string } };

// Go struct field → JSON name, where it is not just the lower-cased first letter.
const GO_TO_JSON: Record<string, string> = { ObjectMeta: 'metadata', UID: 'uid', APIVersion: 'apiVersion', ReportingController: 'reportingComponent' };
const goField = (event: Json, path: string): unknown =>
  path
    .slice(1)
    .split('.')
    .reduce((obj: Json, field) => obj?.[GO_TO_JSON[field] ?? field[0]!.toLowerCase() + field.slice(1)], event);

/**
 * Renders our template the way kube-eventer's text/template does for the constructs it uses:
 * `printf "%q"` (a JSON string for printable text), a number, and the zero-time `if`. Anything
 * else left in the output fails the test, so the template cannot grow a construct this does not check.
 */
function render(template: string, event: Json): string {
  const e = structuredClone(event);
  e.message = String(e.message ?? '').replaceAll('"', ''); // kube-eventer strips double quotes from the message
  let out = template.replace(
    /\{\{ if (\.[\w.]+)\.Time\.IsZero \}\}null\{\{ else \}\}"\{\{ \1\.Time\.UTC\.Format "([^"]+)" \}\}"\{\{ end \}\}/g,
    (_, path: string, layout: string) => {
      const value = goField(e, path);
      if (!value) return 'null';
      const iso = new Date(value as string).toISOString();
      return JSON.stringify(layout.includes('.000000') ? iso.replace(/\.(\d{3})Z$/, '.$1000Z') : iso.replace(/\.\d{3}Z$/, 'Z'));
    },
  );
  out = out.replace(/\{\{ printf "%q" (\.[\w.]+) \}\}/g, (_, path: string) => JSON.stringify(String(goField(e, path) ?? '')));
  out = out.replace(/\{\{ (\.[\w.]+) \}\}/g, (_, path: string) => String(goField(e, path) ?? 0));
  expect(out).not.toContain('{{');
  return out;
}

const eventsOf = (payload: unknown) => (normalizeTrigger(payload) as K8sEventsInput).events;

describe('kube-eventer webhook template', () => {
  it('is a ConfigMap with a `content` key, named as the sink flag in its comment says', () => {
    expect(manifest.kind).toBe('ConfigMap');
    expect(manifest.data.content).toContain(KUBE_EVENTER_WEBHOOK_FORMAT);
    expect(manifestText).toContain(`custom_body_configmap=${manifest.metadata.name}&custom_body_configmap_namespace=${manifest.metadata.namespace}`);
    expect(manifestText).toMatch(/--sink=webhook:\S+method=POST/);
  });

  it.each(['k8s/event', 'local/k8s-events'])('renders the events in %s to a body that decodes to the same events', (name) => {
    const payload = loadEvent(name) as Json;
    const events: Json[] = payload.events ?? [payload];
    for (const event of events) {
      const body = render(manifest.data.content, event);
      const fromWebhook = eventsOf(Buffer.from(body));
      expect(fromWebhook).toEqual(eventsOf(event));
    }
  });

  it('renders unset strings and zero times so that they decode as absent', () => {
    const event = loadEvent('k8s/event') as Json;
    delete event.source;
    event.lastTimestamp = null;
    const [decoded] = eventsOf(render(manifest.data.content, event));
    expect(decoded).not.toHaveProperty('lastTimestamp');
    // Go marshals an empty EventSource as {}, as the apiserver does.
    expect(decoded!.source).toEqual({});
    expect(decoded!.firstTimestamp).toEqual(new Date('2025-05-14T02:31:47Z'));
  });

  it('carries a message with quotes, newlines and non-ASCII text', () => {
    const event = loadEvent('k8s/event') as Json;
    event.message = 'Executor lost: "exit 137"\nnode cn-hangzhou-k → 回收';
    const [decoded] = eventsOf(render(manifest.data.content, event));
    expect(decoded!.message).toBe('Executor lost: exit 137\nnode cn-hangzhou-k → 回收');
  });
});

describe('repairGoQuotedJson', () => {
  it('turns the escapes only Go writes into JSON escapes and keeps escaped backslashes', () => {
    const goQuoted = String.raw`{"m":"bell\a tab\v esc\x1b[0m tag\U000e0001 path C:\\x41"}`;
    expect(() => JSON.parse(goQuoted)).toThrow();
    expect(JSON.parse(repairGoQuotedJson(goQuoted))).toEqual({ m: 'bell\u0007 tab\u000b esc\u001b[0m tag\u{e0001} path C:\\x41' });
  });

  it('lets normalizeTrigger read a webhook body with Go-only escapes', () => {
    const body = JSON.stringify(loadEvent('k8s/kube-eventer-webhook')).replace('released in 3 minutes', String.raw`released\a in 3 minutes`);
    const [decoded] = eventsOf(Buffer.from(body));
    expect(decoded!.message).toBe('Spot ECI will be released\u0007 in 3 minutes');
  });
});
