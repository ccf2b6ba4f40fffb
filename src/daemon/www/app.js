// SPDX-License-Identifier: BSD-3-Clause
// sipcert's self-service page: lists the logged-in user's certificates
// (GET /self/api/certs) and revokes one (POST /self/api/revoke), the
// authenticated out-of-band revocation of draft-jennings-sipping-certs §6.
// The browser's digest login covers every request; the X-Requested-With
// header and the JSON Content-Type are what the server asks of a POST, so
// that no other site can make one. What the server sends reaches the page
// as textContent only.
"use strict";

const API_CERTS = "/self/api/certs";
const API_REVOKE = "/self/api/revoke";
const DAY_MS = 24 * 60 * 60 * 1000;
const SOON_DAYS = 14; // the badge turns amber this close to notAfter

const when = new Intl.DateTimeFormat(undefined, {
  dateStyle: "medium",
  timeStyle: "short",
});

let busy = false; // a revocation is under way

// An element with attributes and children (strings become text nodes).
function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (name === "class") {
      e.className = value;
    } else if (name === "text") {
      e.textContent = value;
    } else {
      e.setAttribute(name, value);
    }
  }
  for (const c of children) {
    if (c !== null && c !== undefined) {
      e.append(c);
    }
  }
  return e;
}

function alertText(text) {
  document.getElementById("alert").textContent = text;
}

function statusText(text) {
  document.getElementById("status").textContent = text;
}

// "a1b2c3d4e5..." as groups of four hex digits, a line break allowed
// between groups (the lower-case hex of `sipcert admin cred list`).
function fingerprint(hex) {
  const code = el("code", {class: "fp"});
  const groups = String(hex).match(/.{1,4}/g) || [];
  groups.forEach((g, i) => {
    if (i > 0) {
      code.append(" ", el("wbr"));
    }
    code.append(g);
  });
  return code;
}

// An RFC 3339 time in the reader's locale, the exact UTC time on hover.
function time(rfc3339) {
  const t = Date.parse(rfc3339);
  if (Number.isNaN(t)) {
    return el("span", {text: String(rfc3339)});
  }
  return el("time", {
    datetime: rfc3339,
    title: rfc3339,
    text: when.format(new Date(t)),
  });
}

// The validity badge: "Expires in N days", "Expired", "Not yet valid".
function validity(cert, now) {
  const from = Date.parse(cert.not_before);
  const until = Date.parse(cert.not_after);
  if (Number.isNaN(until) || until <= now) {
    return {cls: "badge expired", text: "Expired"};
  }
  if (!Number.isNaN(from) && from > now) {
    return {cls: "badge pending", text: "Not yet valid"};
  }
  const days = Math.ceil((until - now) / DAY_MS);
  const text = days <= 1 ? "Expires within a day"
                         : "Expires in " + days + " days";
  return {cls: days <= SOON_DAYS ? "badge soon" : "badge ok", text: text};
}

function fact(dl, label, value) {
  dl.append(el("dt", {text: label}), el("dd", null, value));
}

function closeConfirms(except) {
  for (const box of document.querySelectorAll(".confirm")) {
    if (box !== except && !box.hidden) {
      box.hidden = true;
      box.previousElementSibling.hidden = false;
    }
  }
}

