/**
 * The body an alert receiver takes, by receiver kind:
 * - `dingtalk`: DingTalk's custom robot, `msgtype` + `markdown`
 *   (https://open.dingtalk.com/document/robots/custom-robot-access);
 * - `slack`: Slack-compatible incoming webhooks (Slack, Mattermost, Rocket.Chat): `text` + `attachments`;
 * - `webhook`: a plain JSON document for anything else (Alertmanager-style receivers, scripts);
 * - `combined`: one body DingTalk and Slack-compatible receivers both take (DingTalk reads
 *   `markdown`, Slack reads `attachments` and ignores the rest; a top-level `text` is left out
 *   because DingTalk reads it as an object and Slack as a string). quota-retry's default.
 */
export type AlertFormat = 'combined' | 'dingtalk' | 'slack' | 'webhook';

/** One alert message. */
export interface AlertMessage {
  /** Who sends it (`spark-monitor`, `quota-retry`). */
  source: string;
  status: 'firing' | 'resolved';
  /** A stable id of the condition (`stuck-app/spark-jobs/spark-1a2b`). */
  condition: string;
  title: string;
  /** Facts, one per line. */
  lines: readonly string[];
  /** Where to look (the app's logs). */
  link?: string;
  /** ms since the epoch. */
  at: number;
}

function markdown(message: AlertMessage): string {
  const link = message.link ? `\n\n[logs](${message.link})` : '';
  return `### ${message.title}\n\n${message.lines.map((l) => `- ${l}`).join('\n')}${link}`;
}

function attachment(message: AlertMessage): Record<string, unknown> {
  return {
    fallback: `${message.title}: ${message.lines[0] ?? message.status}`,
    color: message.status === 'resolved' ? 'good' : 'danger',
    title: message.title,
    ...(message.link ? { title_link: message.link } : {}),
    text: message.lines.join('\n'),
  };
}

/**
 * The JSON body of `message` for a receiver of `format`.
 * @example alertPayload({ source: 'spark-monitor', status: 'firing', condition: 'c', title: 'stuck', lines: [], at: 0 }, 'dingtalk').msgtype // 'markdown'
 */
export function alertPayload(message: AlertMessage, format: AlertFormat): Record<string, unknown> {
  switch (format) {
    case 'dingtalk':
      return { msgtype: 'markdown', markdown: { title: message.title, text: markdown(message) } };
    case 'slack':
      return { text: message.title, attachments: [attachment(message)] };
    case 'webhook':
      return {
        source: message.source,
        status: message.status,
        condition: message.condition,
        title: message.title,
        lines: message.lines,
        ...(message.link ? { link: message.link } : {}),
        at: new Date(message.at).toISOString(),
      };
    case 'combined':
      return { msgtype: 'markdown', markdown: { title: message.title, text: markdown(message) }, attachments: [attachment(message)] };
  }
}
