import { alertPayload, type AlertFormat, type AlertMessage } from './alert-payload.js';

/** A receiver that has not answered by then is given up on; the caller decides what a failed send means. */
export const ALERT_TIMEOUT_MS = 5_000;

/**
 * Posts a JSON body to an alert receiver; resolves true on a 2xx answer, false (never throws)
 * when the receiver fails, refuses or times out.
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

/**
 * Sends `message` to `url` in the receiver's format.
 * @example await sendAlertMessage('https://oapi.dingtalk.com/robot/send?access_token=…', message, 'dingtalk')
 */
export function sendAlertMessage(url: string, message: AlertMessage, format: AlertFormat, signal?: AbortSignal): Promise<boolean> {
  return postAlertBody(url, alertPayload(message, format), signal);
}
