// The hostile side of an edge flood, in its own process: argv[2] is `{port, connections,
// bodyLimitBytes, giveUpMs}` as JSON; prints every client's outcome as one JSON array.
import { FLOOD_KINDS, runHostileClients, type FloodKind } from './edge-flood.js';

const { port, connections, bodyLimitBytes, giveUpMs, kinds } = JSON.parse(process.argv[2]!) as { port: number; connections: number; bodyLimitBytes: number; giveUpMs: number; kinds?: FloodKind[] };
process.stdout.write(JSON.stringify(await runHostileClients(port, connections, bodyLimitBytes, giveUpMs, kinds ?? FLOOD_KINDS)));
