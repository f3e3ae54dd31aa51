import { postAlertBody } from '../../shared/alerts/post-alert.js';
import type { DeadLetter } from './dead-letter.js';

/**
 * One JSON body both receivers take: DingTalk's custom robot reads `msgtype` + `markdown`
 * (https://open.dingtalk.com/document/robots/custom-robot-access), Slack-compatible incoming
 * webhooks (Slack, Mattermost, Rocket.Chat) read `attachments` and ignore the rest. A
 * top-level `text` is left out on purpose: DingTalk reads `text` as an object, Slack as a string.
 */
export function alertBody(letter: DeadLetter, deadLetterKey: string): Record<string, unknown> {
  const title = `quota-retry gave up on ${letter.namespace}/${letter.submissionId}`;
  const lines = [
    `reason: ${letter.reason}`,
    `message: ${letter.message}`,
    ...(letter.department ? [`department: ${letter.department}`] : []),
    `dead letter: ${deadLetterKey}`,
  ];
  return {
    msgtype: 'markdown',
    markdown: { title, text: `### ${title}\n\n${lines.map((l) => `- ${l}`).join('\n')}` },
    attachments: [{ fallback: `${title}: ${letter.reason}`, color: 'danger', title, text: lines.join('\n') }],
  };
}

/** Posts the alert; resolves false (never throws) when the receiver fails or times out. */
export async function sendAlert(url: string, letter: DeadLetter, deadLetterKey: string, signal?: AbortSignal): Promise<boolean> {
  return postAlertBody(url, alertBody(letter, deadLetterKey), signal);
}
