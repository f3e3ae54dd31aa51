/**
 * The names of the functions this package ships (functions/index.ts), known without loading
 * them, so that `sparkfn --help` does not compile and load every function (a test keeps the
 * two lists equal).
 */
export const FUNCTION_NAMES: readonly string[] = ['log-archiver', 'log-viewer', 'job-cost', 'spot-fallback', 'janitor', 'quota-retry', 'spark-monitor'];
