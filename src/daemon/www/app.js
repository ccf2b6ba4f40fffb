// SPDX-License-Identifier: BSD-3-Clause
// The users' page: lists the certificates of the logged-in user's address
// (GET api/certs) and revokes one (POST api/revoke). The browser's digest
// login covers both; the X-Requested-With header is what the server asks
// of every POST, so that no other site can make one.
"use strict";

function show(id, on) {
  document.getElementById(id).hidden = !on;
}

function say(text) {
  document.getElementById("status").textContent = text;
}

function cell(row, text, cls) {
  const td = document.createElement("td");
  td.textContent = text;
  if (cls) {
    td.className = cls;
  }
  row.appendChild(td);
  return td;
}

async function revoke(cert) {
  if (!window.confirm("Revoke the certificate of " + cert.device + "?")) {
    return;
  }
  const r = await fetch("api/revoke", {
    method: "POST",
    headers: {
      "Content-Type": "application/json",
      "X-Requested-With": "sipcert",
    },
    body: JSON.stringify({sha256: cert.sha256}),
  });
  say(r.ok ? "Revoked." : "Not revoked (" + r.status + ").");
  await load();
}

function render(data) {
  document.getElementById("aor").textContent = data.aor;
  const body = document.querySelector("#certs tbody");
  body.replaceChildren();
  for (const c of data.certs) {
    const row = document.createElement("tr");
    cell(row, c.device);
    cell(row, c.subject);
    cell(row, c.not_before);
    cell(row, c.not_after);
    cell(row, c.published_at);
    cell(row, c.sha256, "fp");
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = "Revoke";
    button.addEventListener("click", () => revoke(c));
    cell(row, "").appendChild(button);
    body.appendChild(row);
  }
  show("certs", data.certs.length > 0);
  show("none", data.certs.length === 0);
}

async function load() {
  const r = await fetch("api/certs", {cache: "no-store"});
  if (!r.ok) {
    say("Cannot list the certificates (" + r.status + ").");
    return;
  }
  render(await r.json());
}

document.addEventListener("DOMContentLoaded", () => {
  load().catch((e) => say("Cannot reach the server: " + e.message));
});
