// Escaping for the HTML Headroom writes itself: the dashboard page and the self-contained
// loadtest and simulate reports.

/** Text and attribute values: & < > " ' as entities. */
export const escapeHtml = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);

/** JSON that is safe inside a <script> element. */
export const scriptJson = (v: unknown): string => JSON.stringify(v).replace(/</g, '\\u003c');

/** Inline JS/CSS must not close its own element early. */
export const inlineCode = (code: string, tag: 'script' | 'style'): string =>
  code.replace(new RegExp(`</${tag}`, 'gi'), `<\\/${tag}`);
