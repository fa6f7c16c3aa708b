// The receiver station's page: read the card (camera, scanner or paste,
// photo), ask whether the study is our patient's, show it arriving and
// going into the PACS. The state comes from api/state (a long poll); the
// card's text goes only in the body of a POST to api/card.
(function () {
  "use strict";
  var S = window.Station;
  var $ = function (id) { return document.getElementById(id); };
  var SCHEME = /^IMAGESHARE:/i;
  var state = null;

  // --- Reading the card -------------------------------------------------
  var camera = { stream: null, starting: false, timer: null, detector: null, canvas: null, busy: false, lastWrong: 0 };

  async function startCamera() {
    if (camera.starting) return;
    camera.starting = true;
    try { await openCamera(); } finally { camera.starting = false; }
  }

  async function openCamera() {
    if (camera.stream || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      if (!camera.stream) S.text("camera-status", "This browser has no camera access here: use the scanner, paste, or a photo.");
      return;
    }
    S.text("camera-status", "Starting the camera…");
    var asked = setTimeout(function () {
      S.text("camera-status", "No camera yet: allow it in the browser, or use the scanner, a paste or a photo.");
    }, 5000);
    try {
      camera.stream = await navigator.mediaDevices.getUserMedia({ audio: false,
        video: { facingMode: { ideal: "environment" }, width: { ideal: 1280 }, height: { ideal: 720 } } });
    } catch (e) {
      S.text("camera-status", "The camera could not start (" + e.name + "): use the scanner, paste, or a photo.");
      $("camera-start").hidden = false;
      return;
    } finally {
      clearTimeout(asked);
    }
    $("camera-start").hidden = true;
    if (!state || state.phase !== "scan") { stopCamera(); return; } // a card came meanwhile
    var video = $("video");
    video.srcObject = camera.stream;
    try { await video.play(); } catch (e) { /* autoplay: it plays once shown */ }
    if ("BarcodeDetector" in window) {
      try {
        var formats = await window.BarcodeDetector.getSupportedFormats();
        if (formats.indexOf("qr_code") >= 0) camera.detector = new window.BarcodeDetector({ formats: ["qr_code"] });
      } catch (e) { camera.detector = null; }
    }
    S.text("camera-status", "Camera on: hold the card's QR code in front of it.");
    $("video").classList.add("on");
    camera.timer = setInterval(scanFrame, 125); // about 8 frames a second
    // From here to "card-read" is how long a card in front of the camera
    // takes to read (BenchmarkCameraReadsCard).
    performance.mark("camera-on");
  }

  function stopCamera() {
    if (camera.timer) clearInterval(camera.timer);
    camera.timer = null;
    if (camera.stream) camera.stream.getTracks().forEach(function (t) { t.stop(); });
    camera.stream = null;
    $("video").srcObject = null;
    $("video").classList.remove("on");
    S.text("camera-status", "Camera off.");
  }

  async function scanFrame() {
    var video = $("video");
    if (camera.busy || !camera.stream || video.readyState < 2 || !video.videoWidth) return;
    camera.busy = true;
    try {
      var text = await decodeFrame(video);
      if (text) found(text);
    } catch (e) {
      // A frame that cannot be read: the next one may be.
    } finally {
      camera.busy = false;
    }
  }

  async function decodeFrame(video) {
    if (camera.detector) {
      var codes = await camera.detector.detect(video);
      return codes.length ? codes[0].rawValue : "";
    }
    if (!window.jsQR) return "";
    // Downscaled: a card filling part of the frame is still read, and
    // jsQR keeps up with 8 frames a second.
    var scale = Math.min(1, 800 / video.videoWidth);
    var w = Math.round(video.videoWidth * scale), h = Math.round(video.videoHeight * scale);
    if (!camera.canvas) camera.canvas = document.createElement("canvas");
    var c = camera.canvas;
    c.width = w; c.height = h;
    var ctx = c.getContext("2d", { willReadFrequently: true });
    ctx.drawImage(video, 0, 0, w, h);
    var code = window.jsQR(ctx.getImageData(0, 0, w, h).data, w, h, { inversionAttempts: "attemptBoth" });
    return code ? code.data : "";
  }

  function found(text) {
    if (!SCHEME.test(text.trim())) {
      var now = Date.now();
      if (now - camera.lastWrong > 3000) {
        camera.lastWrong = now;
        showProblem("scan", { message: "This QR code is not an imageshare card.", advice: "Show the card the sending hospital gave the patient." });
      }
      return;
    }
    if (camera.stream) performance.measure("card-read", "camera-on");
    stopCamera();
    sendCard(text.trim());
  }

  async function sendCard(text) {
    hideProblem("scan");
    var r;
    try {
      r = await S.post("api/card", { text: text });
    } catch (e) {
      r = { problem: e.body || { message: e.message } };
    }
    if (r && r.problem) {
      showProblem("scan", r.problem);
      if (state && state.phase === "scan") startCamera();
    }
  }

  async function sendPhoto(file) {
    hideProblem("scan");
    var form = new FormData();
    form.append("photo", file);
    S.text("camera-status", "Reading the photo…");
    var r;
    try {
      stopCamera();
      r = await S.postForm("api/photo", form);
    } catch (e) {
      r = { problem: e.body || { message: e.message } };
    }
    if (r && r.problem) {
      showProblem("scan", r.problem);
      startCamera();
    }
  }

  function showProblem(where, p) {
    S.text(where + "-problem-message", p.message || "Something went wrong.");
    S.text(where + "-problem-advice", p.advice || "");
    $(where + "-problem").hidden = false;
  }

  function hideProblem(where) { $(where + "-problem").hidden = true; }

  // --- Showing the state ------------------------------------------------
  function show(answer) {
    var st = answer.state;
    st.version = answer.version;
    var prev = state;
    state = st;
    var ph = st.phase;
    $("scan").hidden = ph !== "scan";
    $("connecting").hidden = ph !== "connecting";
    $("passcode").hidden = ph !== "passcode";
    $("offer").hidden = !st.offer || ph === "scan";
    $("confirm-form").hidden = ph !== "confirm";
    $("progress-box").hidden = !(ph === "receiving" || (st.verified && ph !== "scan"));
    $("cancel").hidden = ph !== "receiving";
    $("done").hidden = !st.dir || ph === "scan";
    $("failed").hidden = ph !== "failed";
    $("again-row").hidden = !(ph === "done" || ph === "failed");
    $("notice").hidden = !st.notice;
    S.text("notice", st.notice);
    S.text("offer-title", ph === "confirm" ? "Is this your patient?" : "The study");
    S.text("connecting-note", st.note);
    S.text("retry", st.retry);
    if (ph === "scan" && (!prev || prev.phase !== "scan")) {
      $("card-text").value = "";
      startCamera();
    }
    if (ph !== "scan" && camera.stream) stopCamera();
    if (ph === "passcode" && (!prev || prev.phase !== "passcode")) $("passcode-input").focus();
    if (st.offer) showOffer(st);
    showProgress(st);
    showImport(st);
    showRefused(st);
    showWarnings(st);
    if (ph === "failed" && st.problem) {
      S.text("problem-message", st.problem.message);
      S.text("problem-advice", st.problem.advice);
      S.text("problem-detail", st.problem.detail);
    }
    if (st.dir) {
      S.text("dir", st.dir);
      var msg = "Received and verified: every file matched its hash.";
      if (st.import && st.import.running) msg += " Storing it in the PACS…";
      else if (st.import && st.import.done && !(st.import.failed && st.import.failed.length)) msg += " It is in the PACS.";
      else if (st.import) msg += " Not all of it is in the PACS: see below.";
      S.text("done-message", msg);
    }
    showReport(st);
    if (prev && prev.phase !== ph && (ph === "done" || ph === "failed")) loadHistory();
  }

  function showOffer(st) {
    var o = st.offer;
    S.text("site", o.site || "(the sender did not say)");
    var box = $("studies");
    box.textContent = "";
    o.studies.forEach(function (s) {
      box.appendChild(S.el("div", { class: "patient" }, [
        S.el("p", { class: "patient-name", text: s.patient_name || "(no name)" }),
        S.el("p", { class: "patient-facts", text: "ID " + (s.patient_id || "—") + (s.issuer ? " (" + s.issuer + ")" : "") +
          " · born " + (s.birth_date || "—") + " · " + (s.sex || "sex not given") }),
        S.el("p", { class: "study-facts", text: "Study of " + (s.date || "unknown date") + ": " + (s.description || "no description") +
          " · accession " + (s.accession || "—") })
      ]));
    });
    var rows = $("series-rows");
    rows.textContent = "";
    st.series.forEach(function (se) {
      rows.appendChild(S.el("tr", {}, [
        S.el("td", { text: String(se.number) }), S.el("td", { text: se.modality }),
        S.el("td", { text: se.description }), S.el("td", { text: String(se.images) }), S.el("td", { text: se.size })
      ]));
    });
    S.text("report-name", o.report || "none");
    S.text("size", o.size + " in " + o.files + " files");
    S.text("path", st.path || "—");
  }

  function showProgress(st) {
    var p = st.progress || {};
    $("progress").value = p.percent || 0;
    S.text("progress-title", st.verified ? "Received" : "Receiving…");
    S.text("percent", (p.percent || 0) + "%");
    S.text("rate", p.rate ? "· " + p.rate : "");
    S.text("left", p.left ? "· " + p.left + " left" : "");
    var box = $("thumbs");
    (st.series || []).forEach(function (se) {
      var id = "thumb-" + se.n, tile = $(id);
      if (!tile) {
        tile = S.el("figure", { id: id, class: "thumb" }, [S.el("div", { class: "thumb-image" }),
          S.el("figcaption", { text: "Series " + se.number + " · " + se.modality + " · " + se.images + " images" })]);
        box.appendChild(tile);
      }
      var img = tile.firstChild;
      if (se.thumb === "ready" && !img.querySelector("img")) {
        img.textContent = "";
        img.appendChild(S.el("img", { src: "api/thumb/" + se.n + ".png?v=" + st.version, alt: "Series " + se.number }));
      } else if (se.thumb === "none") {
        img.textContent = "";
        img.appendChild(S.el("p", { class: "no-preview", text: "No preview (" + se.no_preview + ")" }));
      } else if (!se.thumb) {
        S.text(img, se.complete ? "Complete" : "Arriving…");
      }
      tile.className = "thumb" + (se.complete ? " complete" : "");
    });
  }

  function showImport(st) {
    var im = st.import;
    $("import").hidden = !im;
    if (!im) {
      $("again").className = "primary";
      $("done").classList.remove("partial");
      return;
    }
    S.text("import-changes", im.changes ? "Filed as: " + im.changes : "");
    $("import-progress").max = im.total || 1;
    $("import-progress").value = im.settled || 0;
    var result = "";
    if (im.running) result = "Storing in the PACS at " + im.url + "…";
    else if (im.done && (!im.failed || im.failed.length === 0)) result = "All " + im.stored + " instances are in the PACS.";
    else if (im.done) result = im.failed.length + " of " + (im.stored + im.failed.length) + " instances are NOT in the PACS; they stay in the folder.";
    S.text("import-result", result);
    $("import-result").className = "big " + (im.done && (!im.failed || !im.failed.length) ? "ok" : "");
    // Failures grouped by reason: a PACS that is down fails every file alike.
    var list = $("import-failed"), byReason = {};
    list.textContent = "";
    (im.failed || []).forEach(function (f) { (byReason[f.reason] = byReason[f.reason] || []).push(f.file); });
    Object.keys(byReason).forEach(function (reason) {
      var files = byReason[reason];
      var names = files.slice(0, 5).join(", ") + (files.length > 5 ? " and " + (files.length - 5) + " more" : "");
      list.appendChild(S.el("li", { text: files.length + (files.length === 1 ? " file (" : " files (") + names + "): " + reason }));
    });
    S.text("import-error", im.error && !(im.failed && im.failed.length) ? capital(im.error) + "." : "");
    var retry = !im.running && !!(im.error || (im.failed && im.failed.length));
    $("import-retry").hidden = !retry;
    $("again").className = retry ? "" : "primary";
    $("done").classList.toggle("partial", retry);
  }

  function capital(s) { return s.charAt(0).toUpperCase() + s.slice(1); }

  function showRefused(st) {
    $("refused").hidden = !st.refused;
    if (!st.refused) return;
    S.text("refused-dir", st.refused.dir);
    var list = $("refused-list");
    list.textContent = "";
    (st.refused.mismatches || []).slice(0, 25).forEach(function (m) {
      list.appendChild(S.el("li", { text: m.file + ": " + m.attribute + " is “" + m.found + "” in the file, “" + m.shown + "” in the summary shown" }));
    });
  }

  function showWarnings(st) {
    var list = $("warnings");
    list.textContent = "";
    (st.warnings || []).forEach(function (w) { list.appendChild(S.el("li", { text: w })); });
  }

  var reportShown = "";
  function showReport(st) {
    $("report-box").hidden = !st.report || st.phase === "scan";
    if (!st.report || reportShown === st.dir) return;
    reportShown = st.dir;
    if (st.report === "pdf") {
      $("report-pdf").data = "api/report";
      $("report-pdf").hidden = false;
    } else {
      fetch("api/report", { credentials: "same-origin", cache: "no-store" }).then(function (r) { return r.text(); })
        .then(function (t) { S.text("report-text", t); $("report-text").hidden = false; });
    }
  }

  // --- History ----------------------------------------------------------
  async function loadHistory() {
    var list;
    try { list = await S.getJSON("api/history"); } catch (e) { return; }
    var body = $("history");
    body.textContent = "";
    list.forEach(function (r) {
      body.appendChild(S.el("tr", {}, [S.el("td", { text: r.time }), S.el("td", { text: r.from }),
        S.el("td", { text: r.patient }), S.el("td", { text: r.state }), S.el("td", {}, [S.el("code", { text: r.dir })])]));
    });
    $("history-empty").hidden = list.length > 0;
  }

  // --- Answers ----------------------------------------------------------
  async function act(url, body, where) {
    var r;
    try {
      r = await S.post(url, body);
    } catch (e) {
      r = { problem: e.body || { message: e.message } };
    }
    if (!where) return;
    if (r && r.problem) showProblem(where, r.problem);
    else hideProblem(where);
  }

  function wire() {
    $("text-form").addEventListener("submit", function (ev) {
      ev.preventDefault();
      var t = $("card-text").value.trim();
      $("card-text").value = "";
      if (t) { stopCamera(); sendCard(t); }
    });
    $("photo").addEventListener("change", function () { if (this.files[0]) sendPhoto(this.files[0]); this.value = ""; });
    var drop = $("drop");
    drop.addEventListener("dragover", function (ev) { ev.preventDefault(); drop.classList.add("over"); });
    drop.addEventListener("dragleave", function () { drop.classList.remove("over"); });
    drop.addEventListener("drop", function (ev) {
      ev.preventDefault();
      drop.classList.remove("over");
      if (ev.dataTransfer.files[0]) sendPhoto(ev.dataTransfer.files[0]);
    });
    $("camera-start").addEventListener("click", startCamera);
    $("passcode-form").addEventListener("submit", function (ev) {
      ev.preventDefault();
      var p = $("passcode-input").value;
      $("passcode-input").value = "";
      act("api/passcode", { passcode: p });
    });
    $("passcode-cancel").addEventListener("click", function () { act("api/passcode", { cancel: true }); });
    $("confirm-form").addEventListener("submit", function (ev) {
      ev.preventDefault();
      act("api/confirm", { receive: true, local: { patient_id: $("local-id").value, issuer: $("local-issuer").value,
        accession: $("local-accession").value, name: $("local-name").value } }, "confirm");
    });
    $("no").addEventListener("click", function () { act("api/confirm", { receive: false }, "confirm"); });
    $("cancel").addEventListener("click", function () {
      if (window.confirm("Stop receiving this study? What arrived verified is kept.")) act("api/cancel", {});
    });
    $("import-retry").addEventListener("click", function () { act("api/import", {}); });
    $("again").addEventListener("click", function () {
      reportShown = "";
      $("thumbs").textContent = "";
      $("report-pdf").hidden = $("report-text").hidden = true;
      ["local-id", "local-accession", "local-name"].forEach(function (id) { $(id).value = ""; });
      act("api/reset", {});
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    wire();
    loadHistory();
    S.poll("api/state", show);
  });
})();
