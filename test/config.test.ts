import { describe, expect, it } from 'vitest';
import { CONFIG_VARIABLES, DEFAULT_STORE, loadConfig } from '../shared/config.js';
import { ConfigError } from '../shared/errors.js';

function problemsOf(env: Record<string, string>) {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
}

describe('config', () => {
  it('applies the documented defaults to an empty environment', () => {
    const config = loadConfig({});
    expect(config.SPARKFN_STORE).toBe(DEFAULT_STORE);
    expect(config.SPARKFN_PORT).toBe(8080);
    expect(config.SPARKFN_HOST).toBe('127.0.0.1');
    expect(config.SPARKFN_KAFKA_BROKERS).toBeUndefined();
    expect(config.SPARKFN_DRY_RUN).toBe(false);
  });

  it('parses lists, booleans and numbers', () => {
    const config = loadConfig({
      SPARKFN_STORE: 's3://spark-ops/sparkfn',
      SPARKFN_KAFKA_BROKERS: 'a:9092, b:9092,',
      SPARKFN_S3_FORCE_PATH_STYLE: 'true',
      SPARKFN_PORT: '9090',
    });
    expect(config.SPARKFN_KAFKA_BROKERS).toEqual(['a:9092', 'b:9092']);
    expect(config.SPARKFN_S3_FORCE_PATH_STYLE).toBe(true);
    expect(config.SPARKFN_PORT).toBe(9090);
  });

  it.each([
    ['SPARKFN_STORE', 'http://bucket', /file:\/\/<dir> or s3:\/\/<bucket>/],
    ['SPARKFN_STORE', 's3://UPPER', /s3:\/\/<bucket>/],
    ['SPARKFN_PORT', 'eighty', /port number/],
    ['SPARKFN_PORT', '70000', /port number/],
    ['SPARKFN_DRY_RUN', 'maybe', /true or false/],
    ['SPARKFN_LOG_LEVEL', 'loud', /SPARKFN_LOG_LEVEL/],
    ['SPARKFN_S3_ENDPOINT', 'not a url', /URL/],
    ['SPARKFN_WEBHOOK_TOKEN', 'short', /at least 16/],
    // Issue #14: a boolean is true or false, nothing else.
    ['SPARKFN_DRY_RUN', 'yes', /SPARKFN_DRY_RUN must be true or false/],
    ['SPARKFN_STORE_FSYNC', '1', /true or false/],
    ['SPARKFN_KAFKA_FROM_BEGINNING', 'on', /true or false/],
    ['SPARKFN_JANITOR_DRY_RUN', '0', /true or false/],
    // Issue #14: set but empty, or a broker without a port.
    ['SPARKFN_KAFKA_BROKERS', '', /at least one broker as host:port/],
    ['SPARKFN_KAFKA_BROKERS', ' , ', /at least one broker/],
    ['SPARKFN_KAFKA_BROKERS', 'kafka-0', /"kafka-0" is not/],
    ['SPARKFN_KAFKA_BROKERS', 'kafka-0:9092,kafka-1', /"kafka-1" is not/],
    ['SPARKFN_KAFKA_BROKERS', 'kafka-0:99999', /host:port/],
    ['SPARKFN_KAFKA_BROKERS', 'kafka-0:', /host:port/],
    ['SPARKFN_KAFKA_MAX_RECORD_ATTEMPTS', '0', /from 1 to 100/],
  ])('names %s and the fix when it is %j', (variable, value, fix) => {
    const problems = problemsOf({ [variable]: value });
    expect(problems).toHaveLength(1);
    expect(problems[0]!.variable).toBe(variable);
    expect(problems[0]!.message).toMatch(fix);
    expect(problems[0]!.message.startsWith(variable)).toBe(true);
  });

  it('takes true and false in any case, and brokers by name, IPv4 or IPv6 with a port', () => {
    const config = loadConfig({ SPARKFN_DRY_RUN: 'TRUE', SPARKFN_STORE_FSYNC: ' false ', SPARKFN_KAFKA_BROKERS: 'kafka-0.kafka:9092,10.0.0.7:9093,[::1]:9094' });
    expect(config.SPARKFN_DRY_RUN).toBe(true);
    expect(config.SPARKFN_STORE_FSYNC).toBe(false);
    expect(config.SPARKFN_KAFKA_BROKERS).toEqual(['kafka-0.kafka:9092', '10.0.0.7:9093', '[::1]:9094']);
    expect(config.SPARKFN_KAFKA_MAX_RECORD_ATTEMPTS).toBe(5);
  });

  it('takes an empty boolean as unset (its default)', () => {
    expect(loadConfig({ SPARKFN_KAFKA_FROM_BEGINNING: '' }).SPARKFN_KAFKA_FROM_BEGINNING).toBe(true);
  });

  it('reports every bad variable at once', () => {
    expect(problemsOf({ SPARKFN_PORT: 'x', SPARKFN_DRY_RUN: 'y' }).map((p) => p.variable).sort()).toEqual(['SPARKFN_DRY_RUN', 'SPARKFN_PORT']);
  });

  it('wants the TLS certificate and key together', () => {
    expect(problemsOf({ SPARKFN_TLS_CERT_FILE: '/tls/cert.pem' })[0]!.variable).toBe('SPARKFN_TLS_KEY_FILE');
  });

  it('ignores variables it does not own', () => {
    expect(() => loadConfig({ HOME: '/root', SPARKFN_STORE: 'file:///tmp/x' })).not.toThrow();
  });

  it('has every variable documented in the README configuration table', async () => {
    const { readFile } = await import('node:fs/promises');
    const readme = await readFile(new URL('../README.md', import.meta.url), 'utf8');
    const undocumented = CONFIG_VARIABLES.filter((v) => !readme.includes(`| \`${v}\``));
    expect(undocumented).toEqual([]);
  });
});
