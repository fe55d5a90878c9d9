/// The UI's one stylesheet. Its design tokens (the custom properties in `:root`) and components
/// are the style guide, described in UI.md beside this file: change a token, not a page.
extension Assets {
    static let css = #"""
        :root {
          /* colour */
          --ink: #1d2330; --ink-2: #4a5365; --ink-3: #7a8396; --line: #dfe3ea; --line-2: #eef1f5;
          --paper: #ffffff; --paper-2: #f6f7f9; --accent: #2f6fde; --accent-ink: #ffffff;
          --ok: #2e7d4f; --ok-bg: #e3f3e9; --run: #1f62c9; --run-bg: #e2ecfb; --bad: #b3261e; --bad-bg: #fbe6e4;
          --warn: #8a5a00; --warn-bg: #fff2d6; --differs: #fff6d6;
          /* space */
          --s1: 4px; --s2: 8px; --s3: 12px; --s4: 16px; --s5: 24px; --s6: 32px;
          /* type */
          --font: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
          --mono: ui-monospace, "SF Mono", Menlo, Consolas, monospace;
          --t-small: 12px; --t-body: 14px; --t-h3: 15px; --t-h2: 17px; --t-h1: 22px;
          --radius: 6px;
        }
        * { box-sizing: border-box; }
        body { margin: 0; font: var(--t-body)/1.45 var(--font); color: var(--ink); background: var(--paper-2); }
        a { color: var(--accent); text-decoration: none; }
        a:hover { text-decoration: underline; }
        h1 { font-size: var(--t-h1); margin: 0; }
        h2 { font-size: var(--t-h2); margin: 0 0 var(--s2); }
        main > section, main > div.charts { margin-top: var(--s5); }
        h3 { font-size: var(--t-h3); margin: var(--s4) 0 var(--s2); color: var(--ink-2); }
        code, .mono { font-family: var(--mono); font-size: 13px; }
        .quiet { color: var(--ink-3); }
        .hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }
        .none { color: var(--ink-3); font-style: italic; }
        .error { color: var(--bad); }

        /* navigation */
        header.top { display: flex; align-items: center; gap: var(--s4); padding: var(--s2) var(--s5);
          background: var(--ink); color: var(--paper); position: sticky; top: 0; z-index: 5; }
        header.top a { color: var(--paper); }
        .brand { font-weight: 700; letter-spacing: .02em; }
        .crumbs { display: flex; gap: var(--s2); align-items: center; flex: 1; min-width: 0; white-space: nowrap; overflow: hidden; }
        .crumbs .sep { color: var(--ink-3); }
        .crumbs .here { color: #c9d1de; overflow: hidden; text-overflow: ellipsis; }
        header.top a.section { color: #c9d1de; }
        .jump input { width: 220px; padding: var(--s1) var(--s2); border-radius: var(--radius); border: 0; }
        main { padding: var(--s5); max-width: 1480px; margin: 0 auto; }
        .heading { display: flex; align-items: baseline; gap: var(--s3); flex-wrap: wrap; margin-bottom: var(--s4); }
        nav.views, nav.pager { display: flex; gap: var(--s3); align-items: baseline; margin: var(--s3) 0; }
        nav.views a[aria-current] { font-weight: 700; color: var(--ink); }
        .count { margin-left: auto; color: var(--ink-2); }

        /* forms */
        input, select, button { font: inherit; }
        input[type=text], input[type=search], input[type=number], select {
          padding: var(--s1) var(--s2); border: 1px solid var(--line); border-radius: var(--radius); background: var(--paper); }
        input.range { width: 100px; }
        button { padding: var(--s1) var(--s3); border: 1px solid var(--line); border-radius: var(--radius);
          background: var(--paper); color: var(--ink); cursor: pointer; }
        button.primary { background: var(--accent); color: var(--accent-ink); border-color: var(--accent); }
        button.danger { color: var(--bad); }
        form.filter { display: flex; gap: var(--s2); align-items: center; flex-wrap: wrap; }
        form.filter input[name=filter] { flex: 1; min-width: 320px; }
        form.inline { display: inline-flex; gap: var(--s2); }
        .filter-error { margin: var(--s2) 0; padding: var(--s2) var(--s3); background: var(--bad-bg); color: var(--bad);
          border-radius: var(--radius); }
        .filter-error p { margin: 0; }
        .filter-error pre { margin: var(--s1) 0 0; }
        details.columns { position: relative; }
        details.columns .choices { display: grid; grid-template-columns: repeat(auto-fill, minmax(200px, 1fr));
          gap: var(--s1) var(--s3); max-height: 320px; overflow: auto; padding: var(--s2); background: var(--paper);
          border: 1px solid var(--line); border-radius: var(--radius); margin: var(--s2) 0; width: min(900px, 90vw); }
        details.columns .group { grid-column: 1 / -1; margin: var(--s2) 0 0; font-weight: 600; }
        .actions { display: flex; gap: var(--s2); margin: var(--s2) 0; }
        form.controls, form.metric-choice { display: flex; gap: var(--s3); align-items: center; flex-wrap: wrap;
          margin: var(--s2) 0; font-size: var(--t-small); }

        /* tables */
        .scroll { overflow-x: auto; background: var(--paper); border: 1px solid var(--line); border-radius: var(--radius); }
        table.grid { border-collapse: collapse; width: 100%; background: var(--paper); }
        table.grid th, table.grid td { padding: var(--s1) var(--s3); border-bottom: 1px solid var(--line-2);
          text-align: left; white-space: nowrap; }
        table.grid thead th { position: sticky; top: 0; background: var(--paper-2); font-weight: 600; font-size: var(--t-small);
          color: var(--ink-2); }
        table.grid thead th a { color: inherit; }
        table.grid tbody tr:hover { background: #f3f6fb; }
        table.grid .num { text-align: right; font-variant-numeric: tabular-nums; }
        table.grid th.metric { text-align: right; }
        table.grid td.missing { background: repeating-linear-gradient(135deg, transparent 0 6px, var(--line-2) 6px 7px); }
        table.grid tr.deleted td { color: var(--ink-3); text-decoration: line-through; }
        table.grid tr.differs { background: var(--differs); }
        table.grid.compact td, table.grid.compact th { padding: 2px var(--s2); }
        td.pick, th.pick { width: 28px; }
        table.pairs { border-collapse: collapse; width: 100%; }
        table.pairs th { text-align: left; color: var(--ink-2); font-weight: 500; padding: 2px var(--s3) 2px 0;
          white-space: nowrap; vertical-align: top; width: 1%; }
        table.pairs td { padding: 2px 0; word-break: break-all; }

        /* badges */
        .badge { display: inline-block; padding: 0 var(--s2); border-radius: 10px; font-size: 11px; font-weight: 600;
          letter-spacing: .03em; }
        .badge.finished { background: var(--ok-bg); color: var(--ok); }
        .badge.running { background: var(--run-bg); color: var(--run); }
        .badge.failed, .badge.killed { background: var(--bad-bg); color: var(--bad); }
        .badge.scheduled { background: var(--warn-bg); color: var(--warn); }

        /* cards */
        .cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(340px, 1fr)); gap: var(--s4); margin-bottom: var(--s5); }
        .card { background: var(--paper); border: 1px solid var(--line); border-radius: var(--radius); padding: var(--s4); min-width: 0; }
        .card.wide { grid-column: 1 / -1; }
        .rerun { margin: var(--s3) 0 0; }
        .verdict { margin: var(--s3) 0 0; padding: var(--s2) var(--s3); background: var(--paper-2); border-radius: var(--radius); }
        .verdict p { margin: var(--s1) 0; }
        .damage { margin: var(--s3) 0 0; padding: var(--s2) var(--s3); background: var(--warn-bg); color: var(--warn); border-radius: var(--radius); }
        .damage p { margin: var(--s1) 0; }
        .damage ul { margin: var(--s1) 0; padding-left: var(--s4); font-family: var(--mono); font-size: 12px; }
        .verdict ul { margin: var(--s1) 0; padding-left: var(--s4); font-family: var(--mono); font-size: 12px; }
        figure.preview { margin: var(--s3) 0 0; }
        figure.preview pre { max-height: 240px; overflow: auto; background: var(--paper-2); padding: var(--s2); margin: 0; }
        figure.preview img { max-width: 100%; max-height: 360px; }
        figure.preview figcaption { font-size: var(--t-small); color: var(--ink-3); }
        .digest { color: var(--ink-3); }

        /* charts */
        .charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(480px, 1fr)); gap: var(--s4); }
        .charts.wide { grid-template-columns: 1fr; }
        figure.chart-box { margin: 0; background: var(--paper); border: 1px solid var(--line); border-radius: var(--radius);
          padding: var(--s2); position: relative; }
        figure.chart-box figcaption { display: flex; justify-content: space-between; font-size: var(--t-small); padding: 0 var(--s1); }
        figure.chart-box .key { font-weight: 600; color: var(--ink); }
        svg.chart { display: block; width: 100%; height: auto; user-select: none; }
        svg.chart .grid line { stroke: var(--line-2); }
        svg.chart .grid text { fill: var(--ink-3); font-size: 11px; }
        svg.chart .axis, svg.chart .axis-title { fill: var(--ink-2); font-size: 11px; }
        svg.chart .plot { stroke: var(--line); }
        svg.chart .line { fill: none; stroke-width: 1.6; stroke-linejoin: round; }
        svg.parallel .line { stroke-width: 2; opacity: .8; }
        svg.chart .line.raw { opacity: .25; }
        svg.chart .band { fill-opacity: .16; stroke-opacity: .5; stroke-width: .8; }
        svg.chart .marker.inf { fill: var(--bad); }
        svg.chart .marker.nan { fill: var(--warn); font-size: 12px; font-weight: 700; }
        svg.chart .empty { fill: var(--ink-3); }
        svg.chart .cursor { stroke: var(--ink-3); stroke-dasharray: 3 3; visibility: hidden; }
        svg.chart .series.off { display: none; }
        svg.chart .selection { fill: var(--accent); opacity: .12; }
        .readout { position: absolute; pointer-events: none; background: var(--paper); border: 1px solid var(--line);
          border-radius: var(--radius); padding: var(--s1) var(--s2); font-size: var(--t-small); box-shadow: 0 2px 8px #0002;
          white-space: nowrap; z-index: 3; }
        .readout .swatch { display: inline-block; width: 8px; height: 8px; border-radius: 2px; margin-right: 4px; }
        ul.legend { list-style: none; display: flex; flex-wrap: wrap; gap: var(--s1) var(--s3); padding: 0; margin: 0 0 var(--s2); }
        ul.legend button { border: 0; background: none; padding: 2px; }
        ul.legend button[aria-pressed=false] { opacity: .35; text-decoration: line-through; }
        """#
}
