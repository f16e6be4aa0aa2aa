//! The `/api/docs` page: the document rendered in the browser by a few lines of script, with no
//! outside assets (the server may have no internet access).

pub const HTML: &str = r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>eliza-rs API</title>
<style>
body { font: 14px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 72rem; padding: 0 1rem; }
h2 { border-bottom: 1px solid #ddd; margin-top: 2rem; }
details { border: 1px solid #e4e4e4; border-radius: 4px; margin: .4rem 0; padding: .3rem .6rem; }
summary { cursor: pointer; }
.m { display: inline-block; width: 4.5rem; font-weight: 700; font-family: monospace; }
.GET { color: #0a7; } .POST { color: #07c; } .PATCH { color: #c70; } .PUT { color: #a5c; } .DELETE { color: #c33; }
code, pre { font-family: ui-monospace, monospace; font-size: 12px; }
pre { background: #f6f6f6; padding: .5rem; overflow: auto; }
</style>
</head>
<body>
<h1>eliza-rs API</h1>
<p>Generated from the server's handlers. Raw document: <a href="docs/openapi.json">openapi.json</a>.</p>
<div id="out">Loading…</div>
<script type="module">
const out = document.getElementById("out");
const doc = await (await fetch(location.pathname.replace(/\/?$/, "/openapi.json"))).json();
const byTag = new Map();
for (const [path, item] of Object.entries(doc.paths)) {
  for (const [method, op] of Object.entries(item)) {
    const tag = (op.tags && op.tags[0]) || "other";
    if (!byTag.has(tag)) byTag.set(tag, []);
    byTag.get(tag).push({ path, method: method.toUpperCase(), op });
  }
}
out.textContent = "";
for (const tag of [...byTag.keys()].sort()) {
  const h = document.createElement("h2");
  h.textContent = tag;
  out.append(h);
  for (const { path, method, op } of byTag.get(tag)) {
    const d = document.createElement("details");
    const s = document.createElement("summary");
    const m = document.createElement("span");
    m.className = "m " + method;
    m.textContent = method;
    const p = document.createElement("code");
    p.textContent = path + (op.deprecated ? "  (alias)" : "");
    s.append(m, p, document.createTextNode("  " + (op.summary || "")));
    const pre = document.createElement("pre");
    pre.textContent = JSON.stringify({ parameters: op.parameters, requestBody: op.requestBody, responses: op.responses }, null, 2);
    d.append(s, pre);
    out.append(d);
  }
}
</script>
</body>
</html>
"#;
