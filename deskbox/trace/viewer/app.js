// The deskbox trace viewer: a timeline of steps, the screen at each with what the step
// did drawn on it, the request and answer, where the time went, and a filmstrip.
// Preact components written with htm (window.htmPreact), so no build step; the page
// reads window.DESKBOX_VIEWER to know whether its trace is inline or behind a server.
(function () {
  "use strict";
  const { html, render, useState, useEffect, useMemo, useRef } = window.htmPreact;
  const config = window.DESKBOX_VIEWER || { source: "remote", base: "./", live: false };
  const PLAY_EVERY_MS = 900;

  // ---- where the data is ------------------------------------------------------------------

  function frameUrl(seq) {
    if (seq == null) return null;
    if (config.source === "embedded") return (window.DESKBOX_FRAMES || {})[String(seq)] || null;
    return config.base + "frames/" + seq;
  }

  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  async function failure(response) {
    try {
      const body = await response.json();
      if (body && body.error && body.error.message) return body.error.message;
    } catch (ignored) {
      // not the server's error shape
    }
    return "HTTP " + response.status;
  }

  // The trace's events: all at once from the page itself or a file's server; from a
  // sandbox, as they are written (a long poll that also notices a new trace starting).
  function useTrace() {
    const [state, setState] = useState({ meta: null, events: [], tracing: false, error: null, loaded: false });
    useEffect(() => {
      if (config.source === "embedded") {
        const trace = window.DESKBOX_TRACE || { meta: null, events: [] };
        setState({ meta: trace.meta, events: trace.events, tracing: false, error: null, loaded: true });
        return undefined;
      }
      let stopped = false;
      (async () => {
        let after = 0;
        let events = [];
        let started = null;
        while (!stopped) {
          try {
            const wait = config.live && after > 0 ? 20 : 0;
            const url = config.base + "events?after=" + after + "&wait=" + wait;
            const response = await fetch(url, { credentials: "same-origin", cache: "no-store" });
            if (!response.ok) throw new Error(await failure(response));
            const answer = await response.json();
            const begun = answer.meta ? answer.meta.started_at : null;
            if (begun !== started && after > 0) {
              after = 0; // a new trace began: read it from its start
              events = [];
              started = begun;
              continue;
            }
            started = begun;
            events = answer.events.length ? events.concat(answer.events) : events;
            after = answer.last;
            setState({ meta: answer.meta, events, tracing: answer.tracing, error: null, loaded: true });
            if (!config.live) return;
            if (!answer.tracing && !answer.events.length) await sleep(1500);
          } catch (error) {
            setState((previous) => ({ ...previous, error: String(error.message || error), loaded: true }));
            if (!config.live) return;
            await sleep(2000);
          }
        }
      })();
      return () => {
        stopped = true;
      };
    }, []);
    return state;
  }

  // Steps in order, each with the frame before it (the last one taken before it began)
  // and after it (the last one taken before the next step began).
  function buildModel(events) {
    const steps = [];
    const frames = [];
    const notes = {};
    for (const event of events) {
      if (event.kind === "step") steps.push({ ...event });
      else if (event.kind === "frame") frames.push(event);
      else if (event.kind === "note") notes[event.seq] = event;
    }
    const bySeq = (a, b) => a.seq - b.seq;
    steps.sort(bySeq);
    frames.sort(bySeq);
    const seqs = frames.map((frame) => frame.seq);
    const lastBefore = (seq) => {
      let low = 0;
      let high = seqs.length;
      while (low < high) {
        const middle = (low + high) >> 1;
        if (seqs[middle] < seq) low = middle + 1;
        else high = middle;
      }
      return low > 0 ? seqs[low - 1] : null;
    };
    steps.forEach((step, position) => {
      const before = step.before != null ? step.before : lastBefore(step.seq);
      const bound = position + 1 < steps.length ? steps[position + 1].seq : Infinity;
      let after = lastBefore(bound);
      if (after == null || (before != null && after < before)) after = before;
      step.frameBefore = before;
      step.frameAfter = after;
    });
    return { steps, frames, notes };
  }

  // ---- what a step did, in words ----------------------------------------------------------

  function actionsOf(step) {
    const body = step.request;
    if (step.path !== "/actions" || !body || typeof body !== "object") return [];
    if (body.type === "batch") return Array.isArray(body.actions) ? body.actions.filter(isObject) : [];
    return [body];
  }

  const isObject = (value) => value && typeof value === "object" && !Array.isArray(value);
  const clip = (text, length) => (text.length > length ? text.slice(0, length - 1) + "…" : text);
  const hasPoint = (action) => typeof action.x === "number" && typeof action.y === "number";
  const keysOf = (keys) => (Array.isArray(keys) ? keys.join("+") : String(keys));

  function describeAction(action) {
    const at = hasPoint(action) ? " at " + action.x + ", " + action.y : "";
    const mods = Array.isArray(action.modifiers) && action.modifiers.length ? " with " + action.modifiers.join("+") : "";
    const button = action.button && action.button !== "left" ? action.button + " " : "";
    switch (action.type) {
      case "click": {
        const name = { 2: "double-click", 3: "triple-click" }[action.count] || "click";
        return button + name + at + mods;
      }
      case "move":
        return "move to " + action.x + ", " + action.y;
      case "mouse_down":
      case "mouse_up":
        return button + "button " + (action.type === "mouse_down" ? "down" : "up") + at;
      case "drag": {
        const path = Array.isArray(action.path) ? action.path : [];
        const last = path[path.length - 1] || {};
        return "drag from " + (path[0] ? path[0].x + ", " + path[0].y : "?") + " to " + last.x + ", " + last.y + mods;
      }
      case "scroll":
        return "scroll " + scrollWords(action) + at + mods;
      case "key":
        return "key " + keysOf(action.keys) + (action.repeat > 1 ? " ×" + action.repeat : "");
      case "key_down":
      case "key_up":
        return action.key + (action.type === "key_down" ? " down" : " up");
      case "hold_key":
        return "hold " + keysOf(action.keys) + " for " + action.duration + " s";
      case "type":
        return "type “" + clip(String(action.text), 60) + "”";
      case "wait":
        return "wait " + action.duration + " s";
      case "screenshot":
        return "screenshot";
      case "cursor_position":
        return "where is the pointer";
      case "zoom":
        return "zoom into a region";
      case "pyautogui":
        return "pyautogui: " + clip(String(action.code || action.signal || "").split("\n")[0], 60);
      default:
        return String(action.type);
    }
  }

  function scrollWords(action) {
    const parts = [];
    if (action.dy) parts.push((action.dy > 0 ? "down " : "up ") + Math.abs(action.dy));
    if (action.dx) parts.push((action.dx > 0 ? "right " : "left ") + Math.abs(action.dx));
    return parts.join(", ") || "0";
  }

  function commandOf(body) {
    if (!isObject(body)) return "";
    const command = ["cmd", "command", "code"].map((key) => body[key]).find((value) => value != null);
    return Array.isArray(command) ? command.join(" ") : String(command == null ? "" : command);
  }

  function summary(step) {
    const actions = actionsOf(step);
    if (actions.length === 1) return describeAction(actions[0]);
    if (actions.length > 1) return actions.length + " actions: " + actions.map((a) => a.type).join(", ");
    if (step.category === "screenshot") return "screenshot";
    if (step.category === "command") return "$ " + clip(commandOf(step.request), 80);
    if (step.category === "file") {
      const where = (step.query && step.query.path) || (isObject(step.request) && step.request.path) || "";
      return step.method + " " + step.path.replace(/^\/(osworld\/)?/, "") + (where ? " " + where : "");
    }
    return step.method + " " + step.path;
  }

  const ICONS = { action: "🖱", screenshot: "📷", command: "$", file: "📄", other: "•" };

  function icon(step) {
    const actions = actionsOf(step);
    if (actions.length && actions.every((a) => ["type", "key", "key_down", "key_up", "hold_key"].includes(a.type)))
      return "⌨";
    return ICONS[step.category] || "•";
  }

  const ms = (value) => (value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2)) + " ms";

  // ---- what a step did, drawn on the screen -------------------------------------------------

  function Overlay({ step, meta }) {
    const width = meta.screen_width;
    const height = meta.screen_height;
    const radius = Math.max(width / 80, 10);
    const font = Math.max(height / 32, 12);
    const marks = [];
    const labels = [];
    const actions = actionsOf(step);
    let pointer = Array.isArray(step.pointer) ? { x: step.pointer[0], y: step.pointer[1] } : null;
    actions.forEach((action, position) => {
      const number = actions.length > 1 ? position + 1 + ". " : "";
      const at = hasPoint(action) ? { x: action.x, y: action.y } : pointer;
      const key = "m" + position;
      switch (action.type) {
        case "click":
        case "mouse_down":
        case "mouse_up":
        case "move":
          if (!at) break;
          marks.push(html`<g class="mark" data-kind=${action.type} data-x=${at.x} data-y=${at.y} key=${key}>
            <circle class="ring" cx=${at.x} cy=${at.y} r=${radius} />
            <circle class="dot" cx=${at.x} cy=${at.y} r=${radius / 4} />
            <text class="mark-label" x=${at.x + radius * 1.3} y=${at.y - radius * 0.8} font-size=${font * 0.8}>
              ${number + describeAction(action).replace(/ at .*$/, "")}
            </text>
          </g>`);
          pointer = at;
          break;
        case "drag": {
          const path = (Array.isArray(action.path) ? action.path : []).filter(hasPoint);
          if (path.length < 2) break;
          const end = path[path.length - 1];
          marks.push(html`<g class="mark" data-kind="drag" key=${key}>
            <polyline class="path" points=${path.map((p) => p.x + "," + p.y).join(" ")} />
            <circle class="ring" cx=${path[0].x} cy=${path[0].y} r=${radius * 0.7} />
            <circle class="dot" cx=${end.x} cy=${end.y} r=${radius / 3} />
            <text class="mark-label" x=${end.x + radius} y=${end.y - radius * 0.6} font-size=${font * 0.8}>${number}drag</text>
          </g>`);
          pointer = end;
          break;
        }
        case "scroll": {
          if (!at) break;
          const length = radius * 3;
          const dx = Math.sign(action.dx || 0) * length;
          const dy = Math.sign(action.dy || 0) * length;
          marks.push(html`<g class="mark" data-kind="scroll" data-x=${at.x} data-y=${at.y} key=${key}>
            <circle class="ring" cx=${at.x} cy=${at.y} r=${radius * 0.7} />
            <line class="path" x1=${at.x} y1=${at.y} x2=${at.x + dx} y2=${at.y + dy} />
            <text class="mark-label" x=${at.x + radius * 1.2} y=${at.y - radius * 0.6} font-size=${font * 0.8}>
              ${number + "scroll " + scrollWords(action)}
            </text>
          </g>`);
          pointer = at;
          break;
        }
        case "zoom":
          if (isObject(action.region))
            marks.push(html`<rect class="region" key=${key} x=${action.region.x} y=${action.region.y}
              width=${action.region.width} height=${action.region.height} />`);
          break;
        case "type":
        case "key":
        case "key_down":
        case "key_up":
        case "hold_key":
        case "pyautogui":
          labels.push({ kind: action.type === "type" ? "typed" : "keys", text: number + describeAction(action) });
          break;
        default:
          break;
      }
    });
    if (!actions.length && step.category !== "screenshot") labels.push({ kind: "other", text: summary(step) });
    const lineHeight = font * 1.6;
    return html`<svg class="overlay" viewBox=${"0 0 " + width + " " + height} preserveAspectRatio="none">
      ${marks}
      ${labels.map(
        (label, position) => html`<g class="caption" data-role=${label.kind} key=${"l" + position}>
          <rect x=${font * 0.6} y=${font * 0.6 + position * lineHeight} rx=${font * 0.3}
            width=${Math.min(width - font * 1.2, (label.text.length + 2) * font * 0.62)} height=${font * 1.4} />
          <text x=${font * 1.1} y=${font * 1.65 + position * lineHeight} font-size=${font}>${label.text}</text>
        </g>`
      )}
    </svg>`;
  }

  // ---- the panes --------------------------------------------------------------------------

  function Timeline({ steps, notes, current, select }) {
    const list = useRef(null);
    useEffect(() => {
      const row = list.current && list.current.querySelector("[aria-current=true]");
      if (row) row.scrollIntoView({ block: "nearest" });
    }, [current]);
    const rows = [];
    let shownNote = null;
    steps.forEach((step, position) => {
      if (step.note != null && step.note !== shownNote && notes[step.note]) {
        shownNote = step.note;
        const note = notes[step.note];
        rows.push(html`<li class="note-row" key=${"n" + note.seq} title=${note.text || ""}>
          <span class="source">${note.source}</span> ${clip(note.text || callName(note.call), 80)}
        </li>`);
      }
      const failed = step.status >= 400;
      rows.push(html`<li key=${step.seq} class=${"step" + (failed ? " failed" : "")} aria-current=${position === current}
          data-index=${step.index} onClick=${() => select(position)}>
        <span class="index">${step.index}</span>
        <span class="icon">${icon(step)}</span>
        <span class="what">${summary(step)}</span>
        <span class="took">${ms(step.timing.total)}</span>
      </li>`);
    });
    return html`<ol class="timeline" ref=${list}>${rows}</ol>`;
  }

  function callName(call) {
    if (!isObject(call)) return "";
    const input = isObject(call.input) ? call.input.action : null;
    const actions = Array.isArray(call.actions) ? call.actions.map((a) => a && a.type).join(", ") : null;
    return [call.name || call.tool || call.type, input || actions].filter(Boolean).join(": ");
  }

  function Stage({ step, meta, view, setView }) {
    if (!step) return html`<section class="stage"><p class="empty">No steps yet.</p></section>`;
    const seq = view === "after" ? step.frameAfter : step.frameBefore;
    const url = frameUrl(seq);
    return html`<section class="stage">
      <div class="views" role="tablist">
        ${["before", "after"].map(
          (name) => html`<button role="tab" aria-selected=${view === name} onClick=${() => setView(name)}>
            ${name === "before" ? "Before the step" : "After it"}</button>`
        )}
        <span class="hint">← → step · space plays · a before/after${config.live ? " · f follows" : ""}</span>
      </div>
      <div class="shot" data-frame=${seq == null ? "" : seq}>
        ${url
          ? html`<img src=${url} alt=${"The screen " + view + " step " + step.index} draggable="false" />`
          : html`<div class="no-frame" style=${"aspect-ratio:" + meta.screen_width + "/" + meta.screen_height}>
              no picture of the screen</div>`}
        <${Overlay} step=${step} meta=${meta} />
      </div>
      <p class="caption-line"><b>#${step.index}</b> ${summary(step)}</p>
    </section>`;
  }

  function Json({ value }) {
    if (value === null || value === undefined) return html`<p class="none">nothing</p>`;
    return html`<pre class="json">${JSON.stringify(value, null, 2)}</pre>`;
  }

  function TimingBar({ timing }) {
    const parts = ["action", "settle", "encode", "rest"];
    const total = Math.max(timing.total, 0.001);
    return html`<div class="timing" data-total=${timing.total}>
      <div class="bar">
        ${parts.map((part) => html`<span class=${"part " + part} style=${"width:" + (100 * (timing[part] || 0)) / total + "%"}
          title=${part + " " + ms(timing[part] || 0)}></span>`)}
      </div>
      <p class="numbers"><b>${ms(timing.total)}</b>
        ${parts.map((part) => html` <span class=${"legend " + part}>${part} ${ms(timing[part] || 0)}</span>`)}
      </p>
    </div>`;
  }

  function Details({ step, meta, notes }) {
    if (!step) return html`<aside class="details"></aside>`;
    const note = step.note != null ? notes[step.note] : null;
    const offset = meta ? ((step.at - meta.started_at) * 1000).toFixed(0) : null;
    return html`<aside class="details">
      <h2>
        <span class=${"status " + (step.status >= 400 ? "bad" : "good")}>${step.status}</span>
        ${step.method} ${step.path}
      </h2>
      <p class="when">step ${step.index} · ${offset !== null ? "+" + (offset / 1000).toFixed(3) + " s" : ""} · over ${step.channel}</p>
      <h3>Time</h3>
      <${TimingBar} timing=${step.timing} />
      ${step.error ? html`<h3>Error</h3><p class="error">${step.error}</p>` : null}
      ${note
        ? html`<h3>The model (${note.source})</h3>
            ${note.text ? html`<p class="model-text">${note.text}</p>` : null}
            ${note.call !== null && note.call !== undefined
              ? html`<details open><summary>tool call</summary><${Json} value=${note.call} /></details>`
              : null}`
        : null}
      ${step.query && Object.keys(step.query).length ? html`<h3>Query</h3><${Json} value=${step.query} />` : null}
      <h3>Request</h3>
      <${Json} value=${step.request} />
      <h3>Answer</h3>
      <${Json} value=${step.response} />
    </aside>`;
  }

  function Filmstrip({ frames, step, choose }) {
    const strip = useRef(null);
    useEffect(() => {
      const shown = strip.current && strip.current.querySelector(".current");
      if (shown) shown.scrollIntoView({ block: "nearest", inline: "nearest" });
    }, [step && step.frameBefore]);
    return html`<nav class="filmstrip" ref=${strip}>
      ${frames.map((frame) => {
        const current = step && (frame.seq === step.frameBefore || frame.seq === step.frameAfter);
        return html`<img key=${frame.seq} class=${current ? "current" : ""} src=${frameUrl(frame.seq)} loading="lazy"
          data-seq=${frame.seq} title=${"frame " + frame.seq} onClick=${() => choose(frame.seq)} />`;
      })}
    </nav>`;
  }

  // ---- the page ---------------------------------------------------------------------------

  function App() {
    const trace = useTrace();
    const model = useMemo(() => buildModel(trace.events), [trace.events]);
    const [current, setCurrent] = useState(0);
    const [view, setView] = useState("before");
    const [playing, setPlaying] = useState(false);
    const [follow, setFollow] = useState(Boolean(config.live));
    const count = model.steps.length;

    const select = (position, following = false) => {
      setCurrent(Math.max(0, Math.min(count - 1, position)));
      if (!following) setFollow(false);
    };

    useEffect(() => {
      if (follow && count) setCurrent(count - 1);
    }, [count, follow]);

    useEffect(() => {
      if (!playing) return undefined;
      if (current >= count - 1) {
        setPlaying(false);
        return undefined;
      }
      const timer = setTimeout(() => setCurrent(current + 1), PLAY_EVERY_MS);
      return () => clearTimeout(timer);
    }, [playing, current, count]);

    // The handler of the latest render, read when a key comes: an effect registering
    // each render's own would run after the paint, and a key pressed in between went
    // to the previous render's handler, which moved from the step already left.
    const onKey = useRef(null);
    onKey.current = (event) => {
      if (event.target && ["INPUT", "TEXTAREA", "SELECT"].includes(event.target.tagName)) return;
      if (event.ctrlKey || event.metaKey || event.altKey) return;
      const moves = { ArrowRight: 1, ArrowDown: 1, j: 1, ArrowLeft: -1, ArrowUp: -1, k: -1 };
      if (event.key in moves) {
        select(current + moves[event.key]);
        setPlaying(false);
      } else if (event.key === "Home") select(0);
      else if (event.key === "End") {
        select(count - 1);
        if (config.live) setFollow(true);
      } else if (event.key === " ") {
        if (current >= count - 1) select(0);
        setPlaying((value) => !value);
      } else if (event.key === "a") setView((value) => (value === "before" ? "after" : "before"));
      else if (event.key === "f" && config.live) setFollow((value) => !value);
      else return;
      event.preventDefault();
    };
    useEffect(() => {
      const listener = (event) => onKey.current(event);
      window.addEventListener("keydown", listener);
      return () => window.removeEventListener("keydown", listener);
    }, []);

    if (!trace.loaded) return html`<p class="loading">Loading the trace…</p>`;
    if (!trace.meta) {
      return html`<div class="viewer empty-trace"><p class="empty">${
        trace.error ? "The trace cannot be read: " + trace.error : "No trace is running. Start one with sandbox.trace.start()."
      }</p></div>`;
    }
    const step = model.steps[Math.min(current, count - 1)];
    const chooseFrame = (seq) => {
      const found = model.steps.findIndex((candidate) => candidate.frameBefore != null && candidate.frameBefore >= seq);
      select(found >= 0 ? found : count - 1);
    };
    const total = count ? model.steps[count - 1].at + model.steps[count - 1].timing.total / 1000 - trace.meta.started_at : 0;
    const viewer = html`<div class=${"viewer" + (config.vnc ? " compact" : "")}>
      <header>
        <h1>${trace.meta.title || "deskbox trace"}</h1>
        <span class="facts">${[
          count + " steps",
          model.frames.length + " frames",
          total.toFixed(1) + " s",
          trace.meta.screen_width + "×" + trace.meta.screen_height,
        ].join(" · ")}</span>
        ${trace.tracing ? html`<span class="live-badge">● live${follow ? ", following" : ""}</span>` : null}
        ${trace.error ? html`<span class="error">${trace.error}</span>` : null}
        <button class="play" onClick=${() => setPlaying(!playing)} aria-pressed=${playing}>${playing ? "❚❚ pause" : "▶ play"}</button>
      </header>
      <${Timeline} steps=${model.steps} notes=${model.notes} current=${current} select=${select} />
      <${Stage} step=${step} meta=${trace.meta} view=${view} setView=${setView} />
      <${Details} step=${step} meta=${trace.meta} notes=${model.notes} />
      <${Filmstrip} frames=${model.frames} step=${step} choose=${chooseFrame} />
    </div>`;
    if (!config.vnc) return viewer;
    return html`<div class="live">
      <iframe class="vnc" src=${config.vnc} title="The desktop, live"></iframe>
      ${viewer}
    </div>`;
  }

  render(html`<${App} />`, document.getElementById("app"));
})();
