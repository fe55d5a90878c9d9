extension Assets {
    /// The page script: everything it does is an enhancement of a page that works without it.
    /// - forms and selects marked `auto` submit on change;
    /// - the legend toggles a run's curves on every chart of the page;
    /// - hovering a chart shows step, value and time of every run under the cursor (its buckets
    ///   are fetched once, from the chart's `data-src`);
    /// - dragging across a chart zooms every chart to that range (new buckets from the server,
    ///   `from`/`to` kept in the URL); a double click resets;
    /// - a page with `data-live` refreshes its `data-live` parts every 3 s while a run is RUNNING.
    static let js = #"""
        "use strict";
        (function () {
          const $$ = (selector, root) => Array.from((root || document).querySelectorAll(selector));

          function wireForms(root) {
            for (const input of $$(".auto", root)) {
              input.addEventListener("change", () => input.form && input.form.requestSubmit());
            }
          }

          // Legend: a run hidden stays hidden across zooms and refreshes.
          const hidden = new Set();
          function applyHidden(root) {
            for (const group of $$("svg .series[data-run]", root)) {
              group.classList.toggle("off", hidden.has(group.dataset.run));
            }
            for (const button of $$("ul.legend button[data-run]")) {
              button.setAttribute("aria-pressed", hidden.has(button.dataset.run) ? "false" : "true");
            }
          }
          for (const button of $$("ul.legend button[data-run]")) {
            button.setAttribute("aria-pressed", "true");
            button.addEventListener("click", () => {
              const run = button.dataset.run;
              if (hidden.has(run)) hidden.delete(run); else hidden.add(run);
              applyHidden(document);
            });
          }

          function scale(svg) {
            const box = svg.getBoundingClientRect();
            const viewWidth = svg.viewBox.baseVal.width || box.width;
            const k = box.width / viewWidth;
            const px0 = +svg.dataset.px0, px1 = +svg.dataset.px1, x0 = +svg.dataset.x0, x1 = +svg.dataset.x1;
            return {
              toData: (clientX) => x0 + ((clientX - box.left) / k - px0) / (px1 - px0) * (x1 - x0),
              toView: (value) => px0 + (value - x0) / (x1 - x0) * (px1 - px0),
              k, box, px0, px1,
            };
          }

          function formatX(axis, x) {
            if (axis === "time") return new Date(x).toISOString().replace("T", " ").slice(0, 19) + " UTC";
            if (axis === "relative") return (x / 1000).toFixed(1) + " s";
            return "step " + x;
          }

          function nearest(points, x) {
            let lo = 0, hi = points.length - 1;
            if (hi < 0) return null;
            while (lo < hi) {
              const mid = (lo + hi) >> 1;
              if (points[mid][0] < x) lo = mid + 1; else hi = mid;
            }
            if (lo > 0 && Math.abs(points[lo - 1][0] - x) < Math.abs(points[lo][0] - x)) lo -= 1;
            return points[lo];
          }

          const hoverData = new Map();
          function wireChart(figure) {
            const svg = figure.querySelector("svg.chart");
            if (!svg || !svg.dataset.src) return;
            const cursor = svg.querySelector(".cursor");
            let readout = figure.querySelector(".readout");
            if (!readout) {
              readout = document.createElement("div");
              readout.className = "readout";
              readout.hidden = true;
              figure.appendChild(readout);
            }
            let drag = null, selection = null;
            const load = () => {
              if (!hoverData.has(svg.dataset.src)) {
                hoverData.set(svg.dataset.src, fetch(svg.dataset.src).then((r) => r.json()).catch(() => ({ series: [] })));
              }
              return hoverData.get(svg.dataset.src);
            };
            svg.addEventListener("mouseenter", load);
            svg.addEventListener("mousemove", async (event) => {
              const s = scale(svg);
              const viewX = (event.clientX - s.box.left) / s.k;
              if (viewX < s.px0 || viewX > s.px1) { readout.hidden = true; return; }
              if (cursor) {
                cursor.setAttribute("x1", viewX); cursor.setAttribute("x2", viewX);
                cursor.style.visibility = "visible";
              }
              if (drag !== null && selection) {
                const a = Math.min(drag, viewX), b = Math.max(drag, viewX);
                selection.setAttribute("x", a); selection.setAttribute("width", b - a);
              }
              const data = await load();
              const x = s.toData(event.clientX);
              readout.textContent = "";
              let header = null;
              for (const series of data.series) {
                if (hidden.has(series.run)) continue;
                const point = nearest(series.points, x);
                if (!point) continue;
                if (!header) {
                  header = document.createElement("div");
                  header.textContent = formatX(svg.dataset.axis, point[0]) +
                    (svg.dataset.axis === "step" ? "" : " · step " + point[2]);
                  readout.appendChild(header);
                }
                const line = document.createElement("div");
                const swatch = document.createElement("span");
                swatch.className = "swatch";
                swatch.style.background = series.color;
                line.appendChild(swatch);
                const range = point[4] === point[5] ? "" : "  [" + point[4] + " … " + point[5] + "]";
                line.appendChild(document.createTextNode(series.label + ": " + point[1] + range +
                  "  @ " + new Date(point[3]).toISOString().slice(11, 19)));
                readout.appendChild(line);
              }
              readout.hidden = !header;
              const figureBox = figure.getBoundingClientRect();
              let left = event.clientX - figureBox.left + 14;
              if (left + readout.offsetWidth > figureBox.width) left = event.clientX - figureBox.left - readout.offsetWidth - 14;
              readout.style.left = Math.max(0, left) + "px";
              readout.style.top = (event.clientY - figureBox.top + 12) + "px";
            });
            svg.addEventListener("mouseleave", () => {
              readout.hidden = true;
              if (cursor) cursor.style.visibility = "hidden";
            });
            svg.addEventListener("mousedown", (event) => {
              const s = scale(svg);
              drag = (event.clientX - s.box.left) / s.k;
              selection = document.createElementNS("http://www.w3.org/2000/svg", "rect");
              selection.setAttribute("class", "selection");
              selection.setAttribute("y", 0); selection.setAttribute("height", svg.viewBox.baseVal.height);
              selection.setAttribute("x", drag); selection.setAttribute("width", 0);
              svg.appendChild(selection);
              event.preventDefault();
            });
            window.addEventListener("mouseup", (event) => {
              if (drag === null) return;
              const s = scale(svg);
              const end = (event.clientX - s.box.left) / s.k;
              const start = drag;
              drag = null;
              if (selection) { selection.remove(); selection = null; }
              if (Math.abs(end - start) < 4) return;
              const toData = (v) => +svg.dataset.x0 + (v - s.px0) / (s.px1 - s.px0) * (+svg.dataset.x1 - +svg.dataset.x0);
              const from = Math.floor(toData(Math.max(s.px0, Math.min(start, end))));
              const to = Math.ceil(toData(Math.min(s.px1, Math.max(start, end))));
              zoom(from, to);
            });
            svg.addEventListener("dblclick", () => zoom(null, null));
          }

          function withRange(src, from, to) {
            const url = new URL(src, location.href);
            if (from === null) { url.searchParams.delete("from"); url.searchParams.delete("to"); }
            else { url.searchParams.set("from", from); url.searchParams.set("to", to); }
            return url;
          }

          // Zoom every chart of the page to from…to (null: everything), keeping it in the URL.
          async function zoom(from, to) {
            history.replaceState(null, "", withRange(location.href, from, to));
            for (const input of $$("form.controls input[name=from]")) input.value = from === null ? "" : from;
            for (const input of $$("form.controls input[name=to]")) input.value = to === null ? "" : to;
            await Promise.all($$("figure[data-chart]").map(async (figure) => {
              const url = withRange(figure.dataset.chart, from, to);
              figure.dataset.chart = url.pathname + url.search;
              const response = await fetch(url);
              if (!response.ok) return;
              const markup = await response.text();
              const svg = new DOMParser().parseFromString(markup, "image/svg+xml").documentElement;
              const old = figure.querySelector("svg.chart");
              if (old && svg.nodeName === "svg") old.replaceWith(document.importNode(svg, true));
              wireChart(figure);
            }));
            applyHidden(document);
            document.body.dataset.zoomed = from === null ? "" : from + ":" + to;
          }

          // Live: while something on the page is RUNNING, fetch the page again and swap its live parts.
          async function refresh() {
            try {
              const response = await fetch(location.href, { headers: { "X-Runlog-Refresh": "1" } });
              if (!response.ok) return;
              const page = new DOMParser().parseFromString(await response.text(), "text/html");
              for (const part of $$("[data-live]", page.body)) {
                const here = document.querySelector('[data-live="' + CSS.escape(part.dataset.live) + '"]');
                if (!here || here === document.body) continue;
                if (here.matches("figure") && !here.matches(":hover")) {
                  here.replaceWith(document.importNode(part, true));
                  const replaced = document.querySelector('[data-live="' + CSS.escape(part.dataset.live) + '"]');
                  hoverData.delete(replaced.querySelector("svg.chart") && replaced.querySelector("svg.chart").dataset.src);
                  wireChart(replaced);
                } else if (!here.matches("figure")) {
                  // Keep ticked boxes ticked.
                  const ticked = new Set($$("input[type=checkbox]:checked", here).map((box) => box.value));
                  const fresh = document.importNode(part, true);
                  for (const box of $$("input[type=checkbox]", fresh)) box.checked = ticked.has(box.value);
                  here.replaceWith(fresh);
                }
              }
              applyHidden(document);
              document.body.dataset.refreshed = String(Date.now());
              if (!page.body.dataset.live) { delete document.body.dataset.live; return; }
            } catch (error) {
              // The server may be restarting: try again at the next tick.
            }
            setTimeout(refresh, 3000);
          }

          wireForms(document);
          for (const figure of $$("figure[data-chart]")) wireChart(figure);
          applyHidden(document);
          if (document.body.dataset.live) setTimeout(refresh, 3000);
        })();
        """#
}
