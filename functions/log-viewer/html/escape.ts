/** The five characters that change meaning in HTML text and in quoted attribute values. */
const HTML_SPECIALS: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/**
 * Text made safe for HTML element content and double- or single-quoted attribute values.
 * @example escapeHtml('<img src=x onerror="a()">') // '&lt;img src=x onerror=&quot;a()&quot;&gt;'
 */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => HTML_SPECIALS[c] as string);
}

/** ESC [ params final: CSI sequences (colours, cursor moves); ESC ] … BEL or ST: OSC (titles, links); other ESC x pairs. */
const ESCAPE_SEQUENCE = /\u001b(?:\[([0-9;?]*)([@-~])|\][^\u0007\u001b]*(?:\u0007|\u001b\\)?|[@-Z\\-_]?)/g;
/** C0 controls other than tab and newline, and DEL: never shown raw. */
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f]/g;

/**
 * A log line as HTML: escaped, with ANSI SGR colours (30–37, 90–97, bold) turned into spans with
 * fixed class names (`a-fg1`, `a-b`) and every other escape sequence and control character
 * dropped, so a line can neither inject markup nor hide text from the reader.
 * @example ansiToHtml('\u001b[31mERROR\u001b[0m <x>') // '<span class="a-fg1">ERROR</span> &lt;x&gt;'
 */
export function ansiToHtml(line: string): string {
  let out = '';
  let open = false;
  let classes: string[] = [];
  let at = 0;
  const flushText = (text: string) => {
    const shown = text.replace(CONTROL, '');
    if (shown === '') return;
    if (classes.length > 0 && !open) {
      out += `<span class="${classes.join(' ')}">`;
      open = true;
    }
    out += escapeHtml(shown);
  };
  for (const m of line.matchAll(ESCAPE_SEQUENCE)) {
    flushText(line.slice(at, m.index));
    at = m.index + m[0].length;
    if (m[2] !== 'm') continue;
    const next = applySgr(classes, m[1] ?? '');
    if (next.join(' ') !== classes.join(' ')) {
      if (open) out += '</span>';
      open = false;
      classes = next;
    }
  }
  flushText(line.slice(at));
  if (open) out += '</span>';
  return out;
}

/** Text without ANSI escape sequences and control characters (for search and plain views). */
export function stripAnsi(line: string): string {
  return line.replace(ESCAPE_SEQUENCE, '').replace(CONTROL, '');
}

function applySgr(current: readonly string[], params: string): string[] {
  let fg = current.find((c) => c.startsWith('a-fg'));
  let bold = current.includes('a-b');
  for (const p of (params === '' ? '0' : params).split(';').map(Number)) {
    if (p === 0) {
      fg = undefined;
      bold = false;
    } else if (p === 1) bold = true;
    else if (p === 22) bold = false;
    else if (p === 39) fg = undefined;
    else if (p >= 30 && p <= 37) fg = `a-fg${p - 30}`;
    else if (p >= 90 && p <= 97) fg = `a-fg${p - 90 + 8}`;
  }
  return [...(fg ? [fg] : []), ...(bold ? ['a-b'] : [])];
}
