// The "try it" page: post a file or the drawing to /predict, show the answer or the error.
"use strict";

const $ = (id) => document.getElementById(id);
let maxBytes = Infinity;

function setState(state) {
  document.body.dataset.state = state;
  if (state === "done" || state === "error") {
    document.body.dataset.answers = String(Number(document.body.dataset.answers) + 1);
  }
}

function showError(message) {
  $("result").hidden = true;
  delete $("result").dataset.predicted;
  for (const img of document.querySelectorAll("#result img")) img.remove();
  $("status").textContent = "";
  $("error").textContent = message;
  $("error").hidden = false;
  setState("error");
}

function picture(figure, src, alt) {
  const old = $(figure).querySelector("img");
  if (old) old.remove();
  const img = document.createElement("img");
  img.alt = alt;
  img.src = src;
  $(figure).appendChild(img);
}

function showAnswer(answer) {
  $("error").hidden = true;
  const list = $("top");
  list.replaceChildren();
  for (const [name, p] of answer.top) {
    const item = document.createElement("li");
    item.className = "class";
    item.dataset.probability = String(p);
    const label = document.createElement("span");
    label.className = "name";
    label.textContent = name;
    const bar = document.createElement("span");
    bar.className = "bar";
    bar.style.width = `${Math.round(p * 200)}px`;
    item.append(label, ` ${(100 * p).toFixed(1)}%`, bar);
    list.appendChild(item);
  }
  $("result").dataset.predicted = answer.predicted;
  $("winner").textContent = answer.predicted;
  picture("seen-figure", answer.seen, "the image as the model sees it");
  picture("saliency-figure", answer.saliency, "saliency map");
  $("result").hidden = false;
  $("status").textContent = `${answer.name}: ${answer.predicted}`;
  setState("done");
}

async function send(blob, name) {
  if (blob.size > maxBytes) {
    showError(`${name}: ${blob.size.toLocaleString()} bytes is too large ` +
              `(at most ${maxBytes.toLocaleString()})`);
    return;
  }
  setState("busy");
  $("status").textContent = `predicting ${name}…`;
  const query = $("invert").checked ? "?invert=1" : "";
  let response;
  try {
    response = await fetch(`predict${query}`, {
      method: "POST", body: blob, headers: { "X-Filename": encodeURIComponent(name) } });
  } catch (error) {
    showError(`the server did not answer (${error.message}); is scratchnn serve running?`);
    return;
  }
  let answer;
  try {
    answer = await response.json();
  } catch {
    answer = { error: `the server answered ${response.status} without a message` };
  }
  if (response.ok) showAnswer(answer);
  else showError(answer.error);
}

function setUpDrawing() {
  const canvas = $("canvas");
  const context = canvas.getContext("2d");
  const clear = () => { context.fillStyle = "#000"; context.fillRect(0, 0, 280, 280); };
  clear();
  let last = null;
  const point = (event) => {
    const box = canvas.getBoundingClientRect();
    return [(event.clientX - box.left) * 280 / box.width,
            (event.clientY - box.top) * 280 / box.height];
  };
  canvas.addEventListener("pointerdown", (event) => {
    last = point(event);
    canvas.setPointerCapture(event.pointerId);
  });
  canvas.addEventListener("pointermove", (event) => {
    if (!last) return;
    const next = point(event);
    context.strokeStyle = "#fff";
    context.lineWidth = 22;
    context.lineCap = "round";
    context.beginPath();
    context.moveTo(...last);
    context.lineTo(...next);
    context.stroke();
    last = next;
  });
  const stop = () => { last = null; };
  canvas.addEventListener("pointerup", stop);
  canvas.addEventListener("pointercancel", stop);
  $("clear").addEventListener("click", clear);
  $("predict-drawing").addEventListener("click", () => {
    canvas.toBlob((blob) => send(blob, "drawing.png"), "image/png");
  });
}

async function start() {
  setUpDrawing();
  $("file").addEventListener("change", () => {
    const file = $("file").files[0];
    if (file) send(file, file.name);
  });
  try {
    const info = await (await fetch("info")).json();
    maxBytes = info.max_bytes;
    const shape = info.input_shape.join("x");
    $("model").textContent = `run ${info.run}` + (info.dataset ? ` (${info.dataset})` : "") +
      `: inputs ${shape}, ${info.classes.length} classes: ${info.classes.join(", ")}`;
  } catch (error) {
    $("model").textContent = `could not read the model's description (${error.message})`;
  }
}

start();
