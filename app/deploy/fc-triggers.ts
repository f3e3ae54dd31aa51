import { ConfigError } from '../../shared/errors.js';

/**
 * The serverless.yml events of one function mapped onto Function Compute (FC 2.0 API, 2016-08-15)
 * triggers. Pure: no I/O. The trigger config shapes follow FC's TimerTriggerConfig,
 * HTTPTriggerConfig and the EventBridge trigger config Serverless Devs documents
 * (https://docs.serverless-devs.com/fc/yaml/triggers).
 */

/** One FC trigger as createTrigger / updateTrigger take it. */
export interface FcTrigger {
  triggerName: string;
  triggerType: 'timer' | 'http' | 'eventbridge';
  triggerConfig: Record<string, unknown>;
  /** Why this trigger cannot be deployed yet (missing configuration); it is shown in the plan and skipped. */
  blocked?: string;
  /** What the plan table shows for it. */
  summary: string;
}

/** Values that come from the deployer's configuration, not from serverless.yml. */
export interface TriggerContext {
  functionName: string;
  region: string;
  /** Alibaba Cloud Kafka (alikafka) instance id; serverless.yml only names bootstrap servers. */
  kafkaInstanceId?: string;
}

/** Every method FC's HTTP trigger accepts: what `method: '*'` means. */
export const FC_HTTP_METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'HEAD', 'PATCH', 'OPTIONS'] as const;
/** The Serverless Framework's default kafka batchSize. */
export const DEFAULT_KAFKA_BATCH_SIZE = 100;
/** EventBridge's event-streaming batch limits: CountBasedWindow 1–10000 events, TimeBasedWindow 0–15 s. */
const COUNT_WINDOW = { min: 1, max: 10_000 };
const TIME_WINDOW = { min: 0, max: 15 };

const RATE_UNITS: Record<string, string> = { minute: 'm', minutes: 'm', hour: 'h', hours: 'h', day: 'h', days: 'h' };

/**
 * Converts an EventBridge/Lambda `rate(...)` expression to FC's `@every` form. Days become hours
 * because `@every` takes Go durations, which have no day unit.
 * @example rateToFc('rate(5 minutes)') // '@every 5m'
 */
export function rateToFc(expression: string): string {
  const match = /^rate\(\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*\)$/.exec(expression.trim());
  if (!match) throw new ConfigError(`Schedule "${expression}" is not a rate expression such as rate(5 minutes).`, [{ variable: 'serverless.yml', message: 'use rate(N minutes|hours|days)' }]);
  const value = Number(match[1]);
  const unit = match[2]!;
  // AWS rejects `rate(1 minutes)` and `rate(5 minute)`; the same file must deploy on Lambda too.
  if (value === 0 || (value === 1) !== !unit.endsWith('s')) {
    throw new ConfigError(`Schedule "${expression}": use a positive number with a singular unit for 1 and a plural unit otherwise, e.g. rate(1 minute), rate(5 minutes).`, [{ variable: 'serverless.yml', message: 'fix the rate expression' }]);
  }
  return `@every ${unit.startsWith('day') ? value * 24 : value}${RATE_UNITS[unit]}`;
}

const DAY_NAMES = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

function cronError(expression: string, why: string): ConfigError {
  return new ConfigError(`Schedule "${expression}" cannot be converted to an FC timer: ${why}.`, [{ variable: 'serverless.yml', message: why }]);
}

/**
 * Converts an AWS `cron(Minutes Hours Day-of-month Month Day-of-week Year)` expression to FC's
 * six-field `Seconds Minutes Hours Day-of-month Month Day-of-week`. Both run in UTC. AWS numbers
 * days of the week 1 (SUN) to 7 (SAT), so numeric days become names, which both read the same
 * way. FC has no year field (the year must be `*`) and its documentation lists no `L`, `W` or
 * `#`, so those are refused rather than guessed.
 * @example cronToFc('cron(0 12 ? * MON-FRI *)') // '0 0 12 ? * MON-FRI'
 */
