// Live execution page. One update path: the htmx ws extension swaps in the fragments the server
// renders for this viewer (header, steps with their buttons, output chunks). This script only
// (1) resumes a reconnect (or a region swapped by a button's answer) from the last seq the page
// shows, (2) keeps the DOM to the last MAX_LINES lines per step, (3) copies the state into the tab
// title, (4) ticks timers and running durations (display only), and (5) while the socket cannot
// connect, refreshes the region every POLL_SECONDS, and says so. It never cancels a swap. The page
// reads and works fine without it (plain forms; a reload shows the latest state).
(function () {
  "use strict";

  const MAX_LINES = 5000;
  // Closes after which reconnecting is pointless: the run is over (1000), or access ended (44xx).
  const FINAL_CLOSES = [1000, 4401, 4403, 4404];
  // The ws extension itself retries these; for any other unexpected close this script reconnects.
  const EXTENSION_RETRIES = [1006, 1011, 1012, 1013];
  const DROP_CODE = 4000;
  const POLL_SECONDS = 2;
  const FALLBACK = "Live updates unavailable, refreshing every " + POLL_SECONDS + " s";

  const live = { socket: null, wrapper: null, open: false, polling: false, pollTimer: null };
  window.runbooksLive = live;

  function outputs() {
    return document.querySelectorAll("pre[id^='output-']");
  }

  function lastSeq(pre) {
    let seq = parseInt(pre.dataset.lastSeq || "-1", 10);
    // Chunks are appended in seq order, after the server-rendered backlog (which has no data-seq).
    for (let node = pre.lastElementChild; node; node = node.previousElementSibling) {
      if (node.dataset.seq !== undefined) return Math.max(seq, parseInt(node.dataset.seq, 10));
    }
    return seq;
  }

  // ?after=<step_run_id>:<seq>,… — what the page has, so the server sends only the rest.
  function afterParam() {
    const pairs = [];
    outputs().forEach((pre) => {
      const seq = lastSeq(pre);
      if (seq >= 0) pairs.push(pre.id.slice("output-".length) + ":" + seq);
    });
    return pairs.join(",");
  }

  function countLines(node) {
    if (node.nodeType === Node.ELEMENT_NODE && node.dataset.lines !== undefined) {
      return parseInt(node.dataset.lines, 10);
    }
    return (node.textContent.match(/\n/g) || []).length;
  }

  // Remove the first `count` lines of a node (a chunk span or the backlog's text).
  function dropLines(node, count) {
    const text = node.textContent;
    let index = 0;
    for (let dropped = 0; dropped < count; dropped++) {
      const end = text.indexOf("\n", index);
      if (end === -1) {
        index = text.length;
        break;
      }
      index = end + 1;
    }
    const before = countLines(node);
    node.textContent = text.slice(index);
    if (node.dataset && node.dataset.lines !== undefined) node.dataset.lines = String(Math.max(before - count, 0));
  }

  // Keep the last MAX_LINES lines: whole old chunks go, the oldest remaining one loses its first
  // lines. The "show full output" link leads to the rest.
  function trim(pre) {
    if (pre.dataset.lineCount === undefined) {
      let total = 0;
      pre.childNodes.forEach((node) => (total += countLines(node)));
      pre.dataset.lineCount = String(total);
    }
    let total = parseInt(pre.dataset.lineCount, 10);
    let trimmed = false;
    let cutMidLine = false;
    while (total > MAX_LINES && pre.firstChild) {
      const first = pre.firstChild;
      if (first.dataset && first.dataset.seq !== undefined) {
        pre.dataset.lastSeq = String(Math.max(parseInt(pre.dataset.lastSeq || "-1", 10), parseInt(first.dataset.seq, 10)));
      }
      const lines = countLines(first);
      trimmed = true;
      if (lines <= total - MAX_LINES && first !== pre.lastChild) {
        total -= lines;
        cutMidLine = !first.textContent.endsWith("\n");
        first.remove();
      } else {
        // Whole lines from its start: this also takes the partial line an earlier removal left.
        dropLines(first, total - MAX_LINES);
        total = MAX_LINES;
        cutMidLine = false;
      }
    }
    // Chunks break anywhere: never show the tail end of a line whose start was trimmed away.
    const head = pre.firstChild;
    if (cutMidLine && head && head.textContent.includes("\n")) {
      dropLines(head, 1);
      total -= 1;
    }
    pre.dataset.lineCount = String(total);
    if (trimmed || pre.dataset.trimmed === "1") {
      pre.dataset.trimmed = "1";
      const more = document.getElementById("output-more-" + pre.id.slice("output-".length));
      if (more) more.hidden = false;
    }
  }

  function afterUpdate() {
    if (isFinal() && live.polling) {
      setBanner("");
      setPolling(false);
    }
    readClock();
    tickDurations();
    const title = document.getElementById("execution-title");
    if (title && title.textContent.trim()) document.title = title.textContent.trim();
    outputs().forEach((pre) => {
      if (pre.hidden && pre.firstChild) pre.hidden = false;
      // Appended chunks change the count: recount lazily from the spans' data-lines.
      delete pre.dataset.lineCount;
      trim(pre);
      if (pre.dataset.follow !== "0") pre.scrollTop = pre.scrollHeight;
    });
  }

  function isFinal() {
    const status = document.getElementById("execution-status");
    return status && status.dataset.final === "1";
  }

  function setBanner(text) {
    const banner = document.getElementById("live-banner");
    if (!banner) return;
    banner.textContent = text || "";
    banner.hidden = !text;
  }

  function region() {
    return document.querySelector("[data-live-region]");
  }

  // The fallback poll: the region's own page, swapped whole, only while the socket is down.
  function pollOnce() {
    const element = region();
    if (!live.polling || live.open || isFinal() || !element || !window.htmx) return;
    htmx.ajax("GET", element.dataset.refreshUrl, { target: "#" + element.id, swap: "outerHTML" });
  }

  function setPolling(on) {
    live.polling = on && !isFinal();
    document.body.dataset.livePolling = live.polling ? "on" : "off";
    if (live.polling && !live.pollTimer) {
      live.pollTimer = setInterval(pollOnce, POLL_SECONDS * 1000);
    } else if (!live.polling && live.pollTimer) {
      clearInterval(live.pollTimer);
      live.pollTimer = null;
    }
  }

  // What the page shows per step: {"<step_run_id>": seq}, for the socket's "resume" message.
  function resumeMap() {
    const map = {};
    outputs().forEach((pre) => (map[pre.id.slice("output-".length)] = lastSeq(pre)));
    return map;
  }

  // Stop following a pane the reader scrolled up in; resume when they scroll back to the end.
  document.addEventListener(
    "scroll",
    (event) => {
      const pre = event.target;
      if (pre.matches && pre.matches("pre[id^='output-']")) {
        pre.dataset.follow = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 8 ? "1" : "0";
      }
    },
    true,
  );

  if (window.htmx) {
    const base = htmx.createWebSocket;
    htmx.createWebSocket = function (url) {
      const address = new URL(url, location.href);
      const after = afterParam();
      if (after) address.searchParams.set("after", after);
      else address.searchParams.delete("after");
      const socket = base ? base(address.toString()) : new WebSocket(address.toString());
      live.socket = socket;
      return socket;
    };
  }

  document.addEventListener("htmx:wsOpen", (event) => {
    live.open = true;
    live.wrapper = event.detail.socketWrapper;
    setBanner("");
    setPolling(false);
  });

  document.addEventListener("htmx:wsAfterMessage", afterUpdate);
  document.addEventListener("htmx:afterSwap", (event) => {
    afterUpdate();
    // A button's answer (or a last poll) replaced the region, output panes included: tell the open
    // socket what the panes now show, so it sends again whatever they lack.
    const target = event.detail.target;
    if (live.open && live.socket && target && target.matches && target.matches("[data-live-region]")) {
      live.socket.send(JSON.stringify({ resume: resumeMap() }));
    }
  });

  document.addEventListener("htmx:wsClose", (event) => {
    live.open = false;
    // The server may answer our own close with any code: remember that the page dropped it.
    const code = live.dropping ? DROP_CODE : event.detail.event.code;
    live.dropping = false;
    if (code === 1000 || isFinal()) {
      setBanner("");
      setPolling(false);
      return;
    }
    if (FINAL_CLOSES.includes(code)) {
      setBanner(code === 4401 ? "Live updates stopped: you signed out." : "Live updates stopped: you no longer have access to this run.");
      setPolling(false);
      return;
    }
    if (code !== DROP_CODE) {
      setBanner(FALLBACK);
      setPolling(true);
    }
    if (!EXTENSION_RETRIES.includes(code) && live.wrapper) {
      setTimeout(() => live.wrapper.reconnect(), code === DROP_CODE ? live.dropFor || 0 : 2000);
    }
  });

  document.addEventListener("htmx:wsError", () => {
    if (!isFinal()) {
      setBanner(FALLBACK);
      setPolling(true);
    }
  });

  // Belt and braces: a chunk the pane already shows is never appended twice.
  document.addEventListener("htmx:oobBeforeSwap", (event) => {
    const target = event.detail.target;
    if (!target || !target.matches || !target.matches("pre[id^='output-']")) return;
    const last = lastSeq(target);
    const spans = Array.from(event.detail.fragment.querySelectorAll("span[data-seq]")).filter((span) => {
      if (parseInt(span.dataset.seq, 10) > last) return true;
      span.remove();
      return false;
    });
    // A flood (a 64 KiB chunk is ~10,000 short lines) would be laid out only to be trimmed at
    // once: keep just its last MAX_LINES lines and drop what the pane had before it.
    let incoming = spans.reduce((total, span) => total + countLines(span), 0);
    if (incoming < MAX_LINES || !spans.length) return;
    while (spans.length > 1 && incoming - countLines(spans[0]) >= MAX_LINES) {
      incoming -= countLines(spans[0]);
      spans.shift().remove();
    }
    // At least one line goes: the chunk may begin in the middle of a line the pane no longer has.
    dropLines(spans[0], Math.max(incoming - MAX_LINES, 1));
    target.dataset.lastSeq = String(lastSeq(target));
    target.replaceChildren();
    target.dataset.trimmed = "1";
  });

  // Drop the socket for `ms` and reconnect (for tests and for the curious): resume must lose nothing.
  live.drop = function (ms) {
    live.dropFor = ms || 0;
    live.dropping = true;
    if (live.socket) live.socket.close(DROP_CODE, "dropped by the page");
  };

  function tickCountdowns() {
    document.querySelectorAll(".countdown[data-until]").forEach((element) => {
      const left = Math.max(0, Math.round((Date.parse(element.dataset.until) - Date.now()) / 1000));
      const label = element.querySelector(".countdown-left");
      if (label) label.textContent = left >= 60 ? Math.floor(left / 60) + " min " + String(left % 60).padStart(2, "0") + " s" : left + " s";
    });
  }

  // Elapsed time of the run and of running steps, ticked from data-started-at; the server's clock
  // (data-server-now on the status badge, re-sent with every state) corrects for the browser's.
  let skew = 0;
  function readClock() {
    const status = document.getElementById("execution-status");
    const serverNow = status && Date.parse(status.dataset.serverNow || "");
    if (serverNow && status.dataset.clockRead !== "1") {
      skew = serverNow - Date.now();
      status.dataset.clockRead = "1";
    }
  }

  // The same words as views.duration_of.
  function durationText(seconds) {
    if (seconds < 10) return seconds.toFixed(1) + " s";
    if (seconds < 60) return Math.round(seconds) + " s";
    const minutes = Math.floor(seconds / 60);
    if (minutes < 60) return minutes + " min " + String(Math.floor(seconds) % 60).padStart(2, "0") + " s";
    return Math.floor(minutes / 60) + " h " + String(minutes % 60).padStart(2, "0") + " min";
  }

  function tickDurations() {
    const now = Date.now() + skew;
    document.querySelectorAll("[data-started-at]").forEach((element) => {
      const started = Date.parse(element.dataset.startedAt);
      if (started) element.textContent = durationText(Math.max(0, (now - started) / 1000));
    });
  }

  setInterval(() => {
    tickCountdowns();
    tickDurations();
  }, 1000);

  document.addEventListener("DOMContentLoaded", () => {
    document.body.dataset.livePolling = "off";
    afterUpdate();
    tickCountdowns();
  });
})();
