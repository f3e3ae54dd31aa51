import type { DeadLetter } from './dead-letter.js';

/** An alert receiver that has not answered by then is given up on; the dead letter is already written. */
export const ALERT_TIMEOUT_MS = 5_000;

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
  const timeout = AbortSignal.timeout(ALERT_TIMEOUT_MS);
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json; charset=utf-8' },
      body: JSON.stringify(alertBody(letter, deadLetterKey)),
      signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
    });
    await res.arrayBuffer();
    return res.ok;
  } catch {
    return false;
  }
}
