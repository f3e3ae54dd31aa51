import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';
import { loadKubeClient } from './load-client.js';

/** One request for `requestJson`. */
export interface RawRequest {
  method?: string;
  /** Absolute API path, e.g. `/api/v1/namespaces/spark/pods`. */
  path: string;
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  contentType?: string;
  signal?: AbortSignal;
}

function flatHeaders(headers: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) if (v !== undefined) out[k] = Array.isArray(v) ? v.join(', ') : v;
  return out;
}

/**
 * One JSON request through a KubeConfig's TLS settings and credentials, for paths the typed
 * APIs do not cover generically. A non-2xx answer throws client-node's ApiException (body as
 * text), the same shape the typed calls throw, so classifyApiError treats both alike.
 */
export async function requestJson<T>(kubeConfig: KubeConfig, req: RawRequest): Promise<T> {
  const cluster = kubeConfig.getCurrentCluster();
  if (!cluster) throw new Error('The kubeconfig has no current cluster.');
  const { ApiException } = await loadKubeClient();
  const url = new URL(cluster.server.replace(/\/+$/, '') + req.path);
  for (const [k, v] of Object.entries(req.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
  const opts: RequestOptions = {};
  await kubeConfig.applyToHTTPSOptions(opts);
  const payload = req.body === undefined ? undefined : JSON.stringify(req.body);
  const headers: Record<string, string> = { ...(opts.headers as Record<string, string>), Accept: 'application/json' };
  if (payload !== undefined) {
    headers['Content-Type'] = req.contentType ?? 'application/json';
    // Node frames no body for DELETE by default (no chunked encoding): without a length the
    // apiserver reads an empty DeleteOptions and answers 400.
    headers['Content-Length'] = String(Buffer.byteLength(payload));
  }
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise<T>((resolve, reject) => {
    const outgoing = send(url, { ...opts, method: req.method ?? 'GET', headers, signal: req.signal }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        const code = res.statusCode ?? 0;
        if (code < 200 || code > 299) {
          reject(new ApiException<string>(code, `HTTP ${code}`, text, flatHeaders(res.headers)));
          return;
        }
        try {
          resolve(JSON.parse(text) as T);
        } catch (err) {
          reject(err);
        }
      });
    });
    outgoing.on('error', reject);
    outgoing.end(payload);
  });
}