export function cronToFc(expression: string): string {
  const match = /^cron\((.*)\)$/.exec(expression.trim());
  if (!match) throw cronError(expression, 'it is not a cron(...) expression');
  const fields = match[1]!.trim().split(/\s+/);
  if (fields.length !== 6) throw cronError(expression, `AWS cron has 6 fields (minutes hours day-of-month month day-of-week year), this has ${fields.length}`);
  const [minutes, hours, dayOfMonth, month, dayOfWeek, year] = fields as [string, string, string, string, string, string];
  if (year !== '*') throw cronError(expression, 'FC timers have no year field; the year must be *');
  for (const [field, value] of [['day-of-month', dayOfMonth], ['day-of-week', dayOfWeek]] as const) {
    if (/[LW#]/i.test(value.replace(/[A-Z]{3}/gi, (name) => (DAY_NAMES.includes(name.toUpperCase()) ? 'x' : name)))) {
      throw cronError(expression, `${field} "${value}" uses L, W or #, which FC timers do not document`);
    }
  }
  if (dayOfWeek.includes('/')) throw cronError(expression, `day-of-week "${dayOfWeek}" uses /, which FC timers do not accept there`);
  for (const [field, value] of [['minutes', minutes], ['hours', hours], ['month', month]] as const) {
    if (value === '?') throw cronError(expression, `${field} cannot be ?`);
  }
  const weekday = dayOfWeek.replace(/\d+/g, (digits) => {
    const n = Number(digits);
    if (n < 1 || n > 7) throw cronError(expression, `day-of-week ${digits} is outside AWS's 1 (SUN) to 7 (SAT)`);
    return DAY_NAMES[n - 1]!;
  });
  return ['0', minutes, hours, dayOfMonth, month, weekday.toUpperCase()].join(' ');
}

/** `rate(...)` or `cron(...)` to an FC cronExpression. */
export function scheduleToFc(expression: string): string {
  return expression.trim().startsWith('rate(') ? rateToFc(expression) : cronToFc(expression);
}

type Event = Record<string, unknown>;

const asRecord = (value: unknown): Record<string, unknown> => (value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {});
const asList = (value: unknown): unknown[] => (Array.isArray(value) ? value : value === undefined ? [] : [value]);

function inRange(fn: string, what: string, value: number, { min, max }: { min: number; max: number }): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`Function ${fn}: kafka ${what} ${value} is outside what FC's EventBridge trigger accepts (${min} to ${max}).`, [{ variable: 'serverless.yml', message: `set ${what} between ${min} and ${max}` }]);
  }
  return value;
}

const OFFSET_RESET: Record<string, string> = { TRIM_HORIZON: 'earliest', LATEST: 'latest' };

function timerTriggers(fn: string, events: Event[]): Omit<FcTrigger, 'triggerName'>[] {
  return events.flatMap((event) => {
    const spec = typeof event.schedule === 'string' ? { rate: event.schedule } : asRecord(event.schedule);
    const enable = spec.enabled !== false;
    const payload = spec.input === undefined ? undefined : typeof spec.input === 'string' ? spec.input : JSON.stringify(spec.input);
    return asList(spec.rate).map((rate) => {
      if (typeof rate !== 'string') throw new ConfigError(`Function ${fn}: schedule rate must be a string such as rate(5 minutes).`, [{ variable: 'serverless.yml', message: 'fix the schedule' }]);
      const cronExpression = scheduleToFc(rate);
      return {
        triggerType: 'timer' as const,
        triggerConfig: { cronExpression, enable, ...(payload !== undefined && { payload }) },
        summary: `${rate} → ${cronExpression}${enable ? '' : ' (disabled)'}`,
      };
    });
  });
}

/**
 * FC allows one HTTP trigger per function, and routing by path is a custom domain's job, so every
 * httpApi route of a function folds into one trigger: the union of methods, `function` auth
 * (FC's signed requests) when any route names an authorizer.
 */
function httpTrigger(events: Event[]): Omit<FcTrigger, 'triggerName'>[] {
  if (events.length === 0) return [];
  const methods = new Set<string>();
  const paths: string[] = [];
  let authType = 'anonymous';
  for (const event of events) {
    const spec = typeof event.httpApi === 'string' ? { method: event.httpApi.split(' ')[0], path: event.httpApi.split(' ')[1] } : asRecord(event.httpApi);
    const method = String(spec.method ?? '*').toUpperCase();
    for (const m of method === '*' ? FC_HTTP_METHODS : [method]) methods.add(m);
    if (spec.path !== undefined) paths.push(`${method} ${String(spec.path)}`);
    if (spec.authorizer !== undefined) authType = 'function';
  }
  const sorted = FC_HTTP_METHODS.filter((m) => methods.has(m));
  return [{ triggerType: 'http', triggerConfig: { authType, methods: sorted }, summary: `${sorted.join(',')} ${authType} (${paths.join(', ')})` }];
}

