import { stat } from 'node:fs/promises';
import { errorMessage } from '../../shared/errors.js';
import { crc64 } from './crc64.js';
import { isNotFound, type FcApi } from './fc-client.js';
import type { DesiredFunction, DesiredState, FcFunctionConfig } from './fc-plan.js';
import type { FcTrigger } from './fc-triggers.js';
import { zipFolder } from './zip-folder.js';

/**
 * Compares the desired FC state with what FC has (read through fc2) and applies the difference:
 * create what is missing, update what differs, leave what matches, and never delete (a trigger
 * FC has but serverless.yml does not is shown and left alone).
 */

export type Action = 'create' | 'update' | 'unchanged' | 'blocked' | 'left alone';

export interface PlanStep {
  resource: 'service' | 'function' | 'trigger';
  /** `service`, `service/function` or `service/function/trigger`. */
  name: string;
  action: Action;
  details: string;
  /** Runs the step; absent for unchanged, blocked and left-alone steps. */
  apply?: (client: FcApi) => Promise<unknown>;
}

export interface DeploySummary {
  created: number;
  updated: number;
  unchanged: number;
  blocked: number;
  failed: number;
}

/** A function's zipped bundle and its FC checksum; undefined when the bundle is not built. */
type Code = { zip: Buffer; checksum: string } | undefined;

async function readCode(bundleDir: string): Promise<Code> {
  const found = await stat(bundleDir).then((s) => s.isDirectory(), () => false);
  if (!found) return undefined;
  const zip = await zipFolder(bundleDir);
  return { zip, checksum: crc64(zip) };
}

/** Does `actual` hold every value of `desired` (extra keys FC adds are fine)? */
export function contains(actual: unknown, desired: unknown): boolean {
  if (desired === null || typeof desired !== 'object') return actual === desired;
  if (Array.isArray(desired)) return Array.isArray(actual) && actual.length === desired.length && desired.every((d, i) => contains(actual[i], d));
  if (actual === null || typeof actual !== 'object' || Array.isArray(actual)) return false;
  return Object.entries(desired).every(([k, v]) => contains((actual as Record<string, unknown>)[k], v));
}

const sameMap = (a: unknown, b: Record<string, string>) =>
  contains(a ?? {}, b) && Object.keys((a as Record<string, unknown>) ?? {}).length === Object.keys(b).length;

const FIELDS = ['description', 'runtime', 'handler', 'memorySize', 'timeout'] as const;

function describeFunction(c: FcFunctionConfig): string {
  return `${c.runtime} ${c.handler}, ${c.memorySize} MB, ${c.timeout} s, ${Object.keys(c.environmentVariables).length} env vars`;
}

/** Which settings differ; environment values are never shown, only the names that changed. */
function functionChanges(actual: Record<string, unknown>, desired: FcFunctionConfig): { changed: Partial<FcFunctionConfig>; notes: string[] } {
  const changed: Record<string, unknown> = {};
  const notes: string[] = [];
  for (const field of FIELDS) {
    if ((actual[field] ?? '') !== desired[field]) {
      changed[field] = desired[field];
      notes.push(field === 'description' ? 'description' : `${field} ${String(actual[field])} → ${String(desired[field])}`);
    }
  }
  if (!sameMap(actual.environmentVariables, desired.environmentVariables)) {
    changed.environmentVariables = desired.environmentVariables;
    const before = (actual.environmentVariables ?? {}) as Record<string, string>;
    const names = new Set([...Object.keys(before), ...Object.keys(desired.environmentVariables)]);
    notes.push(`env ${[...names].filter((n) => before[n] !== desired.environmentVariables[n]).sort().join(', ')}`);
  }
  return { changed: changed as Partial<FcFunctionConfig>, notes };
}

/**
 * EventBridge reads `triggerEnable` back as false until the event stream has started, so it is
 * not compared: otherwise every redeploy right after a create would "update" it
 * (https://docs.serverless-devs.com/fc/yaml/triggers, EventBridge triggerEnable).
 */
function comparable(trigger: FcTrigger): Record<string, unknown> {
  if (trigger.triggerType !== 'eventbridge') return trigger.triggerConfig;
  const { triggerEnable: _ignored, ...rest } = trigger.triggerConfig;
  return rest;
}

async function listAllTriggers(client: FcApi, service: string, fn: string): Promise<Record<string, unknown>[]> {
  const all: Record<string, unknown>[] = [];
  let nextToken: string | undefined;
  do {
    const { data } = await client.listTriggers(service, fn, { limit: 100, ...(nextToken && { nextToken }) });
    all.push(...(data.triggers ?? []));
    nextToken = data.nextToken || undefined;
  } while (nextToken);
  return all;
}

