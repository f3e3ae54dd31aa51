/**
 * The values of @kubernetes/client-node that sparkfn's functions use, in one module that only
 * `loadKubeClient` (load-client.ts) imports, lazily. A bundle keeps this module and what it
 * reaches in a chunk of its own, so client-node's 1.5 MB is compiled on the first cluster call,
 * not on every cold start (issue 8); an `import()` of the package itself would keep all of it,
 * since a bundler cannot tell which names of a dynamically imported namespace are used.
 * Type-only imports of the package are free and may stay anywhere.
 */
export {
  ApiException,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  NetworkingV1Api,
  PatchStrategy,
  setHeaderOptions,
  Watch,
} from '@kubernetes/client-node';
