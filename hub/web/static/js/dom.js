// Building DOM nodes from data without ever parsing markup: every string becomes a text node.

/**
 * Create an element. `attrs`: `class`, `dataset` (object), `on<event>` (function),
 * booleans (set when true), anything else via setAttribute. Children: nodes, strings,
 * numbers, arrays, null/undefined/false (skipped).
 */
export function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on") && typeof value === "function") {
      node.addEventListener(key.slice(2), value);
    } else if (key === "value") node.value = value;
    else if (value === true) node.setAttribute(key, "");
    else node.setAttribute(key, String(value));
  }
  append(node, children);
  return node;
}

/** Append children (nested arrays allowed); strings are inserted as text, never as HTML. */
export function append(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** Replace everything inside `node`. */
export function replace(node, ...children) {
  node.replaceChildren();
  return append(node, children);
}

/** A message box: kind is "error", "empty", "info" or "ok". */
export function notice(kind, ...children) {
  return h("div", { class: `state ${kind}`, role: kind === "error" ? "alert" : "status" }, ...children);
}
