import { type LiveLine, msOf } from './live-pod-log.js';

/** How the archive and the pod's log were joined. */
export type SeamKind =
  /** The live lines up to the seam are, text for text, the last archived lines. */
  | 'text'
  /** No such overlap (lines lost, a multi-line entry, logs split over partitions): joined by time alone. */
  | 'time';

/** Where the live lines start to be new. */
export interface Seam {
  /** Live lines before this index are in the archive already. */
  index: number;
  kind: SeamKind;
}

/**
 * Finds the seam between the archive and the pod's log.
 *
 * `window`: the pod's log from the second of the last archived line on (`sinceTime` has second
 * precision), both container streams merged as the kubelet gives them. `archived`: the last
 * archived entries of the executor, both streams, in Kafka order (which is the order of the
 * container's log file, stdout and stderr together), without their newlines. `lastArchivedMs`:
 * the time of the last archived entry, as Filebeat's `@timestamp` (the CRI time, ms).
 *
 * Every live line older than `lastArchivedMs` is archived; every line younger is new; lines of
 * that very millisecond may be either. The seam is the longest overlap — the first `k` live
 * lines equal, in order, to the last `k` archived entries — with `k` covering every older line
 * and no younger one. Text and order, not (time, text) pairs, so that identical lines in one
 * millisecond are counted, not merged. If no overlap fits, the seam falls after the last line
 * not younger than the archive (`time`).
 * @example findSeam([{ timeNs: 1_000_000n, text: 'a' }, { timeNs: 2_000_000n, text: 'b' }], ['x', 'a'], 1) // { index: 1, kind: 'text' }
 */
export function findSeam(window: readonly LiveLine[], archived: readonly string[], lastArchivedMs: number): Seam {
  let maxK = window.findIndex((l) => msOf(l.timeNs) > lastArchivedMs);
  if (maxK === -1) maxK = window.length;
  let minK = 0;
  for (let i = 0; i < maxK; i++) if (msOf((window[i] as LiveLine).timeNs) < lastArchivedMs) minK = i + 1;
  for (let k = Math.min(maxK, archived.length); k >= minK; k--) {
    if (overlaps(window, archived, k)) return { index: k, kind: 'text' };
  }
  return { index: maxK, kind: 'time' };
}

function overlaps(window: readonly LiveLine[], archived: readonly string[], k: number): boolean {
  const start = archived.length - k;
  for (let i = 0; i < k; i++) if ((window[i] as LiveLine).text !== archived[start + i]) return false;
  return true;
}

/**
 * Where a resumed stream continues: the time of the last line emitted and the texts emitted at
 * exactly that time (in order). The kubelet's times have ns precision and a resumed request
 * (`sinceTime` = that second) repeats those lines in the same order, so dropping older lines and
 * the first lines at that time that match is exact.
 */
export class LiveCursor {
  private timeNs: bigint | undefined;
  private atTime: string[] = [];
  private skipping = 0;

  /** The last line's time, if any line went out. */
  get lastTimeNs(): bigint | undefined {
    return this.timeNs;
  }

  /** A new request starts: its first lines may repeat what went out. */
  resume(): void {
    this.skipping = 0;
  }

  /** Whether a line of the current request is new (then it counts as emitted). */
  admit(line: LiveLine): boolean {
    if (this.timeNs !== undefined) {
      if (line.timeNs < this.timeNs) return false;
      if (line.timeNs === this.timeNs && this.skipping >= 0 && this.skipping < this.atTime.length && this.atTime[this.skipping] === line.text) {
        this.skipping++;
        return false;
      }
    }
    if (line.timeNs === this.timeNs) this.atTime.push(line.text);
    else {
      this.timeNs = line.timeNs;
      this.atTime = [line.text];
    }
    // Once a new line went out, nothing later in this request repeats.
    this.skipping = -1;
    return true;
  }
}