function kafkaTriggers(fn: string, events: Event[], context: TriggerContext): Omit<FcTrigger, 'triggerName'>[] {
  return events.map((event) => {
    const spec = asRecord(event.kafka);
    const topic = String(spec.topic ?? '');
    const consumerGroup = String(spec.consumerGroupId ?? `sparkfn-${fn}`);
    const position = String(spec.startingPosition ?? 'LATEST');
    const offsetReset = OFFSET_RESET[position];
    if (!offsetReset) throw new ConfigError(`Function ${fn}: kafka startingPosition ${position} has no FC equivalent; use TRIM_HORIZON or LATEST.`, [{ variable: 'serverless.yml', message: 'use TRIM_HORIZON or LATEST' }]);
    const count = inRange(fn, 'batchSize', Number(spec.batchSize ?? DEFAULT_KAFKA_BATCH_SIZE), COUNT_WINDOW);
    const seconds = inRange(fn, 'maximumBatchingWindow', Number(spec.maximumBatchingWindow ?? 0), TIME_WINDOW);
    const triggerConfig = {
      triggerEnable: true,
      asyncInvocationType: false,
      // A Kafka source feeds an event stream; its filter is the empty pattern.
      eventRuleFilterPattern: '{}',
      eventSourceConfig: {
        eventSourceType: 'Kafka',
        eventSourceParameters: {
          sourceKafkaParameters: {
            RegionId: context.region,
            InstanceId: context.kafkaInstanceId ?? '',
            Topic: topic,
            ConsumerGroup: consumerGroup,
            OffsetReset: offsetReset,
            Network: 'Default',
          },
        },
      },
      eventSinkConfig: { deliveryOption: { mode: 'event-streaming', eventSchema: 'CloudEvents' } },
      runOptions: {
        mode: 'event-streaming',
        maximumTasks: 1,
        // log-archiver commits only after every write: a batch that keeps failing must stop the
        // stream (NONE), not be skipped (ALL), and is retried for as long as EventBridge allows.
        errorsTolerance: 'NONE',
        retryStrategy: { PushRetryStrategy: 'EXPONENTIAL_DECAY_RETRY' },
        batchWindow: { CountBasedWindow: count, TimeBasedWindow: seconds },
      },
    };
    return {
      triggerType: 'eventbridge' as const,
      triggerConfig,
      summary: `Kafka ${context.kafkaInstanceId ?? '<instance?>'}/${topic} group ${consumerGroup} from ${offsetReset}, batch ${count} / ${seconds} s, CloudEvents`,
      ...(!context.kafkaInstanceId && { blocked: 'set SPARKFN_FC_KAFKA_INSTANCE_ID (the Alibaba Cloud Kafka instance; serverless.yml names only bootstrap servers)' }),
    };
  });
}

/** AWS's pattern keys in Alibaba EventBridge's CloudEvents terms. */
const PATTERN_KEYS: Record<string, string> = { 'detail-type': 'type', detail: 'data' };

function eventBridgeTriggers(events: Event[]): Omit<FcTrigger, 'triggerName'>[] {
  return events.map((event) => {
    const pattern = Object.fromEntries(Object.entries(asRecord(asRecord(event.eventBridge).pattern)).map(([k, v]) => [PATTERN_KEYS[k] ?? k, v]));
    const eventRuleFilterPattern = JSON.stringify(pattern);
    return {
      triggerType: 'eventbridge' as const,
      triggerConfig: { triggerEnable: true, asyncInvocationType: false, eventRuleFilterPattern, eventSourceConfig: { eventSourceType: 'Default' } },
      summary: `default bus ${eventRuleFilterPattern}`,
    };
  });
}

const KINDS = ['schedule', 'httpApi', 'kafka', 'eventBridge'] as const;
const BASE_NAMES: Record<FcTrigger['triggerType'] | 'kafka', string> = { timer: 'timer', http: 'http', eventbridge: 'eventbridge', kafka: 'kafka' };

/**
 * Maps a function's serverless.yml `events` to FC triggers with stable names (`timer`, `http`,
 * `kafka`, `eventbridge`, then `timer-2`…, in file order), so a redeploy finds them again.
 * @example fcTriggers([{ schedule: { rate: 'rate(10 minutes)' } }], { functionName: 'janitor', region: 'cn-hangzhou' })[0].triggerConfig
 * // { cronExpression: '@every 10m', enable: true }
 */
export function fcTriggers(events: readonly unknown[], context: TriggerContext): FcTrigger[] {
  const fn = context.functionName;
  const byKind = new Map<string, Event[]>(KINDS.map((k) => [k, []]));
  for (const raw of events) {
    const event = asRecord(raw);
    const kind = KINDS.find((k) => k in event);
    if (!kind) throw new ConfigError(`Function ${fn}: event ${Object.keys(event).join(', ') || '(empty)'} has no FC mapping (supported: ${KINDS.join(', ')}).`, [{ variable: 'serverless.yml', message: 'remove the event or deploy it another way' }]);
    byKind.get(kind)!.push(event);
  }
  const groups: [string, Omit<FcTrigger, 'triggerName'>[]][] = [
    ['timer', timerTriggers(fn, byKind.get('schedule')!)],
    ['http', httpTrigger(byKind.get('httpApi')!)],
    ['kafka', kafkaTriggers(fn, byKind.get('kafka')!, context)],
    ['eventbridge', eventBridgeTriggers(byKind.get('eventBridge')!)],
  ];
  return groups.flatMap(([base, triggers]) =>
    triggers.map((t, i) => ({ triggerName: i === 0 ? BASE_NAMES[base as keyof typeof BASE_NAMES] : `${base}-${i + 1}`, ...t })),
  );
}
