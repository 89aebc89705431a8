// honed workbench: two small behaviours, no framework, no CDN.
"use strict";
const csrf = () => document.querySelector('meta[name="csrf-token"]').content;

// 1. Live fragments: an element with data-poll reloads its HTML from that URL until the run stops running.
function poll(el) {
  const every = Number(el.dataset.interval || 2000);
  const tick = async () => {
    const answer = await fetch(el.dataset.poll, {credentials: "same-origin"});
    if (!answer.ok) return;
    el.innerHTML = await answer.text();  // server-rendered by Jinja2 with autoescape
    const inner = el.querySelector("[data-status]");
    if (!inner || inner.dataset.status === "running") setTimeout(tick, every);
  };
  setTimeout(tick, every);
}

// 2. Playground: send the prompt to each chosen model and stream the reply as text.
async function stream(form, side) {
  const model = form.querySelector(`#model-${side}`).value;
  const out = form.querySelector(`#reply-${side}`);
  out.textContent = "";
  if (!model) return;
  const body = new URLSearchParams({model, prompt: form.prompt.value, max_tokens: form.max_tokens.value, csrf: csrf()});
  const answer = await fetch("/playground/chat", {method: "POST", body, credentials: "same-origin"});
  if (!answer.ok) { out.textContent = `[error ${answer.status}: ${await answer.text()}]`; return; }
  const reader = answer.body.getReader();
  const decoder = new TextDecoder();
  for (;;) {
    const {value, done} = await reader.read();
    if (done) break;
    out.textContent += decoder.decode(value, {stream: true});  // textContent: never parsed as HTML
  }
  out.dataset.done = "1";
}

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("[data-poll]").forEach(poll);
  const form = document.getElementById("playground");
  if (form) form.addEventListener("submit", (event) => {
    event.preventDefault();
    ["left", "right"].forEach((side) => stream(form, side));
  });
});
