import * as z from 'zod';
import type { ScheduleInput } from './trigger.js';
import { isRecord } from './payload.js';

const isoTime = z.iso.datetime({ offset: true }).transform((t) => Date.parse(t));

/**
 * EventBridge's `Scheduled Event` as Lambda receives it from a schedule rule:
 * `{ version: '0', id, 'detail-type': 'Scheduled Event', source: 'aws.events', time, resources: [ruleArn], detail: {} }`
 * (https://docs.aws.amazon.com/eventbridge/latest/userguide/event-reference.html). The rule ARN becomes `name`.
 */
export const lambdaScheduleSchema = z
  .looseObject({
    'detail-type': z.literal('Scheduled Event'),
    source: z.literal('aws.events'),
    time: isoTime,
    resources: z.array(z.string()).default(() => []),
    detail: z.unknown().optional(),
  })
  .transform((event): ScheduleInput => {
    const rule = event.resources[0];
    return { kind: 'schedule', source: 'aws.events', time: event.time, ...(rule ? { name: rule } : {}) };
  });

export function isLambdaSchedule(value: unknown): boolean {
  return isRecord(value) && value.source === 'aws.events' && value['detail-type'] === 'Scheduled Event';
}

/**
 * FC's timer trigger payload `{ triggerTime, triggerName, payload }`, where `payload` is the
 * trigger message typed into the trigger's configuration
 * (https://www.alibabacloud.com/help/en/functioncompute/fc-3-0/user-guide/formats-of-event-for-different-triggers-1).
 */
export const fcTimerSchema = z
  .looseObject({
    triggerTime: isoTime,
    triggerName: z.string().min(1),
    payload: z.string().optional(),
  })
  .transform(
    (event): ScheduleInput => ({
      kind: 'schedule',
      source: 'acs:fc:timer',
      time: event.triggerTime,
      name: event.triggerName,
      ...(event.payload !== undefined && event.payload !== '' ? { payload: event.payload } : {}),
    }),
  );

export function isFcTimer(value: unknown): boolean {
  return isRecord(value) && 'triggerTime' in value && 'triggerName' in value;
}
