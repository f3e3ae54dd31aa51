/**
 * The log page's one script (run by CSP nonce): "Follow" reads the button's `data-url` (the log
 * with `?follow=1&after=<the archive's text size when the page was made>`, which starts where the
 * page ends) as a stream through fetch and appends each line, numbered from `data-next`, as
 * text nodes only (never markup; ANSI escapes and control characters dropped), until the stream
 * ends.
 */
export const FOLLOW_SCRIPT = `
(() => {
  const button = document.getElementById('follow');
  const log = document.getElementById('log');
  const status = document.getElementById('follow-status');
  if (!button || !log || !status) return;
  const ESCAPES = /\\u001b(?:\\[[0-9;?]*[@-~]|\\][^\\u0007\\u001b]*(?:\\u0007|\\u001b\\\\)?|[@-Z\\\\-_]?)|[\\u0000-\\u0008\\u000b-\\u001f\\u007f]/g;
  let next = Number(log.dataset.next);
  const append = (text) => {
    const line = document.createElement('span');
    line.className = 'l';
    line.id = 'L' + next;
    const number = document.createElement('span');
    number.className = 'n';
    number.textContent = String(next++);
    line.append(number, document.createTextNode(text.replace(ESCAPES, '')));
    log.append(line);
  };
  const follow = async () => {
    button.disabled = true;
    status.textContent = 'following…';
    try {
      const response = await fetch(button.dataset.url, { headers: { accept: 'text/plain' } });
      if (!response.ok || !response.body) throw new Error('HTTP ' + response.status);
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let partial = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        const parts = (partial + value).split('\\n');
        partial = parts.pop();
        const atBottom = window.innerHeight + window.scrollY >= document.body.scrollHeight - 40;
        for (const text of parts) append(text);
        if (atBottom) window.scrollTo(0, document.body.scrollHeight);
      }
      if (partial !== '') append(partial);
      status.textContent = 'the log ended';
    } catch (err) {
      status.textContent = 'follow stopped: ' + err.message;
    } finally {
      button.disabled = false;
    }
  };
  button.addEventListener('click', follow);
  if (new URLSearchParams(location.search).get('follow') === '1') follow();
})();
`;
