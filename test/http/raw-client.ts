import { connect, type Socket } from 'node:net';

/** What a raw connection saw: the bytes the server sent, its status code, and when (ms after connecting) it answered and closed. */
export interface RawOutcome {
  response: string;
  status: number | undefined;
  answeredAfterMs: number | undefined;
  closedAfterMs: number;
  /** The connection ended with a reset rather than a FIN. */
  reset: boolean;
}

/**
 * A client that speaks HTTP/1.1 byte by byte, for what fetch() will not send: a body that never
 * comes, a chunk size of 10^12, headers that stop half way. `write` gets the socket and may
 * write now or later; the outcome settles when the server closes the connection or `giveUpMs`
 * passes (then the socket is destroyed and `closedAfterMs` is `giveUpMs`).
 */
export function rawRequest(port: number, write: (socket: Socket) => void, giveUpMs: number): Promise<RawOutcome> {
  return new Promise((resolve) => {
    const started = performance.now();
    const socket = connect(port, '127.0.0.1');
    let response = '';
    let answeredAfterMs: number | undefined;
    let reset = false;
    const timer = setTimeout(() => {
      socket.destroy();
      finish(giveUpMs);
    }, giveUpMs);
    let settled = false;
    const finish = (closedAfterMs: number) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      const status = /^HTTP\/1\.1 (\d{3})/.exec(response)?.[1];
      resolve({ response, status: status ? Number(status) : undefined, answeredAfterMs, closedAfterMs, reset });
    };
    socket.setNoDelay(true);
    socket.on('data', (chunk) => {
      answeredAfterMs ??= performance.now() - started;
      response += chunk.toString('latin1');
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ECONNRESET' || err.code === 'EPIPE') reset = true;
    });
    socket.on('close', () => finish(performance.now() - started));
    socket.on('connect', () => write(socket));
  });
}

/** Writes `data` one byte every `everyMs` until the socket closes or `data` runs out. */
export function trickle(socket: Socket, data: string, everyMs: number): void {
  let at = 0;
  const timer = setInterval(() => {
    if (socket.destroyed || at >= data.length) return clearInterval(timer);
    socket.write(data[at++]!);
  }, everyMs);
  socket.once('close', () => clearInterval(timer));
}
