// A small, strict TOML reader for pasted wrangler.toml files: comments, [tables], [[arrays of tables]],
// bare, quoted and dotted keys, basic and literal strings (single- and multi-line), integers, floats,
// booleans, arrays and inline tables. Dates and times (which EDGE_AUTH never uses) are refused, as is
// everything TOML forbids that matters here (a key or table defined twice). A mistake throws TomlError
// with its line number. The CLI reads the same files with the `toml` crate.

export class TomlError extends Error {}

export function parseToml(text) {
  let pos = 0;
  const root = {};
  const defined = new Set(); // tables opened with [header] (and every inline table / value)
  let current = root;

  const line = () => text.slice(0, pos).split("\n").length;
  const fail = (message) => {
    throw new TomlError(`line ${line()}: ${message}`);
  };
  const peek = (n = 0) => text[pos + n];
  const skipSpace = () => {
    while (peek() === " " || peek() === "\t") pos++;
  };
  const skipComment = () => {
    if (peek() === "#") while (pos < text.length && peek() !== "\n") pos++;
  };
  /// Whitespace, newlines and comments (inside arrays).
  const skipAll = () => {
    for (;;) {
      skipSpace();
      skipComment();
      if (peek() === "\n" || peek() === "\r") pos++;
      else return;
    }
  };
  const endOfLine = () => {
    skipSpace();
    skipComment();
    if (peek() === "\r") pos++;
    if (pos < text.length && peek() !== "\n") fail(`unexpected ${JSON.stringify(peek())}`);
    pos++;
  };

  const ESCAPES = { b: "\b", t: "\t", n: "\n", f: "\f", r: "\r", '"': '"', "\\": "\\", e: "\x1b" };
  function basicString(multi) {
    let out = "";
    for (;;) {
      if (pos >= text.length) fail("unterminated string");
      const c = text[pos];
      if (multi ? text.startsWith('"""', pos) && text[pos + 3] !== '"' : c === '"') {
        pos += multi ? 3 : 1;
        return out;
      }
      if (c === "\n" && !multi) fail("newline in a string");
      if (c === "\\") {
        const e = text[pos + 1];
        if (multi && /[ \t\r\n]/.test(e)) {
          // A line-ending backslash: the newline and the whitespace after it are dropped.
          let at = pos + 1;
          while (/[ \t]/.test(text[at] ?? "")) at++;
          if (text[at] === "\r") at++;
          if (text[at] !== "\n") fail("invalid escape");
          pos = at;
          while (/[ \t\r\n]/.test(text[pos] ?? "")) pos++;
          continue;
        }
        if (e in ESCAPES) {
          out += ESCAPES[e];
          pos += 2;
        } else if (e === "u" || e === "U") {
          const n = e === "u" ? 4 : 8;
          const hex = text.slice(pos + 2, pos + 2 + n);
          if (!new RegExp(`^[0-9A-Fa-f]{${n}}$`).test(hex)) fail("invalid unicode escape");
          const code = parseInt(hex, 16);
          if (code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) fail("invalid unicode scalar");
          out += String.fromCodePoint(code);
          pos += 2 + n;
        } else {
          fail(`invalid escape \\${e ?? ""}`);
        }
        continue;
      }
      out += c;
      pos++;
    }
  }
  function literalString(multi) {
    const close = multi ? "'''" : "'";
    const end = text.indexOf(close, pos);
    if (end < 0) fail("unterminated string");
    const out = text.slice(pos, end);
    if (!multi && out.includes("\n")) fail("newline in a string");
    pos = end + close.length;
    return out;
  }
  function string() {
    if (text.startsWith('"""', pos)) {
      pos += 3;
      if (peek() === "\n") pos++;
      else if (peek() === "\r" && peek(1) === "\n") pos += 2;
      return basicString(true);
    }
    if (text.startsWith("'''", pos)) {
      pos += 3;
      if (peek() === "\n") pos++;
      else if (peek() === "\r" && peek(1) === "\n") pos += 2;
      return literalString(true);
    }
    const q = text[pos++];
    return q === '"' ? basicString(false) : literalString(false);
  }

  function key() {
    const parts = [];
    for (;;) {
      skipSpace();
      const c = peek();
      if (c === '"' || c === "'") {
        if (text.startsWith(c.repeat(3), pos)) fail("multi-line strings are not keys");
        parts.push(string());
      } else {
        const m = /^[A-Za-z0-9_-]+/.exec(text.slice(pos, pos + 256));
        if (!m) fail(c === undefined ? "a key expected" : `a key expected, found ${JSON.stringify(c)}`);
        parts.push(m[0]);
        pos += m[0].length;
      }
      skipSpace();
      if (peek() !== ".") return parts;
      pos++;
    }
  }

  function value() {
    const c = peek();
    if (c === '"' || c === "'") return string();
    if (c === "[") return array();
    if (c === "{") return inlineTable();
    const m = /^[^ \t\r\n,\]}#]+/.exec(text.slice(pos, pos + 128));
    if (!m) fail(c === undefined || c === "\n" ? "a value expected" : `unexpected ${JSON.stringify(c)}`);
    const word = m[0];
    pos += word.length;
    if (word === "true") return true;
    if (word === "false") return false;
    if (/^[+-]?(0|[1-9](_?[0-9])*)$/.test(word)) {
      const n = Number(word.replace(/_/g, ""));
      if (!Number.isSafeInteger(n)) fail(`integer out of range: ${word}`);
      return n;
    }
    if (/^0x[0-9A-Fa-f](_?[0-9A-Fa-f])*$/.test(word)) return Number.parseInt(word.slice(2).replace(/_/g, ""), 16);
    if (/^[+-]?(0|[1-9](_?[0-9])*)(\.[0-9](_?[0-9])*)?([eE][+-]?[0-9](_?[0-9])*)?$/.test(word)) return Number(word.replace(/_/g, ""));
    if (/^[+-]?(inf|nan)$/.test(word)) fail("inf and nan are not JSON numbers");
    if (/^\d{4}-\d{2}-\d{2}|^\d{2}:\d{2}/.test(word)) fail("dates and times are not supported (EDGE_AUTH has none)");
    return fail(`not a TOML value: ${JSON.stringify(word)} (strings need quotes)`);
  }

  function array() {
    pos++; // [
    const out = [];
    for (;;) {
      skipAll();
      if (peek() === "]") {
        pos++;
        return out;
      }
      out.push(value());
      skipAll();
      if (peek() === ",") pos++;
      else if (peek() === "]") {
        pos++;
        return out;
      } else fail("`,` or `]` expected in an array");
    }
  }

  function inlineTable() {
    pos++; // {
    const out = {};
    const own = new Set();
    skipAll();
    if (peek() === "}") {
      pos++;
      return out;
    }
    for (;;) {
      skipAll();
      const path = key();
      if (peek() !== "=") fail("`=` expected");
      pos++;
      skipSpace();
      assign(out, path, value(), own);
      skipAll();
      if (peek() === ",") pos++;
      else if (peek() === "}") {
        pos++;
        return out;
      } else fail("`,` or `}` expected in an inline table");
    }
  }

  const isTable = (v) => v !== null && typeof v === "object" && !Array.isArray(v);

  /// Sets `path` = `v` under `table`; dotted keys create tables. `own` records what is defined.
  function assign(table, path, v, own, prefix = "") {
    let t = table;
    for (let i = 0; i < path.length - 1; i++) {
      const name = path[i];
      if (t[name] === undefined) t[name] = {};
      else if (!isTable(t[name]) || own.has(`${prefix}${JSON.stringify(path.slice(0, i + 1))}=`)) fail(`${path.slice(0, i + 1).join(".")} is already a value`);
      t = t[name];
    }
    const last = path[path.length - 1];
    if (Object.prototype.hasOwnProperty.call(t, last)) fail(`${path.join(".")} is defined twice`);
    t[last] = v;
    own.add(`${prefix}${JSON.stringify(path)}=`);
  }

  const valueKeys = new Set();
  let currentName = "[]";
  for (;;) {
    skipAll();
    if (pos >= text.length) return root;
    if (peek() === "[") {
      const isArray = peek(1) === "[";
      pos += isArray ? 2 : 1;
      const path = key();
      if (!text.startsWith(isArray ? "]]" : "]", pos)) fail(isArray ? "`]]` expected" : "`]` expected");
      pos += isArray ? 2 : 1;
      endOfLine();
      let t = root;
      for (let i = 0; i < path.length - 1; i++) {
        const name = path[i];
        if (t[name] === undefined) t[name] = {};
        let next = t[name];
        if (Array.isArray(next)) next = next[next.length - 1];
        if (!isTable(next)) fail(`${path.slice(0, i + 1).join(".")} is not a table`);
        t = next;
      }
      const last = path[path.length - 1];
      const name = JSON.stringify(path);
      if (isArray) {
        if (t[last] === undefined) t[last] = [];
        if (!Array.isArray(t[last]) || defined.has(name)) fail(`${path.join(".")} is not an array of tables`);
        const table = {};
        t[last].push(table);
        current = table;
        currentName = `${name}#${t[last].length}`;
      } else {
        if (defined.has(name) || valueKeys.has(name)) fail(`[${path.join(".")}] is defined twice`);
        if (t[last] === undefined) t[last] = {};
        if (!isTable(t[last])) fail(`${path.join(".")} is not a table`);
        defined.add(name);
        current = t[last];
        currentName = name;
      }
      continue;
    }
    const path = key();
    if (peek() !== "=") fail("`=` expected after a key");
    pos++;
    skipSpace();
    const v = value();
    assign(current, path, v, valueKeys, currentName);
    endOfLine();
  }
}
