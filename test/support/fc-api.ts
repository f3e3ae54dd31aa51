import { createHash, createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { crc32, inflateRawSync } from 'node:zlib';

/**
 * A local stand-in for the Function Compute API (version 2016-08-15, the one @alicloud/fc2 speaks),
 * enough for deploy: services, functions and triggers. It checks what FC checks on every request
 * (the `FC <AccessKeyId>:<signature>` Authorization over method, Content-MD5, Content-Type, Date,
 * the x-fc-* headers and the path; Content-MD5 against the body) and answers as FC does: JSON
 * resources, `{ErrorCode, ErrorMessage}` errors with 404 for a missing resource and 409 for an
 * existing one, an x-fc-request-id header.
 *
 * Faithful where deploy depends on it:
 * - a function's `codeChecksum` is the CRC-64/XZ of its zip, as a decimal string (computed here
 *   bit by bit, independently of app/deploy/crc64.ts), and a code body must be a valid zip;
 * - updates merge the given fields into the resource (FC's PUT is a partial update);
 * - an EventBridge trigger with a Kafka source reads `triggerEnable: false` back until its event
 *   stream has started (Serverless Devs' trigger docs describe this), which here is never.
 * Assumed rather than confirmed against FC: the exact error codes for a bad signature
 * (`SignatureNotMatch`, 403) and invalid arguments (`InvalidArgument`, 400), and 200 (not 201) on create.
 */

const VERSION = '2016-08-15';
const RUNTIMES = new Set(['nodejs12', 'nodejs14', 'nodejs16', 'nodejs18', 'nodejs20', 'python3.9', 'python3.10', 'java11', 'custom', 'custom.debian10']);
const HTTP_METHODS = new Set(['GET', 'POST', 'PUT', 'DELETE', 'HEAD', 'PATCH', 'OPTIONS']);
const EVENT_SOURCE_TYPES = new Set(['Default', 'MNS', 'RocketMQ', 'RabbitMQ', 'Kafka', 'DTS']);
const NAME = /^[a-zA-Z_][a-zA-Z0-9_-]{0,127}$/;

export interface FcApiRequest {
  method: string;
  /** Without the /2016-08-15 prefix, as fc2's methods name it: `/services/svc/functions`. */
  path: string;
  query: Record<string, string>;
  body: unknown;
  authorization: string | undefined;
  status: number;
}

export interface StoredFunction extends Record<string, unknown> {
  functionName: string;
  /** Paths inside the zip FC was given last. */
  codeEntries: string[];
}

export interface FcApiStandIn {
  url: string;
  accountId: string;
  accessKeyId: string;
  accessKeySecret: string;
  region: string;
  requests: FcApiRequest[];
  /** Every request that is not a GET. */
  writes(): FcApiRequest[];
  services: Map<string, { service: Record<string, unknown>; functions: Map<string, { fn: StoredFunction; triggers: Map<string, Record<string, unknown>> }> }>;
  /** The next request matching `method` and `path` (a regular expression over the path) is answered with this error. */
  failNext(method: string, path: RegExp, status: number, errorCode: string): void;
  close(): Promise<void>;
}

class FcError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** CRC-64/XZ, bit by bit: slow and obviously the textbook definition. */
function crc64Reference(data: Buffer): string {
  let crc = 0xffffffffffffffffn;
  for (const byte of data) {
    crc ^= BigInt(byte);
    for (let k = 0; k < 8; k++) crc = crc & 1n ? (crc >> 1n) ^ 0xc96c5795d7870f42n : crc >> 1n;
  }
  return (crc ^ 0xffffffffffffffffn).toString();
}

/** The entry names of a zip, after inflating each entry and checking its CRC-32. */
function readZip(zip: Buffer): string[] {
  const end = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  if (end < 0 || end + 22 > zip.length) throw new FcError(400, 'InvalidArgument', 'code.zipFile is not a zip file (no end of central directory).');
  const count = zip.readUInt16LE(end + 10);
  let at = zip.readUInt32LE(end + 16);
  const names: string[] = [];
  for (let i = 0; i < count; i++) {
    if (zip.readUInt32LE(at) !== 0x02014b50) throw new FcError(400, 'InvalidArgument', 'code.zipFile has a broken central directory.');
    const method = zip.readUInt16LE(at + 10);
    const crc = zip.readUInt32LE(at + 16);
    const packedSize = zip.readUInt32LE(at + 20);
    const nameLength = zip.readUInt16LE(at + 28);
    const extra = zip.readUInt16LE(at + 30);
    const comment = zip.readUInt16LE(at + 32);
    const local = zip.readUInt32LE(at + 42);
    const name = zip.subarray(at + 46, at + 46 + nameLength).toString('utf8');
    if (zip.readUInt32LE(local) !== 0x04034b50) throw new FcError(400, 'InvalidArgument', `code.zipFile: no local header for ${name}.`);
    const dataAt = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
    const packed = zip.subarray(dataAt, dataAt + packedSize);
    const data = method === 8 ? inflateRawSync(packed) : method === 0 ? packed : undefined;
    if (!data || crc32(data) !== crc) throw new FcError(400, 'InvalidArgument', `code.zipFile: entry ${name} is corrupt.`);
    names.push(name);
    at += 46 + nameLength + extra + comment;
  }
  return names;
}

function stringToSign(req: IncomingMessage, path: string): string {
  const h = req.headers;
  const fcHeaders = Object.keys(h)
    .filter((k) => k.startsWith('x-fc-'))
    .sort()
    .map((k) => `${k}:${String(h[k])}\n`)
    .join('');
  return `${req.method}\n${h['content-md5'] ?? ''}\n${h['content-type'] ?? ''}\n${h.date ?? ''}\n${fcHeaders}${path}`;
}

const now = () => new Date().toISOString();

function validateFunction(body: Record<string, unknown>, creating: boolean): void {
  const bad = (message: string) => new FcError(400, 'InvalidArgument', message);
  if (creating && !NAME.test(String(body.functionName ?? ''))) throw bad(`functionName "${String(body.functionName)}" is invalid.`);
  if (creating && !body.code) throw bad('code is required.');
  if (body.runtime !== undefined && !RUNTIMES.has(String(body.runtime))) throw bad(`runtime ${String(body.runtime)} is not supported.`);
  if (creating && !body.handler) throw bad('handler is required.');
  const memory = body.memorySize as number | undefined;
  if (memory !== undefined && (!Number.isInteger(memory) || memory < 128 || memory > 32768 || memory % 64 !== 0)) throw bad(`memorySize ${memory} must be a multiple of 64 from 128 to 32768.`);
  const timeout = body.timeout as number | undefined;
  if (timeout !== undefined && (!Number.isInteger(timeout) || timeout < 1 || timeout > 86400)) throw bad(`timeout ${timeout} must be 1 to 86400.`);
}

function validateTrigger(type: string, config: Record<string, unknown>): void {
  const bad = (message: string) => new FcError(400, 'InvalidArgument', message);
  if (type === 'timer') {
    const cron = String(config.cronExpression ?? '');
    if (!/^@every (\d+h)?(\d+m)?$/.test(cron) && cron.split(' ').length !== 6) throw bad(`cronExpression "${cron}" is invalid.`);
    if (/^@every 0/.test(cron) || cron === '@every ') throw bad('the interval must be at least 1m.');
  } else if (type === 'http') {
    if (!['anonymous', 'function'].includes(String(config.authType))) throw bad(`authType ${String(config.authType)} is invalid.`);
    const methods = config.methods;
    if (!Array.isArray(methods) || methods.length === 0 || !methods.every((m) => HTTP_METHODS.has(String(m)))) throw bad('methods must list HTTP methods.');
  } else if (type === 'eventbridge') {
    const source = (config.eventSourceConfig ?? {}) as Record<string, unknown>;
    if (!EVENT_SOURCE_TYPES.has(String(source.eventSourceType))) throw bad(`eventSourceType ${String(source.eventSourceType)} is invalid.`);
    try {
      JSON.parse(String(config.eventRuleFilterPattern));
    } catch {
      throw bad('eventRuleFilterPattern must be a JSON string.');
    }
  } else {
    throw bad(`triggerType ${type} is not supported by this stand-in.`);
  }
}

/** What FC shows for a stored trigger: a Kafka event stream that has not started reads as disabled. */
function triggerView(trigger: Record<string, unknown>): Record<string, unknown> {
  const config = trigger.triggerConfig as Record<string, unknown>;
  const source = (config?.eventSourceConfig ?? {}) as Record<string, unknown>;
  if (trigger.triggerType === 'eventbridge' && source.eventSourceType === 'Kafka') return { ...trigger, triggerConfig: { ...config, triggerEnable: false } };
  return trigger;
}

/** Starts the stand-in on 127.0.0.1 with a random port. */
export async function startFcApi(options: { accessKeySecret?: string } = {}): Promise<FcApiStandIn> {
  const accountId = '1234567890123456';
  const accessKeyId = 'LTAI-test-access-key';
  const accessKeySecret = options.accessKeySecret ?? `secret-${randomUUID()}`;
  const services: FcApiStandIn['services'] = new Map();
  const requests: FcApiRequest[] = [];
  const faults: { method: string; path: RegExp; status: number; code: string }[] = [];

  function route(method: string, parts: string[], query: Record<string, string>, body: Record<string, unknown>): [number, unknown] {
    const [, serviceName, , functionName, , triggerName] = parts;
    if (parts[0] !== 'services') throw new FcError(404, 'PathNotSupported', `${method} /${parts.join('/')} is not supported.`);
    if (parts.length === 1 && method === 'POST') {
      const name = String(body.serviceName ?? '');
      if (!NAME.test(name)) throw new FcError(400, 'InvalidArgument', `serviceName "${name}" is invalid.`);
      if (services.has(name)) throw new FcError(409, 'ServiceAlreadyExists', `service '${name}' already exists`);
      const service = { description: '', role: '', internetAccess: true, ...body, serviceName: name, serviceId: randomUUID(), createdTime: now(), lastModifiedTime: now() };
      services.set(name, { service, functions: new Map() });
      return [200, service];
    }
    const svc = services.get(serviceName ?? '');
    if (!svc) throw new FcError(404, 'ServiceNotFound', `service '${serviceName}' does not exist`);
    if (parts.length === 2) {
      if (method === 'GET') return [200, svc.service];
      if (method === 'PUT') {
        Object.assign(svc.service, body, { serviceName, lastModifiedTime: now() });
        return [200, svc.service];
      }
    }
    if (parts.length === 3 && parts[2] === 'functions' && method === 'POST') {
      validateFunction(body, true);
      const name = String(body.functionName);
      if (svc.functions.has(name)) throw new FcError(409, 'FunctionAlreadyExists', `function '${name}' already exists in service '${serviceName}'`);
      const fn = { functionId: randomUUID(), environmentVariables: {}, description: '', instanceConcurrency: 1, createdTime: now(), codeEntries: [] as string[], functionName: name } as StoredFunction;
      setFunction(fn, body);
      svc.functions.set(name, { fn, triggers: new Map() });
      return [200, publicFunction(fn)];
    }
    const entry = svc.functions.get(functionName ?? '');
    if (parts.length >= 4 && parts[2] === 'functions' && !entry) throw new FcError(404, 'FunctionNotFound', `function '${functionName}' does not exist in service '${serviceName}'`);
    if (parts.length === 4 && entry) {
      if (method === 'GET') return [200, publicFunction(entry.fn)];
      if (method === 'PUT') {
        validateFunction(body, false);
        setFunction(entry.fn, body);
        return [200, publicFunction(entry.fn)];
      }
    }
    if (parts.length === 5 && parts[4] === 'triggers' && entry) {
      if (method === 'GET') {
        const all = [...entry.triggers.values()].sort((a, b) => String(a.triggerName).localeCompare(String(b.triggerName)));
        const start = query.nextToken ? all.findIndex((t) => t.triggerName === query.nextToken) : 0;
        const limit = Number(query.limit ?? 20);
        const page = all.slice(Math.max(start, 0), Math.max(start, 0) + limit);
        const next = all[Math.max(start, 0) + limit];
        return [200, { triggers: page.map(triggerView), nextToken: next ? String(next.triggerName) : '' }];
      }
      if (method === 'POST') {
        const name = String(body.triggerName ?? '');
        if (!NAME.test(name)) throw new FcError(400, 'InvalidArgument', `triggerName "${name}" is invalid.`);
        validateTrigger(String(body.triggerType), (body.triggerConfig ?? {}) as Record<string, unknown>);
        if (entry.triggers.has(name)) throw new FcError(409, 'TriggerAlreadyExists', `trigger '${name}' already exists`);
        const trigger = { qualifier: 'LATEST', sourceArn: '', invocationRole: '', ...body, triggerName: name, createdTime: now(), lastModifiedTime: now() };
        entry.triggers.set(name, trigger);
        return [200, triggerView(trigger)];
      }
    }
    if (parts.length === 6 && parts[4] === 'triggers' && entry) {
      const trigger = entry.triggers.get(triggerName ?? '');
      if (!trigger) throw new FcError(404, 'TriggerNotFound', `trigger '${triggerName}' does not exist`);
      if (method === 'GET') return [200, triggerView(trigger)];
      if (method === 'PUT') {
        if (body.triggerConfig) validateTrigger(String(trigger.triggerType), body.triggerConfig as Record<string, unknown>);
        Object.assign(trigger, body, { triggerName, triggerType: trigger.triggerType, lastModifiedTime: now() });
        return [200, triggerView(trigger)];
      }
    }
    throw new FcError(404, 'PathNotSupported', `${method} /${parts.join('/')} is not supported.`);
  }

  function setFunction(fn: StoredFunction, body: Record<string, unknown>): void {
    const { code, ...rest } = body;
    if (code) {
      const zipFile = (code as Record<string, unknown>).zipFile;
      if (typeof zipFile !== 'string') throw new FcError(400, 'InvalidArgument', 'code must hold zipFile (base64) here; OSS locations are not emulated.');
      const zip = Buffer.from(zipFile, 'base64');
      fn.codeEntries = readZip(zip);
      fn.codeChecksum = crc64Reference(zip);
      fn.codeSize = zip.length;
    }
    Object.assign(fn, rest, { functionName: fn.functionName, lastModifiedTime: now() });
  }

  const publicFunction = ({ codeEntries: _hidden, ...fn }: StoredFunction) => fn;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks);
    const url = new URL(req.url ?? '/', 'http://fc.invalid');
    const path = url.pathname.slice(`/${VERSION}`.length);
    const query = Object.fromEntries(url.searchParams);
    const method = req.method ?? 'GET';
    let body: Record<string, unknown> = {};
    const record: FcApiRequest = { method, path, query, body: undefined, authorization: req.headers.authorization, status: 0 };
    requests.push(record);
    const send = (status: number, payload: unknown) => {
      record.status = status;
      res.writeHead(status, { 'content-type': 'application/json', 'x-fc-request-id': randomUUID() });
      res.end(JSON.stringify(payload));
    };
    try {
      if (!url.pathname.startsWith(`/${VERSION}/`)) throw new FcError(404, 'PathNotSupported', `API version must be ${VERSION}.`);
      const expected = `FC ${accessKeyId}:${createHmac('sha256', accessKeySecret).update(stringToSign(req, url.pathname), 'utf8').digest('base64')}`;
      const given = Buffer.from(req.headers.authorization ?? '');
      if (given.length !== expected.length || !timingSafeEqual(given, Buffer.from(expected))) {
        throw new FcError(403, 'SignatureNotMatch', 'The request signature we calculated does not match the signature you provided.');
      }
      if (req.headers['x-fc-account-id'] !== accountId) throw new FcError(403, 'InvalidAccountId', 'x-fc-account-id does not match the endpoint.');
      if (raw.length > 0) {
        const md5 = Buffer.from(createHash('md5').update(raw).digest('hex'), 'utf8').toString('base64');
        if (req.headers['content-md5'] !== md5) throw new FcError(400, 'InvalidArgument', 'Content-MD5 does not match the body.');
        body = JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
        record.body = body;
      }
      const fault = faults.findIndex((f) => f.method === method && f.path.test(path));
      if (fault >= 0) {
        const [f] = faults.splice(fault, 1);
        throw new FcError(f!.status, f!.code, `injected ${f!.code}`);
      }
      const [status, payload] = route(method, path.split('/').filter(Boolean), query, body);
      send(status, payload);
    } catch (err) {
      if (err instanceof FcError) send(err.status, { ErrorCode: err.code, ErrorMessage: err.message });
      else send(500, { ErrorCode: 'InternalServerError', ErrorMessage: String(err) });
    }
  }

  const server = createServer((req, res) => void handle(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    accountId,
    accessKeyId,
    accessKeySecret,
    region: 'cn-hangzhou',
    requests,
    writes: () => requests.filter((r) => r.method !== 'GET'),
    services,
    failNext: (method, path, status, code) => faults.push({ method, path, status, code }),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}