function card(cert, index, now) {
  const titleId = "cert-" + index;
  const badge = validity(cert, now);
  const device = String(cert.device || "unnamed device");

  const facts = el("dl", {class: "facts"});
  fact(facts, "SHA-256 fingerprint", fingerprint(cert.sha256));
  fact(facts, "Valid", el("span", null, time(cert.not_before), " to ",
                          time(cert.not_after)));
  fact(facts, "Published", time(cert.published_at));
  fact(facts, "Subject", el("span", {class: "dn", text: cert.subject}));
  fact(facts, "Issuer",
       el("span", {class: "dn", text: cert.issuer === cert.subject
                                          ? "the subject (self-signed)"
                                          : cert.issuer}));

  const revoke = el("button", {
    type: "button",
    class: "button danger",
    "data-testid": "revoke",
    "aria-label": "Revoke the certificate of " + device,
  }, "Revoke");
  const confirmButton = el("button", {
    type: "button",
    class: "button danger solid",
    "data-testid": "confirm-revoke",
  }, "Yes, revoke it");
  const cancel = el("button", {
    type: "button",
    class: "button",
    "data-testid": "cancel-revoke",
  }, "Keep it");
  const question = el("p", {
    id: titleId + "-q",
    text: "Revoke this certificate? Callers stop using it at once; "
        + "the device needs a new one to be reached securely.",
  });
  const confirmBox = el("div", {
    class: "confirm",
    role: "group",
    "aria-labelledby": titleId + "-q",
    "data-testid": "confirm",
  }, question, el("div", {class: "confirm-buttons"}, confirmButton,
                  cancel));
  confirmBox.hidden = true;

  revoke.addEventListener("click", () => {
    closeConfirms(confirmBox);
    revoke.hidden = true;
    confirmBox.hidden = false;
    cancel.focus();
  });
  cancel.addEventListener("click", () => {
    confirmBox.hidden = true;
    revoke.hidden = false;
    revoke.focus();
  });
  confirmBox.addEventListener("keydown", (e) => {
    if (e.key === "Escape") {
      cancel.click();
    }
  });
  confirmButton.addEventListener("click", () => {
    doRevoke(cert, [confirmButton, cancel]);
  });

  return el("li", {
    class: "card",
    "data-testid": "cert-row",
    "data-sha256": String(cert.sha256),
    "aria-labelledby": titleId,
  },
    el("div", {class: "card-head"},
       el("h3", {id: titleId, class: "device"},
          el("span", {class: "device-label", text: "Device "}), device),
       el("span", {class: badge.cls, "data-testid": "validity",
                   text: badge.text})),
    facts,
    el("div", {class: "actions"}, revoke, confirmBox));
}

function render(data) {
  document.getElementById("aor").textContent = data.aor;
  const list = document.getElementById("certs");
  const now = Date.now();
  list.replaceChildren(...data.certs.map((c, i) => card(c, i, now)));
  list.setAttribute("aria-busy", "false");
  const n = data.certs.length;
  const count = document.getElementById("count");
  count.textContent = n === 1 ? "1 certificate" : n + " certificates";
  count.hidden = n === 0;
  list.hidden = n === 0;
  document.getElementById("empty").hidden = n !== 0;
}

// The text of an error answer, short: "404 not found".
async function describe(r) {
  let text = "";
  try {
    text = (await r.text()).trim();
  } catch (e) {
    text = "";
  }
  if (text.startsWith("{")) {
    text = "";
  }
  return "HTTP " + r.status + (text ? ": " + text.slice(0, 200) : "");
}

async function load() {
  const r = await fetch(API_CERTS, {
    credentials: "same-origin",
    cache: "no-store",
    headers: {Accept: "application/json"},
  });
  if (r.status === 401) {
    throw new Error("Your login was not accepted. Reload the page to log "
                    + "in again.");
  }
  if (!r.ok) {
    throw new Error("Cannot list your certificates (" + await describe(r)
                    + ").");
  }
  const data = await r.json();
  if (!data || typeof data.aor !== "string" || !Array.isArray(data.certs)) {
    throw new Error("The server's answer is not a certificate list.");
  }
  render(data);
}

async function doRevoke(cert, buttons) {
  if (busy) {
    return;
  }
  busy = true;
  for (const b of buttons) {
    b.disabled = true;
  }
  alertText("");
  statusText("Revoking the certificate…");
  try {
    const r = await fetch(API_REVOKE, {
      method: "POST",
      credentials: "same-origin",
      cache: "no-store",
      headers: {
        "Content-Type": "application/json",
        "X-Requested-With": "sipcert",
        Accept: "application/json",
      },
      body: JSON.stringify({sha256: cert.sha256}),
    });
    let done = "";
    let problem = "";
    if (r.ok) {
      done = "Certificate revoked. Devices watching your address have "
           + "been told.";
    } else if (r.status === 404) {
      problem = "That certificate was no longer current: the list has "
              + "been refreshed.";
    } else {
      problem = "The certificate was not revoked (" + await describe(r)
              + ").";
    }
    // the list as the server now has it, then the outcome
    await load();
    statusText(done);
    alertText(problem);
    document.getElementById("title").focus();
  } catch (e) {
    statusText("");
    alertText(e instanceof TypeError
              ? "Cannot reach the server: " + e.message
              : e.message);
    for (const b of buttons) {
      b.disabled = false;
    }
  } finally {
    busy = false;
  }
}

function start() {
  statusText("Loading your certificates…");
  load().then(() => statusText(""), (e) => {
    statusText("");
    document.getElementById("certs").setAttribute("aria-busy", "false");
    alertText(e instanceof TypeError
              ? "Cannot reach the server: " + e.message
              : e.message);
  });
}

start();
