// `headroom plan FILE --html OUT`: the dashboard's call-graph picture as one self-contained HTML file
// (the page's style.css, dagre, graph-text.js and graph.js inlined; no request leaves the file), for
// a review or a ticket. The same HeadroomGraph.update() as the live page draws it.
import { escapeHtml, inlineCode, scriptJson } from '../html.ts';
import type { GraphView } from '../graph-view.ts';
import { assetText } from './assets.ts';

export function renderGraphReport(views: readonly GraphView[], title: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8" />
<meta name="viewport" content="width=device-width, initial-scale=1" />
<meta name="color-scheme" content="light dark" />
<title>${escapeHtml(title)}</title>
<style>${inlineCode(assetText('style.css'), 'style')}</style>
<script>${inlineCode(assetText('dagre.min.js'), 'script')}</script>
<script>${inlineCode(assetText('graph-text.js'), 'script')}</script>
<script>${inlineCode(assetText('graph.js'), 'script')}</script>
</head>
<body>
<main>
<section id="graphs" class="card" aria-labelledby="graphs-h">
<h2 id="graphs-h">${escapeHtml(title)}</h2>
<div id="graph-list"></div>
</section>
</main>
<script type="application/json" id="graphs-data">${scriptJson(views)}</script>
<script>
HeadroomGraph.update(document.getElementById('graph-list'), JSON.parse(document.getElementById('graphs-data').textContent));
</script>
</body>
</html>
`;
}
