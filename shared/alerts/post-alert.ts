/** A receiver that has not answered by then is given up on; the caller decides what a failed send means. */
export const ALERT_TIMEOUT_MS = 5_000;

/**
 * Posts a JSON body to an alert receiver (DingTalk robot, Slack-compatible or any webhook);
 * resolves true on a 2xx answer, false (never throws) when the receiver fails, refuses or times out.
 * @example await postAlertBody('https://oapi.dingtalk.com/robot/send?access_token=…', { msgtype: 'text', text: { content: 'hi' } })
 */
export async function postAlertBody(url: string, body: Record<string, unknown>, signal?: AbortSignal): Promise<boolean> {
  const timeout = AbortSignal.timeout(ALERT_TIMEOUT_MS);
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json; charset=utf-8' },
      body: JSON.stringify(body),
      signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
    });
    await res.arrayBuffer();
    return res.ok;
  } catch {
    return false;
  }
}
