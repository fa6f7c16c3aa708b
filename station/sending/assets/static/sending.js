// The sender station's page: find a study, check it, send it, show the
// card, follow the offers. Plain script over Station (station.js); data
// goes into the page as text, never as HTML.
(function () {
  "use strict";
  var S = window.Station;
  var $ = function (id) { return document.getElementById(id); };
  var draft = null;        // the study read and checked, ready to send
  var waitingFor = null;   // the send whose card the page waits for
  var passcode = "";       // the passcode of that send, shown on its card only
  var offers = {};         // the offers listed, by ID
  var revoking = null;

  function show(id, on) { $(id).hidden = !on; }
  function busy(msg) { S.text("busy", msg); show("busy", !!msg); }

  // --- Find ---------------------------------------------------------
  function tab(id) {
    document.querySelectorAll(".tab-panel").forEach(function (p) { p.hidden = p.id !== id; });
    document.querySelectorAll(".tab").forEach(function (b) { b.classList.toggle("active", b.getAttribute("data-tab") === id); });
  }
  document.querySelectorAll(".tab").forEach(function (b) {
    b.addEventListener("click", function () { tab(b.getAttribute("data-tab")); });
  });
  tab($("tab-pacs") ? "tab-pacs" : "tab-path");

  function studyRow(s, label, onPick) {
    var pick = S.el("button", { type: "button", class: "pick", text: label });
    pick.addEventListener("click", function () { onPick(s); });
    return S.el("tr", { "data-uid": s.uid }, [
      S.el("td", { text: s.date }),
      S.el("td", { text: s.patient + (s.patient_id ? " (" + s.patient_id + ")" : "") }),
      S.el("td", { text: s.description }),
      S.el("td", { text: (s.modalities || []).join(", ") }),
      S.el("td", { class: "num series", text: s.series ? String(s.series) : "" }),
      S.el("td", { class: "num images", text: s.images ? String(s.images) : "" }),
      S.el("td", {}, [pick]),
    ]);
  }

  if ($("search-form")) {
    $("search-form").addEventListener("submit", async function (ev) {
      ev.preventDefault();
      S.text("search-status", "Searching the PACS…");
      show("results", false);
      try {
        var res = await S.post("api/search", {
          patient_id: $("patient-id").value, name: $("patient-name").value, date: $("study-date").value,
        });
        var body = $("results").querySelector("tbody");
        body.replaceChildren();
        res.studies.forEach(function (s) {
          body.appendChild(studyRow(s, "Choose", function () { prepare({ pacs_uid: s.uid }, "Taking the study from the PACS…"); }));
        });
        S.text("search-status", res.studies.length === 0 ? "The PACS has no study that matches." :
          res.studies.length + " stud" + (res.studies.length === 1 ? "y" : "ies") + " found.");
        show("results", res.studies.length > 0);
      } catch (e) {
        S.text("search-status", e.message);
      }
    });
  }

  $("path-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    prepare({ path: $("path").value }, "Reading the study…");
  });

  $("zip-form").addEventListener("submit", async function (ev) {
    ev.preventDefault();
    var f = $("zip").files[0];
    if (!f) { busy("Choose a zip first."); return; }
    var fd = new FormData();
    fd.append("zip", f, f.name);
    busy("Uploading and reading " + f.name + "…");
    try { checked(await S.postForm("api/upload", fd)); } catch (e) { refused(e); }
  });

  async function prepare(what, msg) {
    busy(msg);
    try { checked(await S.post("api/prepare", what)); } catch (e) { refused(e); }
  }

  // --- Check --------------------------------------------------------
  function toCheck() {
    show("find", false); show("check", true); show("card-screen", false); show("sending", false);
    busy("");
  }

  function checked(v) {
    if (v.error) { refused({ body: v, message: v.error }); return; }
    toCheck();
    draft = v.draft;
    S.text("source", v.source);
    show("refusal", false); show("ready", true); show("back", false);
    var notes = $("notes");
    notes.replaceChildren();
    (v.notes || []).forEach(function (n) { notes.appendChild(S.el("li", { text: n })); });
    S.text("summary", v.summary);
    S.text("send-form-error", "");
    $("send").disabled = false;
    $("send").focus();
  }

  function refused(e) {
    var v = e.body || {};
    if (!v.draft && !v.problems && !v.choices) { busy(e.message); return; }
    toCheck();
    draft = null;
    S.text("source", v.source || "");
    show("ready", false); show("refusal", true); show("back", true);
    S.text("refusal-text", v.error || e.message);
    var ul = $("problems");
    ul.replaceChildren();
    (v.problems || []).forEach(function (p) { ul.appendChild(S.el("li", { text: p.path + ": " + p.message })); });
    if (v.more) ul.appendChild(S.el("li", { text: "… and " + v.more + " more" }));
    var body = $("choices").querySelector("tbody");
    body.replaceChildren();
    (v.choices || []).forEach(function (s) {
      body.appendChild(studyRow(s, "Send this one", function () { choose({ draft: v.draft, study: s.uid }); }));
    });
    show("choices", (v.choices || []).length > 0);
    show("send-all", (v.choices || []).length > 0 && !v.several_patients);
    $("send-all").onclick = function () { choose({ draft: v.draft, all: true }); };
  }

  async function choose(what) {
    try { checked(await S.post("api/choose", what)); } catch (e) { refused(e); }
  }

  function backToFind() {
    draft = null;
    show("check", false); show("card-screen", false); show("sending", false); show("find", true);
    show("offers-section", true);
    busy("");
  }
  $("back").addEventListener("click", backToFind);
  $("cancel").addEventListener("click", backToFind);

  var expires = document.body.getAttribute("data-expires") || "72h";
  var opt = Array.prototype.find.call($("expires").options, function (o) { return o.value === expires; });
  if (!opt) { opt = S.el("option", { value: expires, text: expires }); $("expires").appendChild(opt); }
  $("expires").value = expires;

  document.querySelectorAll('input[name="passcode"]').forEach(function (r) {
    r.addEventListener("change", function () { show("passcode-value", $("passcode-choose").checked); });
  });

  $("send-form").addEventListener("submit", async function (ev) {
    ev.preventDefault();
    if (!draft) return;
    var fd = new FormData($("send-form"));
    fd.append("draft", draft);
    if (!$("report").files.length) fd.delete("report");
    $("send").disabled = true;
    try {
      var res = await S.postForm("api/send", fd);
      waitingFor = res.send;
      passcode = res.passcode || "";
      $("send-form").reset();
      show("passcode-value", false);
      show("check", false); show("sending", true); show("send-error", false);
      S.text("send-status", "Encrypting the study into the spool…");
      $("send-progress").value = 0;
    } catch (e) {
      $("send").disabled = false;
      S.text("send-form-error", e.message);
    }
  });

  // --- The card -----------------------------------------------------
  function showCard(j) {
    waitingFor = null;
    show("sending", false); show("find", false); show("check", false); show("offers-section", false);
    show("card-screen", true);
    $("card-img").src = "/api/card/" + j.offer + ".png";
    S.text("card-site", j.site || document.body.getAttribute("data-site") || "this hospital");
    S.text("card-patient", j.patient);
    S.text("card-study", j.study);
    S.text("card-expires", j.expires);
    $("print").href = "/print/" + j.offer;
    $("download").href = "/api/card/" + j.offer + ".png";
    $("download").setAttribute("download", "imageshare-card-" + j.offer + ".png");
    S.text("passcode", passcode);
    show("passcode-box", passcode !== "");
  }
  $("card-done").addEventListener("click", function () {
    passcode = "";
    S.text("passcode", "");
    $("card-img").removeAttribute("src");
    backToFind();
  });

  // --- Live state ---------------------------------------------------
  function when(t) {
    var d = new Date(t);
    return d.toLocaleDateString(undefined, { weekday: "short", day: "numeric", month: "short" }) + " " +
      d.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" });
  }

  function onState(b) {
    var st = b.state || {};
    var sv = st.serving || {};
    S.text("serving", sv.state === "serving" ? "Serving offers" : sv.state === "other" ? "Offers served by another sender" :
      sv.state === "failed" ? "Not serving: " + sv.text : "Starting…");
    (st.sends || []).forEach(function (j) {
      if (j.id !== waitingFor) return;
      if (j.stage === "ready") showCard(j);
      else if (j.stage === "failed") {
        waitingFor = null;
        S.text("send-error", j.error); show("send-error", true);
        S.text("send-status", ""); show("back", true);
        show("check", true); show("ready", false); show("refusal", false);
      } else {
        S.text("send-status", "Encrypting the study into the spool… " + j.percent + "%");
        $("send-progress").value = j.percent;
      }
    });
    renderOffers(st.offers || []);
    var notes = $("station-notes");
    notes.replaceChildren();
    (st.notes || []).forEach(function (n) { notes.appendChild(S.el("li", { class: n.level, text: when(n.time) + ": " + n.text })); });
  }

  function renderOffers(list) {
    offers = {};
    var body = $("offers").querySelector("tbody");
    body.replaceChildren();
    list.forEach(function (o) {
      offers[o.id] = o;
      var actions = S.el("td", { class: "actions" });
      if (o.card && o.live) {
        var card = S.el("button", { type: "button", class: "show-card", text: "Card" });
        card.addEventListener("click", function () {
          passcode = "";
          showCard({ offer: o.id, patient: o.patient, study: o.study, expires: when(o.expires) });
        });
        actions.appendChild(card);
      }
      var au = S.el("button", { type: "button", class: "show-audit", text: "Audit" });
      au.addEventListener("click", function () { showAudit(o.id); });
      actions.appendChild(au);
      if (o.live) {
        var rv = S.el("button", { type: "button", class: "danger revoke", text: "Revoke" });
        rv.addEventListener("click", function () { askRevoke(o); });
        actions.appendChild(rv);
      }
      var state = S.el("td", { class: "state state-" + o.state, text: o.state_text });
      if (o.state === "fetching" && o.percent >= 0) {
        state.appendChild(S.el("progress", { max: "100", value: String(o.percent) }));
      }
      body.appendChild(S.el("tr", { "data-offer": o.id, "data-state": o.state }, [
        S.el("td", { text: o.patient + " (" + o.patient_id + ")" }),
        S.el("td", { text: o.study }),
        state,
        S.el("td", { text: when(o.expires) }),
        S.el("td", { class: "num", text: o.downloads + " / " + o.max_downloads }),
        actions,
      ]));
    });
    show("offers", list.length > 0);
    show("no-offers", list.length === 0);
  }

  function askRevoke(o) {
    revoking = o.id;
    S.text("confirm-text", "Revoke the card of " + o.patient + " (" + o.study + ")? It stops working at once, " +
      "and the receiving hospital can no longer fetch the study with it.");
    show("confirm", true);
    $("confirm-no").focus();
  }
  $("confirm-no").addEventListener("click", function () { revoking = null; show("confirm", false); });
  $("confirm-yes").addEventListener("click", async function () {
    if (!revoking) return;
    try {
      var res = await S.post("api/revoke", { offer: revoking });
      S.text("offers-message", res.message);
    } catch (e) {
      S.text("offers-message", e.message);
    }
    revoking = null;
    show("confirm", false);
  });

  async function showAudit(id) {
    S.text("audit-offer", id);
    var ul = $("audit-events");
    ul.replaceChildren();
    show("audit", true);
    try {
      var res = await S.getJSON("api/offers/" + id + "/audit");
      res.events.forEach(function (l) { ul.appendChild(S.el("li", { text: l })); });
      if (res.events.length === 0) ul.appendChild(S.el("li", { text: "No events yet." }));
    } catch (e) {
      ul.appendChild(S.el("li", { class: "error", text: e.message }));
    }
  }

  S.poll("api/state", onState);
})();
