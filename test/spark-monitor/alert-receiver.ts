import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A real HTTP alert receiver on 127.0.0.1: records every JSON body; can be told to fail the next posts. */
export interface AlertReceiver {
  url: string;
  bodies: Record<string, unknown>[];
  /** The next `count` posts are answered 500 (and not recorded). */
  failNext(count: number): void;
  refused: number;
  stop(): Promise<void>;
}

export async function startAlertReceiver(): Promise<AlertReceiver> {
  let failing = 0;
  const receiver: Omit<AlertReceiver, 'url' | 'stop'> & { failNext(count: number): void } = {
    bodies: [],
    refused: 0,
    failNext: (count) => {
      failing = count;
    },
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (failing > 0) {
        failing--;
        receiver.refused++;
        res.writeHead(500).end('{"errcode":500}');
        return;
      }
      receiver.bodies.push(JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"errcode":0,"errmsg":"ok"}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(receiver, {
    url: `http://127.0.0.1:${port}/robot/send?access_token=test`,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }) as AlertReceiver;
}
