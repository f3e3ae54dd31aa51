import { alertPayload, type AlertFormat, type AlertMessage } from './alert-payload.js';
import { postAlertBody } from './post-alert.js';

/**
 * Sends `message` to `url` in the receiver's format; resolves false (never throws) when it was not taken.
 * @example await sendAlertMessage('https://oapi.dingtalk.com/robot/send?access_token=…', message, 'dingtalk')
 */
export function sendAlertMessage(url: string, message: AlertMessage, format: AlertFormat, signal?: AbortSignal): Promise<boolean> {
  return postAlertBody(url, alertPayload(message, format), signal);
}