async function getOrUndefined<T>(read: () => Promise<{ data: T }>): Promise<T | undefined> {
  try {
    return (await read()).data;
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

function triggerSteps(service: string, fn: DesiredFunction, existing: Record<string, unknown>[]): PlanStep[] {
  const fnName = fn.config.functionName;
  const byName = new Map(existing.map((t) => [String(t.triggerName), t]));
  const steps: PlanStep[] = fn.triggers.map((trigger): PlanStep => {
    const name = `${service}/${fnName}/${trigger.triggerName}`;
    const details = `${trigger.triggerType}: ${trigger.summary}`;
    if (trigger.blocked) return { resource: 'trigger', name, action: 'blocked', details: `${details}; ${trigger.blocked}` };
    const body = { triggerName: trigger.triggerName, triggerType: trigger.triggerType, triggerConfig: trigger.triggerConfig };
    const actual = byName.get(trigger.triggerName);
    if (!actual) return { resource: 'trigger', name, action: 'create', details, apply: (c) => c.createTrigger(service, fnName, body) };
    if (actual.triggerType !== trigger.triggerType) {
      return { resource: 'trigger', name, action: 'blocked', details: `FC has a ${String(actual.triggerType)} trigger by this name; delete it to let sparkfn create the ${trigger.triggerType} trigger` };
    }
    if (contains(actual.triggerConfig, comparable(trigger))) return { resource: 'trigger', name, action: 'unchanged', details };
    return { resource: 'trigger', name, action: 'update', details, apply: (c) => c.updateTrigger(service, fnName, trigger.triggerName, { triggerConfig: trigger.triggerConfig }) };
  });
  const wanted = new Set(fn.triggers.map((t) => t.triggerName));
  for (const t of existing) {
    if (!wanted.has(String(t.triggerName))) steps.push({ resource: 'trigger', name: `${service}/${fnName}/${String(t.triggerName)}`, action: 'left alone', details: `${String(t.triggerType)}: not in serverless.yml` });
  }
  return steps;
}

async function functionSteps(client: FcApi | undefined, service: string, serviceExists: boolean, fn: DesiredFunction): Promise<PlanStep[]> {
  const { config } = fn;
  const name = `${service}/${config.functionName}`;
  const code = await readCode(fn.bundleDir);
  const actual = client && serviceExists ? await getOrUndefined(() => client.getFunction(service, config.functionName)) : undefined;
  if (!actual) {
    const details = `${describeFunction(config)}, code ${fn.bundleDir}`;
    const step: PlanStep = code
      ? { resource: 'function', name, action: 'create', details: `${details} (${code.zip.length} bytes zipped)`, apply: (c) => c.createFunction(service, { ...config, code: { zipFile: code.zip.toString('base64') } }) }
      : { resource: 'function', name, action: client ? 'blocked' : 'create', details: `${details} (not built yet: npm run build)` };
    return [step, ...triggerSteps(service, fn, [])];
  }
  const { changed, notes } = functionChanges(actual, config);
  const codeChanged = code !== undefined && String(actual.codeChecksum ?? '') !== code.checksum;
  if (codeChanged) notes.push('code');
  if (!code) notes.push(`code not compared (${fn.bundleDir} not built)`);
  const existing = await listAllTriggers(client!, service, config.functionName);
  const changes = Object.keys(changed).length > 0 || codeChanged;
  const step: PlanStep = changes
    ? { resource: 'function', name, action: 'update', details: notes.join('; '), apply: (c) => c.updateFunction(service, config.functionName, { ...changed, ...(codeChanged && { code: { zipFile: code.zip.toString('base64') } }) }) }
    : { resource: 'function', name, action: 'unchanged', details: [describeFunction(config), ...notes].join('; ') };
  return [step, ...triggerSteps(service, fn, existing)];
}

/**
 * The steps that make FC match `desired`. With no client (no credentials) nothing is read and
 * every resource shows as a create: the full desired state.
 */
export async function planSteps(desired: DesiredState, client: FcApi | undefined): Promise<PlanStep[]> {
  const { serviceName, description } = desired.service;
  const actual = client ? await getOrUndefined(() => client.getService(serviceName)) : undefined;
  const serviceStep: PlanStep = !actual
    ? { resource: 'service', name: serviceName, action: 'create', details: description, apply: (c) => c.createService(serviceName, { description }) }
    : actual.description === description
      ? { resource: 'service', name: serviceName, action: 'unchanged', details: description }
      : { resource: 'service', name: serviceName, action: 'update', details: 'description', apply: (c) => c.updateService(serviceName, { description }) };
  const steps = [serviceStep];
  for (const fn of desired.functions) steps.push(...(await functionSteps(client, serviceName, actual !== undefined, fn)));
  return steps;
}

/** Runs every create and update in order; one that fails is reported and the rest go on (its triggers are skipped). */
export async function applySteps(steps: PlanStep[], client: FcApi, report: (step: PlanStep, error?: string) => void): Promise<DeploySummary> {
  const summary: DeploySummary = { created: 0, updated: 0, unchanged: 0, blocked: 0, failed: 0 };
  const failedParents = new Set<string>();
  for (const step of steps) {
    const parent = step.name.split('/').slice(0, -1).join('/');
    if (step.action === 'unchanged' || step.action === 'left alone') {
      summary.unchanged++;
      continue;
    }
    if (step.action === 'blocked' || failedParents.has(parent) || (step.resource === 'trigger' && failedParents.has(parent.split('/')[0]!))) {
      summary.blocked++;
      failedParents.add(step.name);
      if (step.action !== 'blocked') report(step, `skipped: ${parent} failed`);
      continue;
    }
    try {
      await step.apply!(client);
      summary[step.action === 'create' ? 'created' : 'updated']++;
      report(step);
    } catch (err) {
      summary.failed++;
      failedParents.add(step.name);
      report(step, errorMessage(err));
    }
  }
  return summary;
}
