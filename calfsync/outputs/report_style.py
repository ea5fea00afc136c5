"""The report page's stylesheet: light and dark (``prefers-color-scheme``), phone first.

Chart colours are CSS variables the inline SVG reads through its classes, so the charts follow
the system's dark mode with the text. On a narrow screen the chart text is drawn larger in the
SVG's own units, as the whole chart shrinks to the screen's width.
"""

CSS = """
:root{--bg:#fff;--fg:#1b1f24;--muted:#56606b;--grid:#dde2e7;--card:#f4f6f8;--bar:#5b8fc7;
--this:#1f5a96;--over:#d9822b;--ref:#1b1f24;--climb:#2a8a55;--alert:#c0392b;--track:#e4e8ec}
@media (prefers-color-scheme:dark){:root{--bg:#121518;--fg:#e4e7ea;--muted:#a0a9b3;
--grid:#2c3339;--card:#1c2126;--bar:#4f7fb3;--this:#8cb8e8;--over:#f0a04b;--ref:#f2f4f6;
--climb:#5cc98d;--alert:#ff6b5b;--track:#2c3339}}
*{box-sizing:border-box}
body{margin:0 auto;max-width:56rem;padding:1rem;background:var(--bg);color:var(--fg);
font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
h1{font-size:1.6rem;margin:.2rem 0}h2{font-size:1.25rem;margin:2rem 0 .5rem}
h3{font-size:1rem;margin:1rem 0 .3rem}
a{color:var(--this)}nav a{margin-right:.8rem}
.muted{color:var(--muted)}
svg.chart{display:block;width:100%;height:auto;margin:.5rem 0}
.chart text{font-size:13px;fill:var(--muted)}
.chart .label{fill:var(--fg)}
.chart .grid{stroke:var(--grid);stroke-width:1}
.chart .bar{fill:var(--bar)}.chart .bar.this{fill:var(--this)}.chart .bar.over{fill:var(--over)}
.chart .ref{stroke:var(--ref);stroke-width:2}
.chart .climb{fill:none;stroke:var(--climb);stroke-width:2.5}.chart .climb-dot{fill:var(--climb)}
.chart .alert-mark{fill:var(--alert);stroke:var(--bg);stroke-width:1.5}
.chart .sore{fill:var(--over)}.chart .sore.high{fill:var(--alert)}
.key{display:inline-block;width:.9em;height:.9em;vertical-align:-.1em;margin:0 .2em 0 .6em;
border-radius:2px;background:var(--bar)}
.key.climb{height:.25em;vertical-align:.2em;background:var(--climb)}
.key.alert{border-radius:50%;background:var(--alert)}.key.over{background:var(--over)}
.shoe{margin:.6rem 0}
.track{height:.8rem;border-radius:.4rem;background:var(--track);overflow:hidden}
.fill{height:100%;background:var(--bar)}.fill.worn{background:var(--alert)}
.fill.retired{opacity:.5}
.scroll{overflow-x:auto}
table{border-collapse:collapse;width:100%;font-size:.9rem}
caption{text-align:left;color:var(--muted);padding:.3rem 0}
th,td{padding:.25rem .5rem;border-bottom:1px solid var(--grid);text-align:right}
th:first-child,td:first-child{text-align:left}
details{margin:.5rem 0}summary{cursor:pointer;color:var(--this)}
ul.marked{padding-left:1.2rem}
article.alert{background:var(--card);border-left:4px solid var(--alert);border-radius:4px;
padding:.5rem .8rem;margin:.8rem 0}
article.alert h3{margin:.2rem 0}
.body{white-space:pre-line;margin:.3rem 0}
code{font-size:.9em}
@media (max-width:40rem){body{padding:.6rem}.chart text{font-size:22px}}
""".strip()
